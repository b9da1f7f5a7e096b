"""The rule engine against the simulator: triggers stored with the after-sale, evaluated once,
approvals sent once (counted at the simulator), audited, fused, and never on their own actions."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import msgspec
import sqlalchemy as sa

from desk.audit.models import AuditEntry, Outcome
from desk.clock import ManualClock
from desk.commands.models import OutboundCommand
from desk.db import utcnow
from desk.rules.engine import RuleEngine
from desk.rules.models import RuleRow, RuleRun, RuleTrigger, TriggerState
from desk.rules.storage import import_rules, read_dir, set_enabled
from tests.aftersales.test_actions import ACCEPT, runner
from tests.ingest.conftest import Platform

SHIPPED = Path(__file__).parents[2] / "rules"


async def requested(
    platform: Platform, kind: str, *, shipped: bool = False, price_at_most: int = 50000
) -> Any:
    """A buyer of store 0 asks for an after-sale of ``kind`` on a paid order of one SKU priced at
    most ``price_at_most`` fen (the simulator's random baskets can exceed the refund rule's 500 元)."""
    sim, appid = platform.sim, platform.appids[0]
    store = sim.store_state(appid)
    sku = min((sku for _, sku in store.skus.values()), key=lambda s: s.price)
    assert sku.price <= price_at_most, "the simulated catalogue needs a cheap SKU"
    order = sim.create_order(appid, sim.new_buyer(appid), items=[(sku.sku_id, 1)])
    if shipped:
        sim.ship_order(appid, order.order_id)
    aftersale = sim.open_aftersale(appid, order.order_id, kind)
    await platform.settle()
    return aftersale.after_sale_order_id, aftersale


REFUND_RULE = "refund-unshipped-4h"


async def install_defaults(platform: Platform, *enable: str) -> None:
    async with platform.runtime.db.transaction() as conn:
        await import_rules(conn, read_dir(SHIPPED), saved_by="test")
        for rule_id in enable:
            assert await set_enabled(conn, rule_id, True, saved_by="test") == 2


def engine(platform: Platform, name: str = "engine-a", **kwargs: object) -> RuleEngine:
    return RuleEngine(platform.runtime.db, platform.runtime.clock, name=name, **kwargs)  # type: ignore[arg-type]


async def aftersale_triggers(platform: Platform) -> list[sa.Row]:
    """The queued after-sale triggers (storing the order queued ``order.paid`` too)."""
    return [t for t in await rows(platform, RuleTrigger.__table__) if t.event.startswith("aftersale.")]


async def rows(platform: Platform, table: sa.Table) -> list[sa.Row]:
    async with platform.runtime.db.engine.connect() as conn:
        return list((await conn.execute(sa.select(table).order_by(table.c.id))).all())


async def test_a_refund_request_on_a_fresh_unshipped_order_is_approved_once(platform: Platform) -> None:
    await install_defaults(platform, REFUND_RULE)
    after_sale_order_id, _ = await requested(platform, "REFUND")
    # The trigger was stored with the after-sale, before any engine ran.
    (trigger,) = await aftersale_triggers(platform)
    assert (trigger.event, trigger.state) == ("aftersale.created", TriggerState.PENDING)
    queued = len(await rows(platform, RuleTrigger.__table__))
    # Two workers at once, and again afterwards: one evaluation, one command, one platform call.
    first, second = engine(platform, "engine-a"), engine(platform, "engine-b")
    handled = await asyncio.gather(first.run_due(), second.run_due())
    assert sum(handled) == queued
    assert await first.run_due() == 0
    (run,) = await rows(platform, RuleRun.__table__)
    assert run.actions[0]["status"] == "done", run.actions
    await runner(platform).drain()
    commands = await rows(platform, OutboundCommand.__table__)
    assert [(c.kind, c.state) for c in commands] == [("aftersale.accept", "succeeded")], commands
    assert platform.sim.api.calls_by_path[ACCEPT] == 1
    assert platform.sim.aftersale(platform.appids[0], after_sale_order_id).status != "MERCHANT_PROCESSING"
    assert (run.rule_id, run.rule_version, run.outcome, run.approvals) == (REFUND_RULE, 2, "done", 1)
    seen = {c["predicate"]: (c["held"], c["value"]) for c in run.conditions}
    assert seen["aftersale_type"] == (True, "REFUND")
    assert seen["shipped"] == (True, False)
    assert seen["order_age_hours"][0] is True
    assert run.actions[0]["type"] == "approve"
    assert run.actions[0]["status"] == "done"
    (audit,) = await rows(platform, AuditEntry.__table__)
    assert audit.actor.startswith("rule:")
    assert audit.actor_name == "未发货仅退款：付款 4 小时内、500 元以内自动同意 (v2)"
    assert audit.outcome == Outcome.SUCCEEDED
    # The approval's own update (origin rule:…) queued no trigger: rules never fire on their actions.
    assert [t.event for t in await aftersale_triggers(platform)] == ["aftersale.created"]


async def test_a_trigger_claimed_by_a_worker_that_died_is_evaluated_once_by_another(
    platform: Platform,
) -> None:
    await install_defaults(platform, REFUND_RULE)
    await requested(platform, "REFUND")
    clock = ManualClock(utcnow())
    dead = RuleEngine(platform.runtime.db, clock, name="dead", lease_s=30)
    async with platform.runtime.db.engine.begin() as conn:
        claimed = await dead.queue.claim(conn, 10)  # claimed and committed, then kill -9
    assert {c.event for c in claimed} == {"order.paid", "aftersale.created"}
    alive = RuleEngine(platform.runtime.db, clock, name="alive", lease_s=30)
    assert await alive.run_due() == 0, await rows(platform, RuleTrigger.__table__)  # the lease holds
    clock.advance(31)
    assert await alive.run_due() == len(claimed), await rows(platform, RuleTrigger.__table__)
    # The dead worker coming back cannot apply them a second time.
    for row in claimed:
        assert await dead._handle(row) == 0
    await runner(platform).drain()
    assert platform.sim.api.calls_by_path[ACCEPT] == 1
    assert len(await rows(platform, RuleRun.__table__)) == 1


async def test_disabled_rules_shipped_orders_and_returns_are_not_approved(platform: Platform) -> None:
    await install_defaults(platform)  # the refund rule ships disabled
    await requested(platform, "REFUND")
    await engine(platform).run_due()
    await install_defaults(platform, REFUND_RULE)
    await requested(platform, "REFUND", shipped=True)
    await requested(platform, "RETURN", shipped=True)  # the return rule stays disabled
    await engine(platform).run_due()
    await runner(platform).drain()
    assert platform.sim.api.calls_by_path[ACCEPT] == 0
    assert await rows(platform, OutboundCommand.__table__) == []
    assert await rows(platform, RuleRun.__table__) == []


async def test_an_order_older_than_the_window_is_left_for_an_agent(platform: Platform) -> None:
    await install_defaults(platform, REFUND_RULE)
    await requested(platform, "REFUND")
    later = ManualClock(utcnow() + dt.timedelta(hours=4, minutes=1))
    await RuleEngine(platform.runtime.db, later, name="late").run_due()
    assert await rows(platform, RuleRun.__table__) == []
    assert await rows(platform, OutboundCommand.__table__) == []


async def test_the_fuse_holds_back_approvals_beyond_the_hourly_limit(platform: Platform) -> None:
    await install_defaults(platform, REFUND_RULE)
    for _ in range(3):
        await requested(platform, "REFUND")
    await engine(platform, fuse_per_hour=2).run_due()
    await runner(platform).drain()
    assert platform.sim.api.calls_by_path[ACCEPT] == 2
    runs = await rows(platform, RuleRun.__table__)
    triggers = [
        (t.event, t.state, t.attempts, t.last_error) for t in await rows(platform, RuleTrigger.__table__)
    ]
    assert [r.outcome for r in runs] == ["done", "done", "fuse"], triggers
    refused = [a for a in await rows(platform, AuditEntry.__table__) if a.outcome == Outcome.REFUSED]
    assert [a.error for a in refused] == ["rules.outcome.fuse_blown"]


async def test_a_failing_action_does_not_stop_the_others(platform: Platform) -> None:
    await install_defaults(platform)
    async with platform.runtime.db.transaction() as conn:
        from desk.rules.model import Approve, Condition, Reject, Rule, TagBuyer, Trigger, TriggerEvent

        rule = Rule(
            id="tag-then-reject",
            name="打标并拒绝",
            enabled=True,
            trigger=Trigger(event=TriggerEvent.AFTERSALE_CREATED),
            conditions=Condition(aftersale_type=["REFUND"]),
            # The reject has no reason the platform knows; the tag must still be put on.
            actions=[Reject(reason_type=1), TagBuyer(tag="退款"), Approve()],
        )
        await import_rules(conn, {"extra.toml": [rule]}, saved_by="test")
    await requested(platform, "REFUND")
    await engine(platform).run_due()
    (run,) = await rows(platform, RuleRun.__table__)
    statuses = [(a["type"], a["status"]) for a in run.actions]
    assert statuses[1] == ("tag_buyer", "done")
    assert statuses[2] == ("approve", "superseded")
    assert msgspec.json.encode(run.actions)


async def test_an_order_shipped_between_the_request_and_the_evaluation_is_not_approved(
    platform: Platform,
) -> None:
    await install_defaults(platform, REFUND_RULE)
    _, aftersale = await requested(platform, "REFUND")
    platform.sim.ship_order(platform.appids[0], aftersale.order_id)
    await platform.settle()
    await engine(platform).run_due()
    await runner(platform).drain()
    assert platform.sim.api.calls_by_path[ACCEPT] == 0
    assert await rows(platform, RuleRun.__table__) == []
    (trigger,) = await aftersale_triggers(platform)
    assert trigger.state == TriggerState.DONE


async def test_the_global_kill_switch_closes_triggers_without_acting(platform: Platform) -> None:
    await install_defaults(platform, REFUND_RULE)
    await requested(platform, "REFUND")
    assert await engine(platform, enabled=False).run_due() == len(await rows(platform, RuleTrigger.__table__))
    assert await engine(platform).run_due() == 0  # not replayed when switched back on
    await runner(platform).drain()
    assert platform.sim.api.calls_by_path[ACCEPT] == 0
    assert await rows(platform, RuleRun.__table__) == []


async def test_the_shipped_rules_are_loaded_on_first_start_only(platform: Platform) -> None:
    first = engine(platform)
    await first.load_defaults()
    stored = await rows(platform, RuleRow.__table__)
    assert len(stored) == 8
    assert {r.rule_id for r in stored if r.enabled} == {
        "welcome",
        "placate-90s",
        "tag-size",
        "tag-logistics",
        "tag-refund",
        "tag-address",
    }
    async with platform.runtime.db.transaction() as conn:
        await conn.execute(sa.delete(RuleRow.__table__).where(RuleRow.rule_id == "welcome"))
    await engine(platform, "engine-b").load_defaults()  # a later start: what an admin deleted stays gone
    assert len(await rows(platform, RuleRow.__table__)) == 7
