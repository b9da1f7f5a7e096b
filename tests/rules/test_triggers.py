"""Which stored change fires which trigger, and that order triggers reach the rules."""

from __future__ import annotations

import sqlalchemy as sa

from desk.orders.models import BuyerTag
from desk.rules.engine import RuleEngine
from desk.rules.model import Rule, TagBuyer, Trigger, TriggerEvent
from desk.rules.models import RuleRun, RuleTrigger
from desk.rules.storage import import_rules
from desk.rules.triggers import aftersale_trigger, order_triggers
from tests.ingest.conftest import Platform

PAID, SHIPPED = TriggerEvent.ORDER_PAID, TriggerEvent.ORDER_SHIPPED


def test_order_triggers() -> None:
    assert order_triggers(None, 20) == [PAID]
    assert order_triggers(None, 10) == []
    assert order_triggers(None, 30) == []  # first seen already shipped: those moments passed
    assert order_triggers(10, 20) == [PAID]
    assert order_triggers(20, 30) == [SHIPPED]
    assert order_triggers(10, 30) == [PAID, SHIPPED]
    assert order_triggers(30, 100) == []
    assert order_triggers(20, 20) == []
    assert order_triggers(20, 250) == []


def test_aftersale_triggers() -> None:
    assert aftersale_trigger(None, "MERCHANT_PROCESSING") is TriggerEvent.AFTERSALE_CREATED
    assert aftersale_trigger("MERCHANT_PROCESSING", "USER_CANCELD") is TriggerEvent.AFTERSALE_UPDATED
    assert aftersale_trigger("MERCHANT_PROCESSING", "MERCHANT_PROCESSING") is None


def tagging(rule_id: str, event: TriggerEvent, tag: str) -> Rule:
    return Rule(
        id=rule_id, name=rule_id, enabled=True, trigger=Trigger(event=event), actions=[TagBuyer(tag=tag)]
    )


async def test_paid_and_shipped_orders_reach_their_rules(platform: Platform) -> None:
    async with platform.runtime.db.transaction() as conn:
        rules = [tagging("paid", PAID, "已付款"), tagging("shipped", SHIPPED, "已发货")]
        await import_rules(conn, {"orders.toml": rules}, saved_by="test")
    sim, appid = platform.sim, platform.appids[0]
    order = sim.create_order(appid, sim.new_buyer(appid))
    await platform.settle()
    sim.ship_order(appid, order.order_id)
    await platform.settle()
    engine = RuleEngine(platform.runtime.db, platform.runtime.clock, name="engine")
    await engine.run_due()
    async with platform.runtime.db.engine.connect() as conn:
        events = (await conn.execute(sa.select(RuleTrigger.event).order_by(RuleTrigger.id))).scalars().all()
        tags = (await conn.execute(sa.select(BuyerTag.tag))).scalars().all()
        runs = (await conn.execute(sa.select(RuleRun.rule_id, RuleRun.subject))).all()
    assert list(events) == ["order.paid", "order.shipped"]
    assert sorted(tags) == sorted(["已付款", "已发货"])
    assert sorted(runs) == [("paid", f"order:{order.order_id}"), ("shipped", f"order:{order.order_id}")]
