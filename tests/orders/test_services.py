"""Saving what ``order/get`` answered: newest answer wins, the same answer twice changes nothing."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from desk.db import utcnow
from desk.orders.models import Buyer, Order, OrderLine
from desk.orders.services import save_buyer, save_order
from desk.platform.channels_types import (
    AddressInfo,
    AftersaleDetail,
    ChannelsOrder,
    DeliveryInfo,
    DeliveryProductInfo,
    OrderDetail,
    OrderProduct,
    PayInfo,
    PriceInfo,
)

T0 = 1_700_000_000


def channels_order(
    order_id: str = "3700000000000000001", *, status: int = 20, update_time: int = T0 + 60, **kw
) -> ChannelsOrder:
    lines = kw.pop(
        "lines",
        [
            OrderProduct(
                product_id="p1", sku_id="s1", title="冲锋衣", sku_cnt=1, sale_price=39900, real_price=35900
            ),
            OrderProduct(
                product_id="p2", sku_id="s2", title="登山杖", sku_cnt=2, sale_price=5900, real_price=5900
            ),
        ],
    )
    return ChannelsOrder(
        order_id=order_id,
        status=status,
        create_time=T0,
        update_time=update_time,
        openid=kw.pop("openid", "o_buyer"),
        unionid=kw.pop("unionid", ""),
        order_detail=OrderDetail(
            product_infos=lines,
            pay_info=PayInfo(pay_time=T0 + 30),
            price_info=PriceInfo(product_price=51700, order_price=47700, freight=0, discounted_price=4000),
            delivery_info=DeliveryInfo(
                address_info=AddressInfo(
                    user_name="林**",
                    tel_number="183****2807",
                    province_name="广东省",
                    city_name="深圳市",
                    county_name="南山区",
                    detail_info="****",
                    hash_code="e258",
                    use_tel_number=1,
                ),
                delivery_product_info=[DeliveryProductInfo(waybill_id="SF1", delivery_id="SF")]
                if status >= 30
                else [],
            ),
        ),
        aftersale_detail=AftersaleDetail(on_aftersale_order_cnt=kw.pop("open_aftersales", 0)),
    )


async def saved(runtime) -> list[Order]:
    async with runtime.db.session() as session:
        return list(await session.scalars(sa.select(Order)))


async def test_order_lines_and_buyer_are_saved_masked_as_received(runtime, make_store) -> None:
    store = await make_store()
    fetched_at = utcnow()
    async with runtime.db.engine.begin() as conn:
        pk = await save_order(conn, store.id, channels_order(unionid="u_1"), fetched_at)

    [order] = await saved(runtime)
    assert order.id == pk
    assert (order.order_id, order.status, order.order_price, order.discounted_price) == (
        "3700000000000000001",
        20,
        47700,
        4000,
    )
    assert order.pay_time == dt.datetime.fromtimestamp(T0 + 30, dt.UTC)
    assert (order.receiver_name, order.receiver_tel_masked, order.address_detail_masked) == (
        "林**",
        "183****2807",
        "****",
    )
    assert order.uses_virtual_number
    assert order.fetched_at == fetched_at
    assert [(line.position, line.sku_id, line.sku_cnt, line.real_price) for line in order.lines] == [
        (0, "s1", 1, 35900),
        (1, "s2", 2, 5900),
    ]
    async with runtime.db.session() as session:
        buyer = await session.get_one(Buyer, order.buyer_id)
    assert (buyer.store_id, buyer.openid, buyer.unionid) == (store.id, "o_buyer", "u_1")


async def test_an_older_answer_never_replaces_a_newer_one(runtime, make_store) -> None:
    store = await make_store()
    shipped = channels_order(status=30, update_time=T0 + 600, lines=[OrderProduct(sku_id="s1", sku_cnt=1)])
    stale = channels_order(status=20, update_time=T0 + 60)
    async with runtime.db.engine.begin() as conn:
        assert await save_order(conn, store.id, shipped, utcnow()) is not None
        assert await save_order(conn, store.id, stale, utcnow()) is None  # fetched earlier, arrived later

    [order] = await saved(runtime)
    assert order.status == 30
    assert order.deliveries == [{"waybill_id": "SF1", "delivery_id": "SF"}]
    assert [line.sku_id for line in order.lines] == ["s1"]


async def test_the_same_answer_twice_changes_nothing(runtime, make_store) -> None:
    store = await make_store()
    answer = channels_order()
    async with runtime.db.engine.begin() as conn:
        first = await save_order(conn, store.id, answer, utcnow())
        second = await save_order(conn, store.id, answer, utcnow())
    assert first == second
    [order] = await saved(runtime)
    async with runtime.db.engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(OrderLine)) == 2
        assert await conn.scalar(sa.select(sa.func.count()).select_from(Buyer)) == 1
    assert order.status == 20


async def test_buyers_are_per_store_and_keep_their_unionid(runtime, make_store) -> None:
    first, second = await make_store(), await make_store()
    async with runtime.db.engine.begin() as conn:
        a = await save_buyer(conn, first.id, "o_1", "u_1")
        b = await save_buyer(conn, second.id, "o_1")
        assert await save_buyer(conn, first.id, "o_1") == a  # no unionid this time: kept
        assert await save_buyer(conn, first.id, "") is None
    assert a != b
    async with runtime.db.session() as session:
        buyers = {(x.store_id, x.openid): x.unionid for x in await session.scalars(sa.select(Buyer))}
    assert buyers == {(first.id, "o_1"): "u_1", (second.id, "o_1"): None}
