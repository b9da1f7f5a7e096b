"""The people-facing pages: the overview and the buyer's view, driven over HTTP like a browser."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from desk.simulator import SimStore, Simulator
from tests.simulator.support import PushReceiver, eventually


async def new_buyer(api: httpx.AsyncClient, store: SimStore) -> str:
    reply = await api.post("/sim/buyer/new", data={"appid": store.appid})
    assert reply.status_code in (302, 303)
    return parse_qs(urlsplit(reply.headers["location"]).query)["openid"][0]


async def test_overview_lists_stores_and_pushes(
    sim: Simulator, store: SimStore, api: httpx.AsyncClient
) -> None:
    sim.create_order(store.appid)
    await sim.drain(5)
    page = await api.get("/sim/")
    assert page.status_code == 200
    assert store.name in page.text
    assert "视频号小店" in page.text
    pushes = await api.get("/sim/pushes")
    assert "channels_ec_order_new" in pushes.text
    assert "已确认" in pushes.text


async def test_a_chat_posted_on_the_page_becomes_a_push(
    sim: Simulator, store: SimStore, api: httpx.AsyncClient, receiver: tuple[PushReceiver, str]
) -> None:
    app, _ = receiver
    openid = await new_buyer(api, store)
    page = await api.get("/sim/buyer", params={"appid": store.appid, "openid": openid})
    assert page.status_code == 200
    assert store.name in page.text
    reply = await api.post(
        "/sim/buyer/say", data={"appid": store.appid, "openid": openid, "text": "什么时候发货"}
    )
    assert reply.status_code in (302, 303)
    await eventually(lambda: any(e.get("text") for e in app.channels_events(store)))
    (event,) = [e for e in app.channels_events(store) if e["Event"] == "commkf_send_msg_to_kf"]
    assert (event["FromUserName"], event["text"]["content"]) == (openid, "什么时候发货")


async def test_chat_text_is_escaped(sim: Simulator, store: SimStore, api: httpx.AsyncClient) -> None:
    openid = await new_buyer(api, store)
    reply = await api.post(
        "/sim/buyer/say",
        data={"appid": store.appid, "openid": openid, "text": "<script>alert(1)</script>"},
        headers={"x-sim-fetch": "1"},
    )
    assert reply.status_code == 204
    chat = await api.get("/sim/buyer/chat", params={"appid": store.appid, "openid": openid})
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in chat.text
    assert "<script>alert" not in chat.text


async def test_place_an_order_and_open_an_aftersale(
    sim: Simulator, store: SimStore, api: httpx.AsyncClient
) -> None:
    openid = await new_buyer(api, store)
    sku = sim.store_state(store.appid).catalog[0].skus[0]
    placed = await api.post(
        "/sim/buyer/order",
        data={"appid": store.appid, "openid": openid, "sku_id": sku.sku_id, "count": "2", "pay": "true"},
    )
    assert placed.status_code in (302, 303)
    (order_id,) = sim.store_state(store.appid).buyers[openid].order_ids
    order = sim.order(store.appid, order_id)
    assert (order.status, order.lines[0].sku_cnt) == (20, 2)

    opened = await api.post(
        "/sim/buyer/aftersale",
        data={
            "appid": store.appid,
            "openid": openid,
            "order_id": order_id,
            "type": "REFUND",
            "reason": "INCORRECT_SELECTION",
        },
    )
    assert opened.status_code in (302, 303)
    (aftersale_id,) = order.aftersale_ids
    assert sim.aftersale(store.appid, aftersale_id).reason_text == "拍错/多拍"
    orders = await api.get("/sim/buyer/orders", params={"appid": store.appid, "openid": openid})
    assert "仅退款" in orders.text
    assert "待商家处理" in orders.text


async def test_a_return_cannot_be_asked_before_shipping(
    sim: Simulator, store: SimStore, api: httpx.AsyncClient
) -> None:
    openid = await new_buyer(api, store)
    order = sim.create_order(store.appid, openid)
    reply = await api.post(
        "/sim/buyer/aftersale",
        data={
            "appid": store.appid,
            "openid": openid,
            "order_id": order.order_id,
            "type": "RETURN",
            "reason": "QUALITY_ISSUE",
        },
        headers={"x-sim-fetch": "1"},
    )
    assert reply.status_code == 422
    assert "RETURN" in reply.text
    assert order.aftersale_ids == []


async def test_pay_later_then_pay_on_the_page(
    sim: Simulator, store: SimStore, api: httpx.AsyncClient
) -> None:
    openid = await new_buyer(api, store)
    sku = sim.store_state(store.appid).catalog[1].skus[0]
    await api.post(
        "/sim/buyer/order",
        data={"appid": store.appid, "openid": openid, "sku_id": sku.sku_id, "pay": "false"},
    )
    (order_id,) = sim.store_state(store.appid).buyers[openid].order_ids
    assert sim.order(store.appid, order_id).status == 10
    await api.post(
        "/sim/buyer/order/action",
        data={"appid": store.appid, "openid": openid, "order_id": order_id, "action": "pay"},
    )
    assert sim.order(store.appid, order_id).status == 20


async def test_a_scenario_can_be_started_from_the_overview(sim: Simulator, api: httpx.AsyncClient) -> None:
    reply = await api.post(
        "/sim/scenario", data={"name": "live-burst", "duration_s": "20", "orders_per_minute": "60"}
    )
    assert reply.status_code in (302, 303)
    assert sim.scenario_task is not None
    report = await sim.scenario_task
    assert report.orders > 0
    page = await api.get("/sim/")
    assert "live-burst" in page.text


async def test_the_quick_questions_and_the_overview_follow_the_stores_goods(
    sim: Simulator, store: SimStore, api: httpx.AsyncClient
) -> None:
    assert store.category == "tea"  # 山野茶铺
    openid = await new_buyer(api, store)
    page = await api.get("/sim/buyer", params={"appid": store.appid, "openid": openid})
    chips = page.text.split('class="chips"')[1].split("</div>")[0]
    assert "这个茶是今年的吗" in chips
    assert "尺码偏大还是偏小？" not in chips
    overview = await api.get("/sim/")
    assert '<td><span class="badge">茶叶</span></td>' in overview.text
