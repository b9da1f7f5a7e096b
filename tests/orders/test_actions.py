"""Answering a buyer's address change and writing the merchant note: once each, seen at once."""

from __future__ import annotations

import sqlalchemy as sa

from desk.accounts.models import Role
from desk.audit.models import AuditEntry, Outcome
from desk.audit.service import Actor
from desk.background import COMMAND_KINDS
from desk.commands.runner import CommandRunner
from desk.errors import Invalid
from desk.orders.actions import answer_address_change, set_merchant_note
from desk.orders.models import Order
from tests.ingest.conftest import Platform


def runner(platform: Platform) -> CommandRunner:
    settings = platform.runtime.settings.with_changes(
        command_backoff_base_s=0.001, command_backoff_max_s=0.002
    )
    return CommandRunner(platform.runtime.db, settings, platform.clients, COMMAND_KINDS, name="test-runner")


async def test_an_address_change_is_accepted_once_and_the_order_shows_it(
    platform: Platform, make_user
) -> None:
    agent = await make_user("xiaochen", Role.AGENT)
    sim, appid = platform.sim, platform.appids[0]
    order = sim.create_order(appid, sim.new_buyer(appid))
    sim.request_address_change(appid, order.order_id)
    await platform.settle()
    async with platform.runtime.db.engine.connect() as conn:
        change = (
            await conn.execute(sa.select(Order.address_change).where(Order.order_id == order.order_id))
        ).scalar()
    assert change is not None
    assert change["region"]
    actor = Actor.user(agent.id, "小陈")
    async with platform.runtime.db.session() as session:
        first = await answer_address_change(
            session, platform.runtime.wakeup, actor=actor, order_id=order.order_id, accept=True
        )
    async with platform.runtime.db.session() as session:
        again = await answer_address_change(
            session, platform.runtime.wakeup, actor=actor, order_id=order.order_id, accept=True
        )
    assert not isinstance(first, Invalid)
    assert not isinstance(again, Invalid)
    assert again.command_id == first.command_id  # a double click is one answer
    await runner(platform).drain()
    assert sim.api.calls_by_path["order/addressmodify/accept"] == 1
    assert sim.order(appid, order.order_id).address_under_review is None
    async with platform.runtime.db.engine.connect() as conn:
        stored = (
            await conn.execute(sa.select(Order.address_change).where(Order.order_id == order.order_id))
        ).scalar()
        audit = (await conn.execute(sa.select(AuditEntry.action, AuditEntry.outcome))).all()
    assert stored is None
    assert [(a.action, a.outcome) for a in audit] == [("order.address_change.accept", Outcome.SUCCEEDED)]
    async with platform.runtime.db.session() as session:
        late = await answer_address_change(
            session, platform.runtime.wakeup, actor=actor, order_id=order.order_id, accept=False
        )
    assert isinstance(late, Invalid)
    assert late.errors["order"].key == "orders.error.no_address_change"


async def test_the_merchant_note_is_written_on_the_platform(platform: Platform, make_user) -> None:
    agent = await make_user("xiaochen", Role.AGENT)
    sim, appid = platform.sim, platform.appids[0]
    order = sim.create_order(appid, sim.new_buyer(appid))
    await platform.settle()
    async with platform.runtime.db.session() as session:
        too_long = await set_merchant_note(
            session,
            platform.runtime.wakeup,
            actor=Actor.user(agent.id, "小陈"),
            order_id=order.order_id,
            note="长" * 201,
        )
        result = await set_merchant_note(
            session,
            platform.runtime.wakeup,
            actor=Actor.user(agent.id, "小陈"),
            order_id=order.order_id,
            note="加急发货",
        )
    assert isinstance(too_long, Invalid)
    assert not isinstance(result, Invalid)
    await runner(platform).drain()
    assert sim.order(appid, order.order_id).merchant_notes == "加急发货"
    async with platform.runtime.db.engine.connect() as conn:
        notes = (
            await conn.execute(sa.select(Order.merchant_notes).where(Order.order_id == order.order_id))
        ).scalar()
    assert notes == "加急发货"
