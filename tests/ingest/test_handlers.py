"""Applying events end to end: the simulator pushes to the desk served for real, the worker fetches
from the simulator, and the database ends up agreeing with the platform's ground truth."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from desk.aftersales.models import AfterSale
from desk.inbox.models import Channel, Conversation, Message, Sender
from desk.ingest.models import EventState, KfCursor
from desk.orders.models import Buyer, Order
from desk.runtime import Runtime
from desk.simulator import Faults, GroundTruth
from tests.ingest.conftest import Platform, corp_crypt, count_by_state, wecom_push


async def assert_matches_truth(runtime: Runtime, platform: Platform, truth: GroundTruth) -> None:
    """Every order, after-sale and buyer message of the platform is in the desk, as the platform has it."""
    async with runtime.db.engine.connect() as conn:
        for store, appid in zip(platform.stores, platform.appids, strict=True):
            expected = truth.stores[appid]
            orders = {
                row.order_id: row
                for row in await conn.execute(
                    sa.select(
                        Order.order_id, Order.status, Order.update_time, Order.order_price, Buyer.openid
                    )
                    .join(Buyer, Buyer.id == Order.buyer_id)
                    .where(Order.store_id == store.id)
                )
            }
            assert set(orders) == set(expected.orders)
            for order_id, want in expected.orders.items():
                got = orders[order_id]
                assert (got.status, got.order_price, got.openid) == (
                    want.status,
                    want.order_price,
                    want.openid,
                )
                assert got.update_time == dt.datetime.fromtimestamp(want.update_time, dt.UTC)
            aftersales = {
                row.after_sale_order_id: row
                for row in await conn.execute(
                    sa.select(
                        AfterSale.after_sale_order_id, AfterSale.order_id, AfterSale.status, AfterSale.type
                    ).where(AfterSale.store_id == store.id)
                )
            }
            assert {k: (v.order_id, v.status, v.type) for k, v in aftersales.items()} == {
                k: (v.order_id, v.status, v.type) for k, v in expected.aftersales.items()
            }
            messages = (
                await conn.execute(
                    sa.select(Message.platform_msg_id, Conversation.peer_id, Message.msg_type)
                    .join(Conversation, Conversation.id == Message.conversation_id)
                    .where(
                        Message.store_id == store.id,
                        Conversation.channel == Channel.COMMKF,
                        # What buyers wrote (a worker may have answered with the default rules' welcome).
                        Message.sender == Sender.BUYER,
                    )
                )
            ).all()
            assert sorted(messages) == sorted(
                (m.msg_id, m.openid, m.msg_type) for m in expected.buyer_messages
            )


async def test_orders_aftersales_and_messages_reach_the_desk(runtime, platform: Platform) -> None:
    sim, [a, b] = platform.sim, platform.appids
    first = sim.create_order(a)
    second = sim.create_order(a, paid=False)
    third = sim.create_order(b, paid=False)
    sim.pay_order(a, second.order_id)
    sim.ship_order(a, first.order_id)
    sim.cancel_order(b, third.order_id)
    sim.open_aftersale(a, second.order_id, type="REFUND", reason="NO_LONGER_WANT")
    sim.buyer_says(a, first.openid, "什么时候到货？")
    sim.buyer_says(b, third.openid, order_id=third.order_id)

    await platform.settle()

    await assert_matches_truth(runtime, platform, sim.ground_truth())
    counts = await count_by_state(runtime)
    assert set(counts) == {EventState.DONE}


async def test_duplicate_and_reordered_events_leave_the_newest_state(runtime, platform: Platform) -> None:
    sim, appid = platform.sim, platform.appids[0]
    order = sim.create_order(appid)
    await sim.drain()
    slow = platform.worker()
    async with platform.runtime.db.engine.begin() as conn:  # a worker claims the first events…
        claimed = await slow.queue.claim(conn, 100)
    items, failures = slow._decode(claimed)
    stale_answers = await slow._fetch_all(items)  # …and reads the order while it is unshipped

    sim.ship_order(appid, order.order_id)
    await sim.drain()
    await platform.worker(worker_lease_s=0.0).drain()  # another worker applies everything, shipped
    await slow._apply(claimed, items, stale_answers, failures)  # the stale answer arrives last

    async with runtime.db.engine.connect() as conn:
        status = (
            await conn.execute(sa.select(Order.status).where(Order.order_id == order.order_id))
        ).scalar_one()
    assert status == sim.order(appid, order.order_id).status == 30

    await platform.settle()
    await assert_matches_truth(runtime, platform, sim.ground_truth())


async def test_platform_failing_a_fifth_of_calls_still_applies_everything(
    runtime, platform: Platform
) -> None:
    sim, [a, b] = platform.sim, platform.appids
    for n in range(30):
        order = sim.create_order(a if n % 2 else b)
        if n % 5 == 0:
            sim.open_aftersale(a if n % 2 else b, order.order_id, type="REFUND")
    sim.faults = Faults(error_rate=0.2, kinds=("http500", "busy", "timeout"), seed=7, timeout_s=2.5)

    await platform.settle(platform.worker(worker_max_attempts=50))

    assert sum(sim.faults.injected.values()) > 0
    sim.faults = Faults()
    await assert_matches_truth(runtime, platform, sim.ground_truth())


async def test_kf_messages_are_read_from_the_stored_cursor(runtime, platform: Platform) -> None:
    sim = platform.sim
    first = sim.kf_customer_says(platform.corpid, platform.open_kfid, None, "你好，在吗")
    sim.kf_customer_says(platform.corpid, platform.open_kfid, first.external_userid, "我想问下发货时间")
    await platform.settle()
    sim.kf_customer_says(platform.corpid, platform.open_kfid, first.external_userid, "好的谢谢")
    await platform.settle()

    async with runtime.db.engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(Conversation.store_id, Conversation.peer_id, Message.platform_msg_id, Message.text)
                .join(Message, Message.conversation_id == Conversation.id)
                .where(Conversation.channel == Channel.WECOM_KF)
                .order_by(Message.sent_at, Message.id)
            )
        ).all()
        cursor = (await conn.execute(sa.select(KfCursor.cursor))).scalar_one()
    customer_messages = [m for m in sim.ground_truth().corps[platform.corpid].kf_messages if m.origin == 3]
    assert [(r.platform_msg_id, r.text) for r in rows] == [(m.msgid, m.text) for m in customer_messages]
    assert {(r.store_id, r.peer_id) for r in rows} == {
        (platform.stores[0].id, f"{platform.open_kfid}/{first.external_userid}")
    }
    assert cursor


async def test_contact_events_are_recorded_and_done(client, runtime, platform: Platform) -> None:
    xml = (
        f"<xml><ToUserName>{platform.corpid}</ToUserName><FromUserName>sys</FromUserName>"
        "<CreateTime>1700000001</CreateTime><MsgType>event</MsgType><Event>change_external_contact</Event>"
        "<ChangeType>add_external_contact</ChangeType><UserID>zhangsan</UserID>"
        "<ExternalUserID>wm-1</ExternalUserID><State>ho-1</State></xml>"
    )
    query, body = wecom_push(corp_crypt(runtime, platform.corp), xml)
    assert (
        await client.post(f"/webhooks/wecom/{platform.corp.key}?{query}", content=body)
    ).status_code == 200
    await platform.settle()
    assert await count_by_state(runtime) == {EventState.DONE: 1}
