"""Buyer chat through commkf (spec §6A): pushes in, replies out, de-duplication and the limits."""

from __future__ import annotations

import httpx

from desk.simulator import ManualClock, SimStore, Simulator
from tests.simulator.support import Channels, PushReceiver, eventually


def text(request_id: str, open_id: str, content: str) -> dict[str, object]:
    return {"request_id": request_id, "open_id": open_id, "msg_type": "text", "text": {"content": content}}


async def test_a_buyer_message_is_pushed_with_a_growing_msg_id(
    sim: Simulator, store: SimStore, receiver: tuple[PushReceiver, str], api: httpx.AsyncClient
) -> None:
    app, _ = receiver
    openid = sim.new_buyer(store.appid)
    first = sim.buyer_says(store.appid, openid, "什么时候发货")
    order = sim.create_order(store.appid, openid)
    second = sim.buyer_says(store.appid, openid, order_id=order.order_id)
    assert int(second) > int(first)
    await sim.drain(5)
    chats = [e for e in app.channels_events(store) if e["Event"] == "commkf_send_msg_to_kf"]
    by_id = {e["msg_id"]: e for e in chats}
    assert by_id[first]["FromUserName"] == openid
    assert by_id[first]["msg_type"] == "text"
    assert by_id[first]["text"] == {"content": "什么时候发货"}
    assert by_id[first]["msg_event"] == "EVENT_TYPE_SEND_MSG"
    assert by_id[second]["order_share"] == {"order_id": order.order_id}


async def test_sendmsg_is_deduplicated_by_request_id(
    sim: Simulator, store: SimStore, channels: Channels
) -> None:
    openid = sim.new_buyer(store.appid)
    sim.buyer_says(store.appid, openid, "在吗")
    first = await channels("commkf/sendmsg", text("req-1", openid, "在的，请问有什么可以帮您？"))
    again = await channels("commkf/sendmsg", text("req-1", openid, "在的，请问有什么可以帮您？"))
    assert first["errcode"] == again["errcode"] == 0
    assert first["msg_id"] == again["msg_id"]
    assert [m.content for m in sim.sent_messages(store.appid, openid)] == ["在的，请问有什么可以帮您？"]


async def test_at_most_five_replies_until_the_buyer_writes_again(
    sim: Simulator, store: SimStore, channels: Channels
) -> None:
    openid = sim.new_buyer(store.appid)
    assert (await channels("commkf/sendmsg", text("r0", openid, "您好")))["errcode"] == 45015  # never wrote
    sim.buyer_says(store.appid, openid, "我要退款")
    codes = [
        (await channels("commkf/sendmsg", text(f"r{n}", openid, f"第{n}条")))["errcode"] for n in range(1, 7)
    ]
    assert codes == [0, 0, 0, 0, 0, 45047]
    sim.buyer_says(store.appid, openid, "好的")
    assert (await channels("commkf/sendmsg", text("r7", openid, "收到")))["errcode"] == 0


async def test_replies_close_48_hours_after_the_buyer_wrote(
    sim: Simulator, store: SimStore, api: httpx.AsyncClient, clock: ManualClock
) -> None:
    openid = sim.new_buyer(store.appid)
    sim.buyer_says(store.appid, openid, "能改地址吗")
    clock.advance(48 * 3600 + 1)
    token = (
        await api.get(
            "/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": store.appid, "secret": store.secret},
        )
    ).json()["access_token"]
    reply = await Channels(api, token)("commkf/sendmsg", text("late", openid, "可以的"))
    assert reply["errcode"] == 45015


async def test_sendmsg_checks_its_arguments(sim: Simulator, store: SimStore, channels: Channels) -> None:
    openid = sim.new_buyer(store.appid)
    sim.buyer_says(store.appid, openid, "你好")
    assert (await channels("commkf/sendmsg", text("a", "o-nobody", "hi")))["errcode"] == 40003
    assert (await channels("commkf/sendmsg", text("b", openid, "  ")))["errcode"] == 40097
    foreign = {
        "request_id": "c",
        "open_id": openid,
        "msg_type": "order_share",
        "order_share": {"order_id": "1"},
    }
    assert (await channels("commkf/sendmsg", foreign))["errcode"] == 40097
    product = sim.store_state(store.appid).catalog[0].product_id
    share = {
        "request_id": "d",
        "open_id": openid,
        "msg_type": "product_share",
        "product_share": {"product_id": product},
    }
    assert (await channels("commkf/sendmsg", share))["errcode"] == 0


async def test_cosupload_takes_files_up_to_30_mb(sim: Simulator, store: SimStore, channels: Channels) -> None:
    openid = sim.new_buyer(store.appid)
    sim.buyer_says(store.appid, openid, "发张图看看")
    params = {"access_token": channels.token}
    fields = {"open_id": openid, "msg_type": "image"}
    small = await channels.api.post(
        "/channels/ec/commkf/cosupload",
        params=params,
        data=fields,
        files={"file": ("a.jpg", b"\xff\xd8" * 500)},
    )
    cos_url = small.json()["cos_url"]
    assert cos_url.startswith("https://")
    image = {"request_id": "img", "open_id": openid, "msg_type": "image", "image": {"cos_url": cos_url}}
    assert (await channels("commkf/sendmsg", image))["errcode"] == 0
    too_big = await channels.api.post(
        "/channels/ec/commkf/cosupload",
        params=params,
        data=fields,
        files={"file": ("big.mp4", b"\0" * (30 * 1024 * 1024 + 1))},
    )
    assert too_big.json()["errcode"] == 40006


async def test_the_buyer_page_shows_what_the_desk_sent(
    sim: Simulator, store: SimStore, channels: Channels
) -> None:
    openid = sim.new_buyer(store.appid)
    sim.buyer_says(store.appid, openid, "尺码偏大还是偏小？")
    await channels("commkf/sendmsg", text("size", openid, "偏小一码，建议拍大一号"))
    page = await channels.api.get("/sim/buyer/chat", params={"appid": store.appid, "openid": openid})
    assert "尺码偏大还是偏小？" in page.text
    assert "偏小一码，建议拍大一号" in page.text
    await eventually(lambda: bool(sim.push_log))
