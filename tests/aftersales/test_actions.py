"""Deciding after-sales: one platform call per decision, the right return address, changes seen."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from desk.accounts.models import Role, User
from desk.aftersales.actions import Decision, decide
from desk.aftersales.commands import CHANGED
from desk.aftersales.models import AfterSale, ReturnAddressBinding
from desk.aftersales.status import AfterSaleAction
from desk.audit.models import AuditEntry, Outcome
from desk.audit.service import Actor
from desk.background import COMMAND_KINDS
from desk.commands.models import CommandState, OutboundCommand
from desk.commands.runner import CommandRunner
from desk.errors import Invalid
from desk.runtime import Runtime
from tests.ingest.conftest import Platform

ACCEPT = "aftersale/acceptapply"


def runner(platform: Platform) -> CommandRunner:
    settings = platform.runtime.settings.with_changes(
        command_backoff_base_s=0.001, command_backoff_max_s=0.002
    )
    return CommandRunner(platform.runtime.db, settings, platform.clients, COMMAND_KINDS, name="test-runner")


async def requested(platform: Platform, kind: str, *, shipped: bool = False) -> tuple[str, Any]:
    """A buyer of store 0 asks for an after-sale of ``kind`` on a paid order; the desk has it."""
    sim, appid = platform.sim, platform.appids[0]
    buyer = sim.new_buyer(appid)
    order = sim.create_order(appid, buyer)  # paid
    if shipped:
        sim.ship_order(appid, order.order_id)
    aftersale = sim.open_aftersale(appid, order.order_id, kind)
    await platform.settle()
    return aftersale.after_sale_order_id, aftersale


async def decide_as(runtime: Runtime, after_sale_order_id: str, decision: Decision, user: User) -> Any:
    async with runtime.db.session() as session:
        return await decide(
            session,
            runtime.wakeup,
            actor=Actor.user(user.id, user.display_name),
            after_sale_order_id=after_sale_order_id,
            decision=decision,
        )


APPROVE = Decision(action=AfterSaleAction.APPROVE)


async def test_two_agents_approving_at_once_make_one_refund(platform: Platform, make_user) -> None:
    chen, liu = await make_user("小陈", Role.AGENT), await make_user("小刘", Role.AGENT)
    after_sale_order_id, _ = await requested(platform, "REFUND")
    first = await decide_as(platform.runtime, after_sale_order_id, APPROVE, chen)
    second = await decide_as(platform.runtime, after_sale_order_id, APPROVE, liu)
    assert not isinstance(first, Invalid)
    assert not isinstance(second, Invalid)
    assert first.created
    assert not second.created
    assert second.command_id == first.command_id
    assert second.handled_by == "小陈"
    await runner(platform).drain()
    assert platform.sim.api.calls_by_path[ACCEPT] == 1
    assert platform.sim.aftersale(platform.appids[0], after_sale_order_id).status != "MERCHANT_PROCESSING"
    async with platform.runtime.db.engine.connect() as conn:
        status = (
            await conn.execute(
                sa.select(AfterSale.status).where(AfterSale.after_sale_order_id == after_sale_order_id)
            )
        ).scalar_one()
        audit = (await conn.execute(sa.select(AuditEntry.outcome, AuditEntry.actor_name))).all()
    assert status != "MERCHANT_PROCESSING"  # stored with the command's outcome, no push needed
    assert [(a.outcome, a.actor_name) for a in audit] == [(Outcome.SUCCEEDED, "小陈")]
    third = await decide_as(platform.runtime, after_sale_order_id, APPROVE, liu)
    assert isinstance(third, Invalid)
    assert third.errors["action"].key == "aftersales.error.already_handled"


async def test_a_return_goes_to_the_address_bound_to_its_sku(platform: Platform, make_user) -> None:
    agent = await make_user("小陈", Role.AGENT)
    after_sale_order_id, aftersale = await requested(platform, "RETURN", shipped=True)
    store = platform.stores[0]
    sim_store = platform.sim.store_state(platform.appids[0])
    return_addresses = [a for a in sim_store.addresses.values() if a.recv_addr]
    assert len(return_addresses) >= 2, "the simulated store needs two return addresses"
    bound, other = return_addresses[0].address_id, return_addresses[1].address_id
    async with platform.runtime.db.session() as session:
        session.add(ReturnAddressBinding(store_id=store.id, scope="store", ref="", address_id=other))
        session.add(
            ReturnAddressBinding(store_id=store.id, scope="sku", ref=aftersale.sku_id, address_id=bound)
        )
    result = await decide_as(platform.runtime, after_sale_order_id, APPROVE, agent)
    assert not isinstance(result, Invalid)
    assert result.address_id == bound
    await runner(platform).drain()
    assert platform.sim.aftersale(platform.appids[0], after_sale_order_id).return_address_id == bound


async def test_a_decision_on_an_after_sale_changed_meanwhile_is_not_sent(
    platform: Platform, make_user
) -> None:
    agent = await make_user("小陈", Role.AGENT)
    after_sale_order_id, _ = await requested(platform, "REFUND")
    result = await decide_as(platform.runtime, after_sale_order_id, APPROVE, agent)
    assert not isinstance(result, Invalid)
    platform.sim.buyer_cancels_aftersale(platform.appids[0], after_sale_order_id)  # before the worker runs
    await runner(platform).drain()
    assert platform.sim.api.calls_by_path[ACCEPT] == 0
    async with platform.runtime.db.engine.connect() as conn:
        command = (await conn.execute(sa.select(OutboundCommand))).one()
        audit = (await conn.execute(sa.select(AuditEntry.outcome, AuditEntry.error_code))).one()
    assert command.state == CommandState.FAILED
    assert command.error_code == CHANGED
    assert (audit.outcome, audit.error_code) == (Outcome.FAILED, CHANGED)


async def test_a_reject_needs_a_reason_and_an_unknown_after_sale_is_refused(
    platform: Platform, make_user
) -> None:
    agent = await make_user("小陈", Role.AGENT)
    after_sale_order_id, _ = await requested(platform, "REFUND")
    no_reason = await decide_as(
        platform.runtime, after_sale_order_id, Decision(action=AfterSaleAction.REJECT), agent
    )
    assert isinstance(no_reason, Invalid)
    assert no_reason.errors["action"].key == "aftersales.error.reason_required"
    unknown = await decide_as(platform.runtime, "1234567890", APPROVE, agent)
    assert isinstance(unknown, Invalid)
    async with platform.runtime.db.engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(OutboundCommand))).scalar() == 0
