"""The Channels store API over HTTP: orders, lists and their windows, addresses, reasons."""

from __future__ import annotations

import httpx

from desk.simulator import ManualClock, SimStore, Simulator
from tests.simulator.support import Channels, channels_token

DAY = 86400


async def test_order_get_shows_the_order_masked_with_ids_as_strings(
    sim: Simulator, store: SimStore, channels: Channels
) -> None:
    order = sim.create_order(store.appid)
    person = sim.store_state(store.appid).buyers[order.openid].person
    reply = await channels("order/get", {"order_id": int(order.order_id)})  # ids may come as numbers
    assert reply["errcode"] == 0
    wire = reply["order"]
    assert wire["order_id"] == order.order_id
    assert len(wire["order_id"]) == 19
    assert wire["status"] == 20
    line = wire["order_detail"]["product_infos"][0]
    assert isinstance(line["sale_price"], int)
    assert wire["order_detail"]["price_info"]["order_price"] == order.order_price
    address = wire["order_detail"]["delivery_info"]["address_info"]
    assert address["user_name"] == person.name[0] + "**"
    assert address["tel_number"] == person.phone[:3] + "****" + person.phone[-4:]
    assert person.address.detail_info not in str(reply)
    assert len(address["hash_code"]) == 32


async def test_sensitive_decode_gives_the_full_address(
    sim: Simulator, store: SimStore, channels: Channels
) -> None:
    order = sim.create_order(store.appid)
    person = sim.store_state(store.appid).buyers[order.openid].person
    reply = await channels("order/sensitiveinfo/decode", {"order_id": order.order_id})
    assert reply["address_info"]["user_name"] == person.name
    assert reply["address_info"]["detail_info"] == person.address.detail_info
    assert ("virtual_number_info" in reply) == (person.virtual_number is not None)


async def test_unknown_order_is_an_error_not_a_crash(channels: Channels) -> None:
    reply = await channels("order/get", {"order_id": "3700000000000000000"})
    assert reply["errcode"] != 0
    assert " rid: " in reply["errmsg"]
    assert (await channels("order/get", {}))["errcode"] == 40097
    assert (await channels("order/get", {"order_id": 1.5}))["errcode"] == 40097


async def test_bad_json_is_47001(api: httpx.AsyncClient, channels: Channels) -> None:
    reply = await api.post(
        "/channels/ec/order/get", params={"access_token": channels.token}, content=b"{nope"
    )
    assert reply.json()["errcode"] == 47001


async def test_order_list_pages_through_every_order_once(
    sim: Simulator, store: SimStore, channels: Channels, clock: ManualClock
) -> None:
    created = set()
    for _ in range(25):
        created.add(sim.create_order(store.appid).order_id)
        clock.advance(7)
    window = {"start_time": int(clock()) - DAY, "end_time": int(clock()) + 1}
    seen: list[str] = []
    next_key = ""
    pages = 0
    while True:
        reply = await channels(
            "order/list/get", {"create_time_range": window, "page_size": 10, "next_key": next_key}
        )
        seen += reply["order_id_list"]
        pages += 1
        next_key = reply["next_key"]
        if not reply["has_more"]:
            break
    assert pages == 3
    assert sorted(seen) == sorted(created)


async def test_order_list_refuses_wide_windows_and_big_pages(channels: Channels, clock: ManualClock) -> None:
    now = int(clock())
    eight_days = {"start_time": now - 8 * DAY, "end_time": now}
    seven_days = {"start_time": now - 7 * DAY, "end_time": now}
    assert (await channels("order/list/get", {"update_time_range": eight_days}))["errcode"] != 0
    assert (await channels("order/list/get", {"update_time_range": seven_days}))["errcode"] == 0
    assert (await channels("order/list/get", {"update_time_range": seven_days, "page_size": 101}))[
        "errcode"
    ] != 0
    assert (await channels("order/list/get", {}))["errcode"] == 40097


async def test_order_list_by_update_time_and_status(
    sim: Simulator, store: SimStore, api: httpx.AsyncClient, clock: ManualClock
) -> None:
    unpaid = sim.create_order(store.appid, paid=False)
    paid = sim.create_order(store.appid)
    clock.advance(3 * DAY)
    sim.pay_order(store.appid, unpaid.order_id)
    channels = Channels(api, await channels_token(api, store))  # the first token expired meanwhile
    recent = {"start_time": int(clock()) - 60, "end_time": int(clock()) + 1}
    reply = await channels("order/list/get", {"update_time_range": recent})
    assert reply["order_id_list"] == [unpaid.order_id]
    week = {"start_time": int(clock()) - 7 * DAY + 1, "end_time": int(clock()) + 1}
    to_ship = await channels("order/list/get", {"create_time_range": week, "status": 20})
    assert set(to_ship["order_id_list"]) == {unpaid.order_id, paid.order_id}


