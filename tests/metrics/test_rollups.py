"""Rollups kept by upserts equal a recomputation from the facts, for random streams; rebuild too.

The reference here is written plainly from the definitions (count this kind of fact where that
flag holds), independently of :func:`desk.metrics.rollups.contributions`.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict

import msgspec
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desk.accounts.models import Role
from desk.metrics import rollups
from desk.metrics.facts import Fact, FactKind
from desk.metrics.models import MetricFact, MetricRollup
from desk.metrics.record import write_fact
from desk.runtime import Runtime
from tests.inbox.support import buyer_writes
from tests.metrics.support import auto_replies, local, replies, settle

_rollup = MetricRollup.__table__
DAYS = [dt.date(2026, 11, 30), dt.date(2026, 12, 1)]


@st.composite
def facts(draw: st.DrawFn, store_ids: list[int]) -> Fact:
    kind = draw(st.sampled_from(list(FactKind)))
    day = draw(st.sampled_from(DAYS))
    hour = draw(st.integers(0, 23))
    return Fact(
        key=f"k{draw(st.integers(0, 40))}",  # few keys: the same fact is often written twice
        store_id=draw(st.sampled_from(store_ids)),
        kind=kind,
        at=dt.datetime.combine(day, dt.time(hour), dt.UTC),
        local_day=day,
        local_hour=hour,
        agent_id=draw(st.sampled_from([None, 7, 8])),
        buyer_id=draw(st.sampled_from([None, 1, 2])),
        seconds=draw(st.integers(0, 10_000)),
        in_window=draw(st.booleans()),
        in_time=draw(st.booleans()),
        automatic=draw(st.booleans()),
        detail=draw(st.sampled_from(["REFUND", "RETURN"])),
    )


def reference(written: list[Fact]) -> dict[tuple[int, dt.date, int, int], dict[str, int]]:
    """The rollups of ``written`` as the definitions state them, one column at a time."""
    rows: dict[tuple[int, dt.date, int, int], dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(rollups.COUNTS, 0)
    )
    for f in written:
        store = rows[f.store_id, f.local_day, f.local_hour, 0]
        # A withdrawal takes back all its namesake added.
        sign = -1 if f.kind in (FactKind.ANSWER_WITHDRAWN, FactKind.OPENING_MERGED) else 1
        if f.kind in (FactKind.CONSULTATION_OPENED, FactKind.OPENING_MERGED):
            store["consultations" if f.in_window else "outside_consultations"] += sign
        elif f.kind in (FactKind.CONSULTATION_ANSWERED, FactKind.ANSWER_WITHDRAWN):
            agents = [rows[f.store_id, f.local_day, f.local_hour, f.agent_id]] if f.agent_id else []
            for row in [store, *agents]:
                if f.in_window:
                    row["answered"] += sign
                    row["answered_in_time"] += sign * f.in_time
                    row["response_s"] += sign * (f.seconds or 0)
                else:
                    row["outside_answered"] += sign
                    row["outside_in_time"] += sign * f.in_time
            for row in agents:  # an agent's consultations are the ones they answered
                row["consultations" if f.in_window else "outside_consultations"] += sign
        elif f.kind == FactKind.AFTERSALE_REQUESTED:
            store["aftersales"] += 1
        elif f.kind == FactKind.AFTERSALE_COMPLETED:
            name = "refund_only" if f.detail == "REFUND" else "return_refund"
            store[f"{name}_done"] += 1
            store[f"{name}_s"] += f.seconds or 0
            store["completed_automatically"] += f.automatic
            if f.agent_id:  # a person decided it: handled, by them
                store["aftersales_handled"] += 1
                rows[f.store_id, f.local_day, f.local_hour, f.agent_id]["aftersales_handled"] += 1
        elif f.kind == FactKind.ORDER_PAID:
            store["orders"] += 1
    return dict(rows)


async def stored_rollups(runtime: Runtime) -> dict[tuple[int, dt.date, int, int], dict[str, int]]:
    async with runtime.db.transaction() as conn:
        while await rollups.apply_pending(conn, limit=5):  # small batches: rows upserted again and again
            pass
    async with runtime.db.engine.connect() as conn:
        rows = (await conn.execute(sa.select(_rollup))).all()
    return {
        (r.store_id, r.day, r.hour, r.agent_id): {name: int(r._mapping[name]) for name in rollups.COUNTS}
        for r in rows
    }


async def forget(runtime: Runtime) -> None:
    async with runtime.db.engine.begin() as conn:
        await conn.execute(sa.delete(MetricRollup))
        await conn.execute(sa.delete(MetricFact))


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_rollups_kept_by_upserts_equal_a_recomputation_from_the_facts(
    runtime: Runtime, store_pair, data
) -> None:
    stream = data.draw(st.lists(facts([s.id for s in store_pair]), max_size=40))
    try:
        written: list[Fact] = []
        seen: set[str] = set()
        # Several units of work, as facts arrive from different saves.
        for start in range(0, len(stream), 7):
            async with runtime.db.transaction() as conn:
                for fact in stream[start : start + 7]:
                    assert await write_fact(conn, fact) is (fact.key not in seen)
                    if fact.key not in seen:
                        seen.add(fact.key)
                        written.append(fact)
        expected = reference(written)
        assert await stored_rollups(runtime) == expected  # (applied in batches of 5 here)
        async with runtime.db.transaction() as conn:
            assert await rollups.rebuild(conn, DAYS[0]) == len(written)
        assert await stored_rollups(runtime) == expected
        # Rebuilt while facts were still pending: they are counted once.
        async with runtime.db.transaction() as conn:
            for fact in stream:
                await write_fact(conn, msgspec.structs.replace(fact, key=f"again-{fact.key}"))
            assert await rollups.rebuild(conn, DAYS[0]) == 2 * len(written)
        assert await stored_rollups(runtime) == reference(written + written)
    finally:
        await forget(runtime)


async def test_rebuild_replaces_only_the_days_asked_for(runtime: Runtime, store_pair) -> None:
    store = store_pair[0]
    old, new = (
        Fact(
            key=f"k{i}",
            store_id=store.id,
            kind=FactKind.ORDER_PAID,
            at=dt.datetime.combine(day, dt.time(9), dt.UTC),
            local_day=day,
            local_hour=9,
        )
        for i, day in enumerate(DAYS)
    )
    async with runtime.db.transaction() as conn:
        await write_fact(conn, old)
        await write_fact(conn, new)
    await settle(runtime)
    async with runtime.db.transaction() as conn:
        # Rollups gone wrong (a bug since fixed, a restore): rebuild from 1 December mends that day only.
        await conn.execute(sa.update(MetricRollup).values(orders=5))
        assert await rollups.rebuild(conn, DAYS[1]) == 1
    assert {day: row["orders"] for (_, day, _, _), row in (await stored_rollups(runtime)).items()} == {
        DAYS[0]: 5,
        DAYS[1]: 1,
    }


# -- random conversations through the inbox ------------------------------------------------------

_agents = itertools.count()
_steps = st.lists(
    st.tuples(st.sampled_from(["buyer", "agent", "auto"]), st.integers(1, 400)), min_size=1, max_size=6
)


def consultations_of(steps: list[tuple[str, int]]) -> list[tuple[int, int | None]]:
    """The definition, plainly: (opened at, answered after seconds or None) per consultation."""
    found: list[tuple[int, int | None]] = []
    clock, opened = 0, None
    for who, gap in steps:
        clock += gap
        if who == "buyer" and opened is None:
            opened = clock
        elif who == "agent" and opened is not None:
            found.append((opened, clock - opened))
            opened = None
    if opened is not None:
        found.append((opened, None))
    return found


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=_steps)
async def test_random_conversations_give_the_consultations_the_definition_gives(
    runtime: Runtime, store_pair, make_user, steps
) -> None:
    store = store_pair[0]
    agent = await make_user(f"agent{next(_agents)}", Role.AGENT, stores=[store])
    start = local("2026-12-01", "10:00:00")
    conversation = None
    try:
        clock = 0
        for who, gap in steps:
            clock += gap
            now = start + dt.timedelta(seconds=clock)
            if who == "buyer":
                conversation = await buyer_writes(runtime, store, "b", now)
            elif conversation is None:
                continue  # nobody wrote yet: nothing to answer (the reference skips it too)
            elif who == "agent":
                await replies(runtime, agent, conversation, now)
            else:
                await auto_replies(runtime, agent, conversation, now)
        expected = consultations_of([(w, g) for w, g in steps])
        async with runtime.db.session() as session:
            rows = await session.scalars(sa.select(MetricFact).order_by(MetricFact.at, MetricFact.kind))
            facts_by_kind: dict[str, list[MetricFact]] = defaultdict(list)
            for row in rows:
                facts_by_kind[row.kind].append(row)
        opened = [round((f.at - start).total_seconds()) for f in facts_by_kind["consultation.opened"]]
        answered = [f.seconds for f in facts_by_kind["consultation.answered"]]
        assert opened == [o for o, _ in expected]
        assert answered == [a for _, a in expected if a is not None]
        assert [f.in_time for f in facts_by_kind["consultation.answered"]] == [
            a <= 180 for _, a in expected if a is not None
        ]
        total = await stored_rollups(runtime)
        assert total == reference([_as_fact(f) for fs in facts_by_kind.values() for f in fs])
    finally:
        async with runtime.db.engine.begin() as conn:
            for table in (
                "metric_open_consultation",
                "metric_rollup",
                "metric_fact",
                "message",
                "outbound_command",
                "change_event",
                "conversation",
            ):
                await conn.execute(sa.text(f"DELETE FROM {table}"))  # fixed names


def _as_fact(row: MetricFact) -> Fact:
    return Fact(
        key=row.key,
        store_id=row.store_id,
        kind=FactKind(row.kind),
        at=row.at,
        local_day=row.local_day,
        local_hour=row.local_hour,
        agent_id=row.agent_id,
        seconds=row.seconds,
        in_window=row.in_window,
        in_time=row.in_time,
        automatic=row.automatic,
        detail=row.detail,
    )
