"""The after-sale state machine over HTTP (spec §3): accept, return, refund, reject, limits."""

from __future__ import annotations

from desk.simulator import ManualClock, SimStore, Simulator
from tests.simulator.support import Channels


async def get_status(channels: Channels, after_sale_order_id: str) -> str:
    reply = await channels("aftersale/getaftersaleorder", {"after_sale_order_id": after_sale_order_id})
    return str(reply["after_sale_order"]["status"])


async def return_address(channels: Channels) -> str:
    ids = (await channels("merchant/address/list", {"offset": 0, "limit": 10}))["address_id_list"]
    return str(ids[0])


async def test_refund_only_is_refunded_by_one_accept(
    sim: Simulator, store: SimStore, channels: Channels
) -> None:
    order = sim.create_order(store.appid, items=[(sim.store_state(store.appid).catalog[0].skus[0].sku_id, 1)])
    aftersale = sim.open_aftersale(store.appid, order.order_id, "REFUND", "NO_LONGER_WANT")
    wire = (
        await channels("aftersale/getaftersaleorder", {"after_sale_order_id": aftersale.after_sale_order_id})
    )["after_sale_order"]
    assert wire["status"] == "MERCHANT_PROCESSING"
    assert (wire["type"], wire["reason"], wire["reason_text"]) == ("REFUND", "NO_LONGER_WANT", "不想要了")
    assert wire["refund_info"]["amount"] == order.order_price
    assert wire["deadline"] > 0

    reply = await channels("aftersale/acceptapply", {"after_sale_order_id": aftersale.after_sale_order_id})
    assert reply["errcode"] == 0
    await sim.drain(5)
    assert await get_status(channels, aftersale.after_sale_order_id) == "MERCHANT_REFUND_SUCCESS"
    attempts = sorted(
        (p for p in sim.push_log if p.ref == aftersale.after_sale_order_id), key=lambda p: p.push_id
    )
    pushed = [p.status for p in attempts]
    assert pushed == ["MERCHANT_PROCESSING", "PLATFORM_REFUNDING", "MERCHANT_REFUND_SUCCESS"]
    assert (await channels("order/get", {"order_id": order.order_id}))["order"]["status"] == 200

    again = await channels("aftersale/acceptapply", {"after_sale_order_id": aftersale.after_sale_order_id})
    assert again["errcode"] == 10020001


async def test_return_needs_an_address_then_the_parcel_then_a_second_accept(
    sim: Simulator, store: SimStore, channels: Channels
) -> None:
    order = sim.create_order(store.appid)
    sim.ship_order(store.appid, order.order_id)
    aftersale = sim.open_aftersale(store.appid, order.order_id, "RETURN", "QUALITY_ISSUE")
    target = {"after_sale_order_id": aftersale.after_sale_order_id}

    assert (await channels("aftersale/acceptapply", target))["errcode"] == 10021060
    assert (await channels("aftersale/acceptapply", {**target, "address_id": "1234"}))["errcode"] == 10021062
    assert (await channels("aftersale/acceptapply", {**target, "accept_type": 2}))["errcode"] == 10020001

    address_id = await return_address(channels)
    assert (await channels("aftersale/acceptapply", {**target, "address_id": address_id}))["errcode"] == 0
    assert await get_status(channels, aftersale.after_sale_order_id) == "USER_WAIT_RETURN"
    # Not before the parcel is back.
    assert (await channels("aftersale/acceptapply", target))["errcode"] == 10020001

    await sim.drain(5)  # the buyer posts the parcel back
    wire = (await channels("aftersale/getaftersaleorder", target))["after_sale_order"]
    assert wire["status"] == "MERCHANT_WAIT_RECEIPT"
    assert wire["return_info"]["waybill_id"]

    assert (await channels("aftersale/acceptapply", {**target, "accept_type": 2}))["errcode"] == 0
    await sim.drain(5)
    assert await get_status(channels, aftersale.after_sale_order_id) == "MERCHANT_REFUND_SUCCESS"


async def test_one_refund_per_order_per_minute(
    sim: Simulator, store: SimStore, channels: Channels, clock: ManualClock
) -> None:
    catalog = sim.store_state(store.appid).catalog
    items = [(catalog[0].skus[0].sku_id, 1), (catalog[1].skus[0].sku_id, 1)]
    order = sim.create_order(store.appid, items=items)
    first = sim.open_aftersale(
        store.appid, order.order_id, "REFUND", "INCORRECT_SELECTION", sku_id=items[0][0]
    )
    second = sim.open_aftersale(
        store.appid, order.order_id, "REFUND", "INCORRECT_SELECTION", sku_id=items[1][0]
    )

    assert (await channels("aftersale/acceptapply", {"after_sale_order_id": first.after_sale_order_id}))[
        "errcode"
    ] == 0
    too_soon = await channels("aftersale/acceptapply", {"after_sale_order_id": second.after_sale_order_id})
    assert too_soon["errcode"] == 10021059
    assert await get_status(channels, second.after_sale_order_id) == "MERCHANT_PROCESSING"

    clock.advance(61)
    assert (await channels("aftersale/acceptapply", {"after_sale_order_id": second.after_sale_order_id}))[
        "errcode"
    ] == 0
    await sim.drain(5)
    assert sim.order(store.appid, order.order_id).status == 200  # every item refunded