async def test_order_search_by_phone_and_title(sim: Simulator, store: SimStore, channels: Channels) -> None:
    order = sim.create_order(store.appid)
    sim.create_order(store.appid)
    phone = sim.store_state(store.appid).buyers[order.openid].person.phone
    by_phone = await channels("order/search", {"search_condition": {"tel_number_last4": phone[-4:]}})
    assert order.order_id in by_phone["order_id_list"]
    title = order.lines[0].title
    by_title = await channels("order/search", {"search_condition": {"title": title[:6]}, "page_size": 100})
    assert order.order_id in by_title["order_id_list"]


async def test_merchant_notes_and_buyer_address_change(
    sim: Simulator, store: SimStore, channels: Channels
) -> None:
    order = sim.create_order(store.appid)
    assert (
        await channels("order/merchantnotes/update", {"order_id": order.order_id, "merchant_notes": "加急"})
    )["errcode"] == 0
    new_address = sim.request_address_change(store.appid, order.order_id)
    under_review = (await channels("order/get", {"order_id": order.order_id}))["order"]
    assert under_review["order_detail"]["ext_info"]["merchant_notes"] == "加急"
    assert under_review["order_detail"]["delivery_info"]["address_under_review"] is not None
    assert (await channels("order/addressmodify/accept", {"order_id": order.order_id}))["errcode"] == 0
    assert sim.order(store.appid, order.order_id).address == new_address
    assert (await channels("order/addressmodify/accept", {"order_id": order.order_id}))["errcode"] != 0


async def test_shipping_through_the_api(sim: Simulator, store: SimStore, channels: Channels) -> None:
    order = sim.create_order(store.appid)
    couriers = (await channels("order/deliverycompanylist/get"))["company_list"]
    delivery = {"delivery_id": couriers[0]["delivery_id"], "waybill_id": "SF1234567890", "deliver_type": 1}
    reply = await channels("order/delivery/send", {"order_id": order.order_id, "delivery_list": [delivery]})
    assert reply["errcode"] == 0
    wire = (await channels("order/get", {"order_id": order.order_id}))["order"]
    assert wire["status"] == 30
    assert wire["order_detail"]["delivery_info"]["delivery_product_info"][0]["waybill_id"] == "SF1234567890"


async def test_merchant_address_lifecycle(channels: Channels) -> None:
    listed = (await channels("merchant/address/list", {"offset": 0, "limit": 100}))["address_id_list"]
    assert len(listed) == 2  # every store starts with a default return address and a second warehouse
    detail = {
        "name": "杭州退货仓",
        "address_info": {
            "user_name": "售后组",
            "tel_number": "0571-88880000",
            "province_name": "浙江省",
            "city_name": "杭州市",
            "county_name": "余杭区",
            "detail_info": "文一西路1号",
        },
        "recv_addr": True,
    }
    address_id = (await channels("merchant/address/add", {"address_detail": detail}))["address_id"]
    got = (await channels("merchant/address/get", {"address_id": address_id}))["address_detail"]
    assert got["address_info"]["detail_info"] == "文一西路1号"
    assert got["recv_addr"] is True
    changed = {**detail, "address_id": address_id, "name": "新仓"}
    assert (await channels("merchant/address/update", {"address_detail": changed}))["errcode"] == 0
    assert (await channels("merchant/address/get", {"address_id": address_id}))["address_detail"][
        "name"
    ] == "新仓"
    assert (await channels("merchant/address/delete", {"address_id": address_id}))["errcode"] == 0
    assert (await channels("merchant/address/get", {"address_id": address_id}))["errcode"] != 0


async def test_reason_lists(channels: Channels) -> None:
    reasons = (await channels("aftersale/reason/get"))["reason_list"]
    assert {"reason_text": "质量问题"}.items() <= next(
        r for r in reasons if r["reason_text"] == "质量问题"
    ).items()
    reject = (await channels("aftersale/rejectreason/get"))["reject_reason_list"]
    assert {r["reject_scene"] for r in reject} >= {1, 4}
    assert all(r["reject_reason_type_text"] for r in reject)


async def test_unknown_path(channels: Channels, api: httpx.AsyncClient) -> None:
    reply = await api.post("/channels/ec/order/nothing", params={"access_token": channels.token}, json={})
    assert reply.status_code == 404
    assert reply.json()["errcode"] != 0
