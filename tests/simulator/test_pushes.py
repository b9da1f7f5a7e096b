"""Pushes as the platform sends them (spec §5, §8): signed, encrypted, retried, sometimes lost."""

from __future__ import annotations

import json

import pytest

from desk.platform.crypto import CryptoError, MsgCrypt
from desk.simulator import SimStore, Simulator, demo_store
from desk.simulator.payloads import AFTERSALE_EVENT_OPENID
from desk.simulator.pushes import CHANNELS_RETRY_DELAYS
from tests.simulator.support import PushReceiver


async def test_a_push_is_signed_and_encrypted_for_the_store(
    sim: Simulator, store: SimStore, receiver: tuple[PushReceiver, str]
) -> None:
    app, _ = receiver
    async with sim.serving():
        order = sim.create_order(store.appid)
        await sim.drain(5)
    push = app.received[0]
    q = push.query
    assert q["encrypt_type"] == "aes"
    envelope = json.loads(push.body)
    assert envelope["ToUserName"] == store.gh_id
    crypt = MsgCrypt(store.token, store.aes_key, store.appid)
    crypt.verify(q["signature"], q["timestamp"], q["nonce"])
    event = json.loads(crypt.open(q["msg_signature"], q["timestamp"], q["nonce"], envelope["Encrypt"]))
    assert event["ToUserName"] == store.gh_id
    assert event["MsgType"] == "event"
    assert event["FromUserName"] == order.openid
    with pytest.raises(CryptoError):
        MsgCrypt(store.token, store.aes_key, "wx-someone-else").open(
            q["msg_signature"], q["timestamp"], q["nonce"], envelope["Encrypt"]
        )


async def test_an_order_sends_both_event_streams(
    sim: Simulator, store: SimStore, receiver: tuple[PushReceiver, str]
) -> None:
    app, _ = receiver
    async with sim.serving():
        order = sim.create_order(store.appid, paid=False)
        sim.pay_order(store.appid, order.order_id)
        sim.ship_order(store.appid, order.order_id)
        sim.confirm_order(store.appid, order.order_id)
        await sim.drain(5)
    events = app.channels_events(store)
    names = {e["Event"] for e in events}
    assert {"channels_ec_order_new", "channels_ec_order_wait_shipping", "channels_ec_order_deliver"} <= names
    assert {"channels_ec_order_confirm", "product_order_status_update"} <= names
    statuses = sorted(
        e["ProductOrderStatusUpdate"]["status"] for e in events if "ProductOrderStatusUpdate" in e
    )
    assert statuses == [10, 20, 30, 100]
    assert all(
        e.get("order_info", e.get("ProductOrderStatusUpdate"))["order_id"] == order.order_id for e in events
    )


async def test_pay_events_are_sometimes_missing_and_orders_vary(
    sim: Simulator, store: SimStore, receiver: tuple[PushReceiver, str]
) -> None:
    app, _ = receiver
    async with sim.serving():
        orders = [sim.create_order(store.appid) for _ in range(40)]
        await sim.drain(10)
    events = app.channels_events(store)
    paid_events = {e["order_info"]["order_id"] for e in events if e["Event"] == "channels_ec_order_pay"}
    assert 0 < len(paid_events) < len(orders)  # never depend on order_pay
    first_per_order: dict[str, str] = {}
    for attempt in sorted(sim.push_log, key=lambda p: p.push_id):
        first_per_order.setdefault(attempt.ref, attempt.event)
    assert len(set(first_per_order.values())) > 1  # not always channels_ec_order_new first


