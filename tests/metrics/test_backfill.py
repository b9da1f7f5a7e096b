"""``desk metrics backfill``: the facts of what happened before, the same as the live path wrote."""

from __future__ import annotations

import sqlalchemy as sa

from desk.accounts.models import Role
from desk.metrics import rollups
from desk.metrics.models import AfterSaleClock, MetricFact, MetricRollup, OpenConsultation
from desk.runtime import Runtime
from tests.inbox.support import buyer_writes
from tests.metrics.support import auto_replies, local, replies
from tests.metrics.test_aftersales_and_orders import aftersale_is, order_paid
from tests.metrics.test_rollups import stored_rollups
from tests.shell.helpers import run_cli

DAY = "2026-12-01"


async def a_day(runtime: Runtime, make_store, make_user) -> None:
    store = await make_store()
    agent = await make_user("agent", Role.AGENT, stores=[store])
    first = await buyer_writes(runtime, store, "a", local(DAY, "07:59:00"))
    await auto_replies(runtime, agent, first, local(DAY, "07:59:10"))
    await buyer_writes(runtime, store, "a", local(DAY, "08:01:00"))
    await replies(runtime, agent, first, local(DAY, "08:02:30"))
    second = await buyer_writes(runtime, store, "b", local(DAY, "23:59:00"))
    await replies(runtime, agent, second, local("2026-12-02", "00:02:30"))
    await buyer_writes(runtime, store, "b", local("2026-12-02", "09:00:00"))  # still waiting
    await order_paid(runtime, store.id, "o1", local(DAY, "20:00:00"), "alice")
    await aftersale_is(runtime, store.id, "MERCHANT_PROCESSING", 0)
    await aftersale_is(runtime, store.id, "MERCHANT_REFUND_SUCCESS", 900)


async def snapshot(runtime: Runtime) -> tuple[set[tuple[object, ...]], object, set[tuple[object, ...]]]:
    async with runtime.db.engine.connect() as conn:
        f = MetricFact.__table__.c
        facts = {
            tuple(row)
            for row in await conn.execute(
                sa.select(
                    f.key,
                    f.kind,
                    f.at,
                    f.seconds,
                    f.in_window,
                    f.in_time,
                    f.agent_id,
                    f.local_day,
                    f.local_hour,
                )
            )
        }
        o = OpenConsultation.__table__.c
        still_open = {
            tuple(row) for row in await conn.execute(sa.select(o.conversation_id, o.opened_at, o.opening_key))
        }
    return facts, await stored_rollups(runtime), still_open


async def forget_the_facts(runtime: Runtime) -> None:
    async with runtime.db.engine.begin() as conn:
        for model in (MetricRollup, MetricFact, OpenConsultation, AfterSaleClock):
            await conn.execute(sa.delete(model))


async def test_backfill_writes_what_the_live_path_wrote_and_nothing_twice(
    settings, runtime: Runtime, make_store, make_user
) -> None:
    await a_day(runtime, make_store, make_user)
    live = await snapshot(runtime)
    assert len(live[0]) == 8  # 3 consultations opened, 2 answered; paid; requested, completed
    await forget_the_facts(runtime)

    result = await run_cli(settings, "metrics", "backfill", "--since", "2026-11-30", "--lang", "en")
    assert result.exit_code == 0, result.output
    assert result.stdout == "8 facts written for what happened from 2026-11-30 on.\n"
    assert await snapshot(runtime) == live

    again = await run_cli(settings, "metrics", "backfill", "--since", "2026-11-30", "--lang", "en")
    assert again.stdout == "0 facts written for what happened from 2026-11-30 on.\n"
    assert await snapshot(runtime) == live


async def test_backfill_completes_facts_missing_from_before_the_upgrade_beside_live_ones(
    settings, runtime: Runtime, make_store, make_user
) -> None:
    await a_day(runtime, make_store, make_user)
    live = await snapshot(runtime)
    async with runtime.db.engine.begin() as conn:  # only the first consultation predates the upgrade
        await conn.execute(sa.delete(MetricRollup))
        await conn.execute(sa.delete(MetricFact).where(MetricFact.at < local(DAY, "12:00:00")))
        await conn.execute(sa.delete(AfterSaleClock))
    async with runtime.db.transaction() as conn:
        await rollups.rebuild(conn, local("2026-11-30", "00:00:00").date())

    result = await run_cli(settings, "metrics", "backfill", "--since", "2026-11-30", "--lang", "en")
    assert result.exit_code == 0, result.output
    assert await snapshot(runtime) == live