async def test_reject_needs_a_reason_type(sim: Simulator, store: SimStore, channels: Channels) -> None:
    order = sim.create_order(store.appid)
    aftersale = sim.open_aftersale(store.appid, order.order_id)
    target = {"after_sale_order_id": aftersale.after_sale_order_id}
    assert (await channels("aftersale/rejectapply", {**target, "reject_reason": "不行"}))["errcode"] == 40097
    assert (await channels("aftersale/rejectapply", {**target, "reject_reason_type": 999}))[
        "errcode"
    ] == 40097
    assert (await channels("aftersale/rejectapply", {**target, "reject_reason_type": 1}))["errcode"] == 0
    wire = (await channels("aftersale/getaftersaleorder", target))["after_sale_order"]
    assert wire["status"] == "MERCHANT_REJECT_REFUND"
    assert wire["merchant_upload_info"]["reject_reason"]
    assert (await channels("aftersale/rejectapply", {**target, "reject_reason_type": 1}))[
        "errcode"
    ] == 10020001


async def test_refund_only_cannot_be_accepted_as_a_return(
    sim: Simulator, store: SimStore, channels: Channels
) -> None:
    order = sim.create_order(store.appid)
    aftersale = sim.open_aftersale(store.appid, order.order_id)
    reply = await channels(
        "aftersale/acceptapply", {"after_sale_order_id": aftersale.after_sale_order_id, "accept_type": 1}
    )
    assert reply["errcode"] == 10020001


async def test_unknown_and_malformed_aftersale_ids(channels: Channels) -> None:
    assert (await channels("aftersale/getaftersaleorder", {"after_sale_order_id": "2000000000000000000"}))[
        "errcode"
    ] == 10021050
    assert (await channels("aftersale/getaftersaleorder", {"after_sale_order_id": "abc"}))[
        "errcode"
    ] == 10020000


async def test_exchange_ends_with_the_replacement_shipped(
    sim: Simulator, store: SimStore, channels: Channels
) -> None:
    order = sim.create_order(store.appid)
    sim.ship_order(store.appid, order.order_id)
    aftersale = sim.open_aftersale(store.appid, order.order_id, "EXCHANGE", "SEND_WRONG_GOODS")
    target = {"after_sale_order_id": aftersale.after_sale_order_id}
    assert (
        await channels("aftersale/acceptapply", {**target, "address_id": await return_address(channels)})
    )["errcode"] == 0
    sim.buyer_ships_return(store.appid, aftersale.after_sale_order_id)
    reship = {**target, "waybill_id": "SF99887766", "delivery_id": "SF"}
    assert (await channels("aftersale/acceptexchangereship", reship))["errcode"] == 0
    wire = (await channels("aftersale/getaftersaleorder", target))["after_sale_order"]
    assert wire["exchange_delivery_info"]["waybill_id"] == "SF99887766"
    assert sim.order(store.appid, order.order_id).status == 30  # nothing was refunded


async def test_negotiation_waits_for_the_buyer(sim: Simulator, store: SimStore, channels: Channels) -> None:
    order = sim.create_order(store.appid)
    aftersale = sim.open_aftersale(store.appid, order.order_id)
    proposal = {
        "after_sale_order_id": aftersale.after_sale_order_id,
        "merchant_update_type": 3,
        "amount": 100,
        "merchant_update_desc": "部分退款可以吗",
    }
    assert (await channels("aftersale/merchantupdateaftersale", proposal))["errcode"] == 0
    assert await get_status(channels, aftersale.after_sale_order_id) == "USER_WAIT_CONFIRM_UPDATE"
    await sim.drain(5)
    wire = (
        await channels("aftersale/getaftersaleorder", {"after_sale_order_id": aftersale.after_sale_order_id})
    )["after_sale_order"]
    assert (wire["status"], wire["refund_info"]["amount"]) == ("MERCHANT_PROCESSING", 100)


async def test_aftersale_list_window_and_paging(
    sim: Simulator, store: SimStore, channels: Channels, clock: ManualClock
) -> None:
    opened = set()
    for _ in range(3):
        order = sim.create_order(store.appid)
        opened.add(sim.open_aftersale(store.appid, order.order_id).after_sale_order_id)
    now = int(clock())
    day = {"begin_create_time": now - 86400 + 1, "end_create_time": now + 1}
    listed = await channels("aftersale/getaftersalelist", day)
    assert set(listed["after_sale_order_id_list"]) == opened
    assert listed["has_more"] is False
    too_wide = {"begin_update_time": now - 2 * 86400, "end_update_time": now}
    assert (await channels("aftersale/getaftersalelist", too_wide))["errcode"] == 10020004