async def test_aftersale_events_come_from_the_fixed_openid(
    sim: Simulator, store: SimStore, receiver: tuple[PushReceiver, str]
) -> None:
    app, _ = receiver
    async with sim.serving():
        order = sim.create_order(store.appid)
        aftersale = sim.open_aftersale(store.appid, order.order_id, "REFUND", "NO_LONGER_WANT")
        await sim.drain(5)
    (event,) = [e for e in app.channels_events(store) if e["Event"] == "channels_ec_aftersale_update"]
    assert event["FromUserName"] == AFTERSALE_EVENT_OPENID != order.openid
    assert event["finder_shop_aftersale_status_update"] == {
        "status": "MERCHANT_PROCESSING",
        "after_sale_order_id": aftersale.after_sale_order_id,
        "order_id": order.order_id,
    }


async def test_unacknowledged_pushes_are_retried_on_the_schedule(
    store: SimStore, receiver: tuple[PushReceiver, str]
) -> None:
    app, _ = receiver
    app.replies.extend([(500, b"error"), (200, b"fail"), (200, b"ok"), (404, b"")])
    scale = 0.001
    sim = Simulator(seed=1, time_scale=scale)
    sim.add_store(store)
    async with sim.serving():
        sim.buyer_says(store.appid, sim.new_buyer(store.appid), "在吗")
        await sim.drain(10)
    attempts = sim.push_log
    assert [a.attempt for a in attempts] == [1, 2, 3, 4, 5]
    assert [a.acked for a in attempts] == [False, False, False, False, True]
    assert [a.http_status for a in attempts] == [500, 200, 200, 404, 200]
    gaps = [b.at - a.at for a, b in zip(app.received, app.received[1:], strict=False)]
    # Lower bounds only: the schedule is 0 s, 0 s, 10 s, 1 min … times the scale.
    assert gaps[2] >= CHANNELS_RETRY_DELAYS[2] * scale
    assert gaps[3] >= CHANNELS_RETRY_DELAYS[3] * scale
    assert sim.dispatcher.outcomes["acked"] == 1


async def test_a_push_is_given_up_after_ten_attempts(
    store: SimStore, receiver: tuple[PushReceiver, str]
) -> None:
    app, _ = receiver
    app.replies.extend([(503, b"")] * 20)
    sim = Simulator(seed=1, time_scale=0.00001)
    sim.add_store(store)
    async with sim.serving():
        sim.buyer_says(store.appid, sim.new_buyer(store.appid), "在吗")
        await sim.drain(10)
    assert len(app.received) == 10
    assert sim.push_log[-1].final
    assert sim.dispatcher.outcomes["given_up"] == 1


async def test_a_slow_receiver_counts_as_no_answer(
    store: SimStore, receiver: tuple[PushReceiver, str]
) -> None:
    app, _ = receiver
    app.delay = 0.3
    sim = Simulator(seed=1, time_scale=0.00001, push_timeout=0.1)
    sim.add_store(store)
    async with sim.serving():
        sim.buyer_says(store.appid, sim.new_buyer(store.appid), "在吗")
        await sim.drain(10)
    assert sim.push_log[0].error == "ReadTimeout"
    assert not any(a.acked for a in sim.push_log)


async def test_dropped_pushes_never_reach_the_desk(
    sim: Simulator, store: SimStore, receiver: tuple[PushReceiver, str]
) -> None:
    app, _ = receiver
    openid = sim.new_buyer(store.appid)
    async with sim.serving():
        sim.drop_next_pushes(2)
        lost = [sim.buyer_says(store.appid, openid, f"消息{n}") for n in range(2)]
        kept = sim.buyer_says(store.appid, openid, "消息2")
        await sim.drain(5)
    received = [e["msg_id"] for e in app.channels_events(store)]
    assert received == [kept]
    assert [a.ref for a in sim.push_log if a.dropped] == lost
    assert len(sim.ground_truth().stores[store.appid].buyer_messages) == 3


async def test_a_store_without_push_url_gets_nothing(receiver: tuple[PushReceiver, str]) -> None:
    app, _ = receiver
    sim = Simulator(seed=1, time_scale=0.0)
    quiet = sim.add_store(demo_store(2))
    async with sim.serving():
        sim.create_order(quiet.appid)
        await sim.drain(5)
    assert sim.push_log == []
    assert app.received == []
