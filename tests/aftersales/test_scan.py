"""扫码退单: a scanned waybill finds its return and refunds it once, against the simulated platform."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from desk.accounts.models import Role, User
from desk.aftersales.actions import Decision, decide
from desk.aftersales.models import AfterSale, ReturnAddressBinding
from desk.aftersales.scan import MAX_WAYBILL_LENGTH, ScanOutcome, normalize_waybill, scan_return
from desk.aftersales.status import AfterSaleAction
from desk.audit.models import AuditEntry, Outcome
from desk.audit.service import Actor
from desk.errors import Invalid
from tests.aftersales.test_actions import ACCEPT, runner
from tests.ingest.conftest import Platform


async def bind_default_return_address(platform: Platform, store_index: int = 0) -> None:
    sim_store = platform.sim.store_state(platform.appids[store_index])
    address = next(a for a in sim_store.addresses.values() if a.recv_addr)
    async with platform.runtime.db.session() as session:
        session.add(
            ReturnAddressBinding(
                store_id=platform.stores[store_index].id, scope="store", ref="", address_id=address.address_id
            )
        )


async def parcels_on_their_way_back(
    platform: Platform, n: int = 1, store_index: int = 0, kind: str = "RETURN"
) -> list[Any]:
    """``n`` returns (or exchanges) agreed by the desk whose buyers posted the goods back: the
    desk has each in ``MERCHANT_WAIT_RECEIPT`` with its return waybill. The simulator's
    after-sales, in order."""
    sim, appid = platform.sim, platform.appids[store_index]
    await bind_default_return_address(platform, store_index)
    aftersales = []
    for _ in range(n):
        order = sim.create_order(appid, sim.new_buyer(appid))
        sim.ship_order(appid, order.order_id)
        aftersales.append(sim.open_aftersale(appid, order.order_id, kind, "QUALITY_ISSUE"))
    await platform.settle()
    for aftersale in aftersales:
        async with platform.runtime.db.session() as session:
            agreed = await decide(
                session,
                platform.runtime.wakeup,
                actor=Actor("system", "desk"),
                after_sale_order_id=aftersale.after_sale_order_id,
                decision=Decision(action=AfterSaleAction.APPROVE),
            )
        assert not isinstance(agreed, Invalid), agreed
    await runner(platform).drain()
    for aftersale in aftersales:
        sim.buyer_ships_return(appid, aftersale.after_sale_order_id)  # now, not in a (simulated) while
    await platform.settle()
    for aftersale in aftersales:
        assert aftersale.status == "MERCHANT_WAIT_RECEIPT"
        assert aftersale.return_waybill is not None
    return aftersales


async def scan_as(platform: Platform, user: User, waybill: str, after_sale_order_id: str = "") -> Any:
    async with platform.runtime.db.session() as session:
        return await scan_return(
            session,
            platform.runtime.wakeup,
            user=user,
            waybill=waybill,
            after_sale_order_id=after_sale_order_id,
        )


async def test_a_scanned_parcel_is_refunded_once_however_often_it_is_scanned(
    platform: Platform, make_user
) -> None:
    packer = await make_user("packer", Role.WAREHOUSE, [platform.stores[0]])
    (aftersale,) = await parcels_on_their_way_back(platform)
    waybill = aftersale.return_waybill[0]
    agreed_calls = platform.sim.api.calls_by_path[ACCEPT]

    first = await scan_as(platform, packer, waybill)
    again = await scan_as(platform, packer, waybill)  # Enter pressed twice, before the worker ran

    assert first.outcome is ScanOutcome.CONFIRMED
    assert first.match.after_sale_order_id == aftersale.after_sale_order_id
    assert first.match.refund_amount == aftersale.amount
    assert first.match.title  # the item, as the order names it
    assert again.outcome is ScanOutcome.ALREADY_ASKED
    assert again.command_id == first.command_id
    await runner(platform).drain()
    await platform.settle()
    assert platform.sim.api.calls_by_path[ACCEPT] == agreed_calls + 1
    assert aftersale.status in ("PLATFORM_REFUNDING", "MERCHANT_REFUND_SUCCESS")

    later = await scan_as(platform, packer, waybill.lower())  # typed by hand, in lower case
    assert later.outcome is ScanOutcome.ALREADY_REFUNDED
    assert platform.sim.api.calls_by_path[ACCEPT] == agreed_calls + 1
    async with platform.runtime.db.engine.connect() as conn:
        entries = (
            await conn.execute(
                sa.select(AuditEntry.action, AuditEntry.actor_name, AuditEntry.outcome)
                .where(AuditEntry.actor == f"user:{packer.id}")
                .order_by(AuditEntry.id)
            )
        ).all()
    assert [tuple(e) for e in entries] == [("aftersale.confirm_receipt", "packer", Outcome.SUCCEEDED)]


async def test_unknown_waybills_and_other_stores_parcels_send_nothing(platform: Platform, make_user) -> None:
    (theirs,) = await parcels_on_their_way_back(platform, store_index=1)
    packer = await make_user("packer", Role.WAREHOUSE, [platform.stores[0]])
    calls = platform.sim.api.calls_by_path[ACCEPT]

    unknown = await scan_as(platform, packer, "YT0000000000")
    other_store = await scan_as(platform, packer, theirs.return_waybill[0])

    assert unknown.outcome is ScanOutcome.UNKNOWN
    assert unknown.matches == []
    assert other_store.outcome is ScanOutcome.UNKNOWN  # not "forbidden": its existence stays hidden
    for bad, key in (("", "empty"), ("   ", "empty"), ("YT12;DROP", "shape"), ("9" * 65, "too_long")):
        refused = await scan_as(platform, packer, bad)
        assert isinstance(refused, Invalid)
        assert refused.errors["waybill"].key == f"warehouse.error.{key}"
    await runner(platform).drain()
    assert platform.sim.api.calls_by_path[ACCEPT] == calls


async def test_two_returns_in_one_parcel_ask_which_one(platform: Platform, make_user) -> None:
    first, second = await parcels_on_their_way_back(platform, 2)
    waybill = first.return_waybill[0]
    async with platform.runtime.db.engine.begin() as conn:  # the buyer sent both items in one parcel
        await conn.execute(
            sa.update(AfterSale)
            .where(AfterSale.after_sale_order_id == second.after_sale_order_id)
            .values(return_waybill_id=waybill)
        )
    packer = await make_user("packer", Role.WAREHOUSE, [platform.stores[0]])
    calls = platform.sim.api.calls_by_path[ACCEPT]

    choose = await scan_as(platform, packer, waybill)
    assert choose.outcome is ScanOutcome.CHOOSE
    assert {m.after_sale_order_id for m in choose.matches} == {
        first.after_sale_order_id,
        second.after_sale_order_id,
    }
    assert choose.command_id is None
    chosen = await scan_as(platform, packer, waybill, second.after_sale_order_id)
    assert chosen.outcome is ScanOutcome.CONFIRMED
    assert chosen.match.after_sale_order_id == second.after_sale_order_id
    await runner(platform).drain()
    assert platform.sim.api.calls_by_path[ACCEPT] == calls + 1
    assert second.status in ("PLATFORM_REFUNDING", "MERCHANT_REFUND_SUCCESS")
    assert first.status == "MERCHANT_WAIT_RECEIPT"


async def test_a_rejected_return_is_not_refunded_by_a_scan(platform: Platform, make_user) -> None:
    (aftersale,) = await parcels_on_their_way_back(platform)
    async with platform.runtime.db.session() as session:
        rejected = await decide(
            session,
            platform.runtime.wakeup,
            actor=Actor("system", "desk"),
            after_sale_order_id=aftersale.after_sale_order_id,
            decision=Decision(action=AfterSaleAction.REJECT, reject_reason_type=1),
        )
    assert not isinstance(rejected, Invalid)
    await runner(platform).drain()
    packer = await make_user("packer", Role.WAREHOUSE, [platform.stores[0]])
    calls = platform.sim.api.calls_by_path[ACCEPT]

    result = await scan_as(platform, packer, aftersale.return_waybill[0])

    assert result.outcome is ScanOutcome.NOT_AWAITING
    assert result.match.status == "MERCHANT_REJECT_RETURN"
    await runner(platform).drain()
    assert platform.sim.api.calls_by_path[ACCEPT] == calls


async def test_an_exchange_s_parcel_is_not_refunded(platform: Platform, make_user) -> None:
    (exchange,) = await parcels_on_their_way_back(platform, kind="EXCHANGE")
    packer = await make_user("packer", Role.WAREHOUSE, [platform.stores[0]])
    calls = platform.sim.api.calls_by_path[ACCEPT]

    result = await scan_as(platform, packer, exchange.return_waybill[0])

    assert result.outcome is ScanOutcome.EXCHANGE
    assert result.command_id is None
    await runner(platform).drain()
    assert platform.sim.api.calls_by_path[ACCEPT] == calls
    assert exchange.status == "MERCHANT_WAIT_RECEIPT"


_STORED = re.compile(rf"[0-9A-Z-]{{1,{MAX_WAYBILL_LENGTH}}}")


@given(st.text(max_size=80))
def test_a_waybill_is_stored_shape_or_refused(raw: str) -> None:
    normalized = normalize_waybill(raw)
    if isinstance(normalized, Invalid):
        assert set(normalized.errors) == {"waybill"}
        return
    assert _STORED.fullmatch(normalized)
    assert normalize_waybill(normalized) == normalized


@given(st.from_regex(r"[0-9A-Za-z-]{1,30}", fullmatch=True), st.sampled_from(["", " ", "\t", "\r\n"]))
def test_a_scanner_s_or_typist_s_waybill_is_found_whatever_the_case_and_spacing(raw: str, space: str) -> None:
    assert normalize_waybill(space + raw + space) == raw.upper()
