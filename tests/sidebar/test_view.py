"""Reading the sidebar: one person across stores, seen only in the reader's stores, newest first."""

from __future__ import annotations

import datetime as dt

import pytest
from litestar.exceptions import NotFoundException

from desk.accounts.models import Role
from desk.aftersales.models import AfterSale
from desk.db import utcnow
from desk.errors import Invalid
from desk.inbox.models import Channel, Conversation, ConversationStatus
from desk.orders.models import Buyer, BuyerTag, Order, OrderLine
from desk.runtime import Runtime
from desk.sidebar.find import Found, find_orders
from desk.sidebar.view import read_sidebar
from desk.stores.models import Store


async def _person(runtime: Runtime, first: Store, second: Store) -> int:
    """One person (same unionid) buying in two stores, chatting in the first; the conversation id."""
    now = utcnow()
    async with runtime.db.session() as session:
        here = Buyer(store_id=first.id, openid="o_here", unionid="u_same", nickname="林小姐")
        there = Buyer(store_id=second.id, openid="o_there", unionid="u_same", nickname="")
        session.add_all([here, there])
        await session.flush()
        session.add(BuyerTag(buyer_id=here.id, tag="VIP"))
        for n, (buyer, store) in enumerate([(here, first), (there, second), (here, first)]):
            order = Order(
                store_id=store.id,
                order_id=f"37000000000000000{n}{store.id}",
                buyer_id=buyer.id,
                openid=buyer.openid,
                status=20,
                create_time=now - dt.timedelta(hours=3 - n),
                update_time=now,
                order_price=6900 + n,
                receiver_name="林**",
                receiver_tel_masked="18312342807",  # a double that sent every digit: masked anyway
                province="浙江省",
                city="杭州市",
                address_detail_masked="****",
                fetched_at=now,
            )
            order.lines = [
                OrderLine(
                    position=0,
                    product_id="p1",
                    sku_id=f"sku{n}",
                    title="真丝衬衫",
                    sku_cnt=1,
                    sale_price=6900,
                )
            ]
            session.add(order)
        session.add(
            AfterSale(
                store_id=second.id,
                after_sale_order_id="19000000000000001",
                order_id=f"3700000000000000001{second.id}",
                buyer_id=there.id,
                status="MERCHANT_PROCESSING",
                type="EXCHANGE",
                refund_amount=0,
                create_time=now,
                update_time=now,
                fetched_at=now,
            )
        )
        conversation = Conversation(
            store_id=first.id,
            buyer_id=here.id,
            channel=Channel.COMMKF,
            peer_id="o_here",
            last_message_at=now,
            status=ConversationStatus.OPEN,
        )
        session.add(conversation)
        await session.flush()
        return conversation.id


async def test_an_agent_sees_the_persons_orders_in_their_stores_only_and_an_admin_in_all(
    runtime: Runtime, make_store, make_user
) -> None:
    first, second = await make_store("女装店"), await make_store("户外店")
    conversation_id = await _person(runtime, first, second)
    agent = await make_user("xiaochen", Role.AGENT, [first])
    admin = await make_user("root", Role.ADMIN)
    async with runtime.db.session() as session:
        mine = await read_sidebar(session, agent, conversation_id)
        everything = await read_sidebar(session, admin, conversation_id)
    assert {o.store_name for o in mine.orders} == {"女装店"}
    assert mine.aftersales == []  # the exchange is in the other store
    assert len(mine.orders) == 2
    assert mine.orders[0].created_at > mine.orders[1].created_at  # newest first
    assert mine.buyer.name == "林小姐"
    assert mine.buyer.stores == ["女装店"]
    assert mine.buyer.tags == ["VIP"]
    assert mine.buyer.phone == "183****2807"
    assert not mine.buyer.may_reveal
    assert mine.cards_for_store == first.id  # store chat: this store's orders go in as cards
    assert all(o.phone == "183****2807" for o in mine.orders)
    assert len(everything.orders) == 3
    assert [o.created_at for o in everything.orders] == sorted(
        (o.created_at for o in everything.orders), reverse=True
    )
    assert everything.buyer.stores == ["女装店", "户外店"]
    assert everything.buyer.may_reveal
    assert [msg.key for msg in (a.type_label for a in everything.aftersales)] == [
        "activity.aftersale_type.EXCHANGE"
    ]


async def test_a_conversation_of_another_store_is_not_found(runtime: Runtime, make_store, make_user) -> None:
    first, second = await make_store(), await make_store()
    conversation_id = await _person(runtime, first, second)
    outsider = await make_user("outsider", Role.AGENT, [second])
    async with runtime.db.session() as session:
        with pytest.raises(NotFoundException):
            await read_sidebar(session, outsider, conversation_id)


async def test_orders_are_found_by_id_prefix_or_phone_last_four_in_the_users_stores(
    runtime: Runtime, make_store, make_user
) -> None:
    first, second = await make_store(), await make_store()
    await _person(runtime, first, second)
    agent = await make_user("xiaochen", Role.AGENT, [first])
    async with runtime.db.session() as session:
        by_phone = await find_orders(session, agent, "2807")
        by_prefix = await find_orders(session, agent, "370000")
        too_short = await find_orders(session, agent, "37000")
        not_digits = await find_orders(session, agent, "abc'; drop")
    assert isinstance(by_phone, Found)
    assert isinstance(by_prefix, Found)
    assert by_phone.by_phone
    assert {o.store_id for o in by_phone.orders} == {first.id}
    assert len(by_prefix.orders) == 2
    assert isinstance(too_short, Invalid)
    assert isinstance(not_digits, Invalid)
