"""After-sale completion times (negotiation paused), automatic completion, the after-sale rate,
orders by hour and the repeat-purchase rate — through the owners' real save functions."""

from __future__ import annotations

import datetime as dt

import pytest

from desk.aftersales.services import save_aftersale
from desk.db import utcnow
from desk.metrics.aftersales import ClockState, advance
from desk.metrics.figures import Period, orders_by_hour, repeat_purchase_rate
from desk.orders.services import save_order
from desk.platform.channels_types import (
    AfterSaleProduct,
    ChannelsAfterSale,
    ChannelsOrder,
    OrderDetail,
    PayInfo,
    RefundInfo,
)
from desk.runtime import Runtime
from tests.metrics.support import figures, local

DAY = "2026-12-01"
REQUEST = int(local(DAY, "10:00:00").timestamp())


async def aftersale_is(
    runtime: Runtime,
    store_id: int,
    status: str,
    after: int,
    *,
    kind: str = "REFUND",
    ref: str = "as1",
    origin: str = "platform",
) -> None:
    """The platform answers that after-sale ``ref`` reached ``status`` ``after`` seconds after the request."""
    answer = ChannelsAfterSale(
        after_sale_order_id=ref,
        order_id="o1",
        status=status,
        type=kind,
        openid="o_buyer",
        create_time=REQUEST,
        update_time=REQUEST + after,
        product_info=AfterSaleProduct(product_id="p1", sku_id="s1", count=1),
        refund_info=RefundInfo(amount=1000),
    )
    async with runtime.db.transaction() as conn:
        await save_aftersale(conn, store_id, answer, utcnow(), origin=origin)


async def order_paid(
    runtime: Runtime, store_id: int, order_id: str, paid_at: dt.datetime, openid: str
) -> None:
    answer = ChannelsOrder(
        order_id=order_id,
        status=20,
        create_time=int(paid_at.timestamp()) - 10,
        update_time=int(paid_at.timestamp()),
        openid=openid,
        order_detail=OrderDetail(pay_info=PayInfo(pay_time=int(paid_at.timestamp()))),
    )
    async with runtime.db.transaction() as conn:
        await save_order(conn, store_id, answer, utcnow())


async def test_refund_only_completion_time_leaves_out_the_negotiation(runtime: Runtime, make_store) -> None:
    store = await make_store()
    await aftersale_is(runtime, store.id, "MERCHANT_PROCESSING", 0)
    await aftersale_is(runtime, store.id, "USER_WAIT_CONFIRM", 600)  # the merchant proposes another amount
    await aftersale_is(runtime, store.id, "MERCHANT_PROCESSING", 4200)  # the buyer answers an hour later
    await aftersale_is(runtime, store.id, "MERCHANT_REFUND_SUCCESS", 4800, origin="user:7")
    await aftersale_is(
        runtime, store.id, "MERCHANT_REFUND_SUCCESS", 4900
    )  # a fresher answer: no second count

    day = await figures(runtime, [store.id], DAY)
    assert (day.aftersales, day.refund_only_completed, day.refund_only_mean_s) == (1, 1, 1200.0)
    assert (day.return_refund_completed, day.automatic_share) == (0, 0.0)


async def test_return_refunds_are_apart_and_rules_alone_complete_automatically(
    runtime: Runtime, make_store
) -> None:
    store = await make_store()
    await aftersale_is(runtime, store.id, "MERCHANT_PROCESSING", 0, kind="RETURN", ref="a")
    await aftersale_is(runtime, store.id, "USER_WAIT_RETURN", 60, kind="RETURN", ref="a", origin="rule:3")
    await aftersale_is(
        runtime, store.id, "MERCHANT_RETURN_SUCCESS", 7260, kind="RETURN", ref="a", origin="rule:4"
    )
    await aftersale_is(runtime, store.id, "MERCHANT_PROCESSING", 0, kind="RETURN", ref="b")
    await aftersale_is(runtime, store.id, "USER_WAIT_RETURN", 60, kind="RETURN", ref="b", origin="rule:3")
    await aftersale_is(
        runtime, store.id, "MERCHANT_RETURN_SUCCESS", 3660, kind="RETURN", ref="b", origin="user:2"
    )
    await aftersale_is(runtime, store.id, "MERCHANT_PROCESSING", 0, kind="EXCHANGE", ref="c")

    day = await figures(runtime, [store.id], DAY)
    assert (day.aftersales, day.return_refund_completed, day.return_refund_mean_s) == (3, 2, 5460.0)
    assert (day.refund_only_completed, day.automatic_share, day.aftersales_handled) == (0, 0.5, 1)
    assert (await figures(runtime, [store.id], DAY, agent_id=2)).aftersales_handled == 1
    assert (await figures(runtime, [store.id], DAY, agent_id=3)).aftersales_handled == 0


def test_a_negotiation_still_running_at_the_refund_is_paused_until_the_refund() -> None:
    start = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    state = ClockState(requested_at=start)
    state, done = advance(
        state, status="USER_WAIT_CONFIRM_UPDATE", at=start + dt.timedelta(seconds=100), origin=""
    )
    assert done is None
    state, done = advance(
        state, status="MERCHANT_REFUND_SUCCESS", at=start + dt.timedelta(seconds=500), origin=""
    )
    assert (done, state.paused_s, state.completed) == (100, 400, True)


async def test_orders_by_hour_the_after_sale_rate_and_repeat_purchase(runtime: Runtime, make_store) -> None:
    store = await make_store()
    await order_paid(runtime, store.id, "o1", local(DAY, "19:05:00"), "alice")
    await order_paid(runtime, store.id, "o2", local(DAY, "19:55:00"), "bob")
    await order_paid(runtime, store.id, "o3", local(DAY, "21:00:00"), "alice")
    await order_paid(runtime, store.id, "o3", local(DAY, "21:00:00"), "alice")  # stored again: counted once
    await order_paid(runtime, store.id, "o0", local("2026-10-15", "09:00:00"), "bob")  # 47 days before
    await aftersale_is(runtime, store.id, "MERCHANT_PROCESSING", 0)

    day = await figures(runtime, [store.id], DAY)
    assert (day.orders, day.aftersales, day.aftersale_rate) == (3, 1, pytest.approx(1 / 3))
    async with runtime.db.engine.connect() as conn:
        hours = await orders_by_hour(conn, [store.id], Period.day(dt.date(2026, 12, 1)))
        assert {hour: n for hour, n in enumerate(hours) if n} == {19: 2, 21: 1}
        last = dt.date(2026, 12, 1)
        assert await repeat_purchase_rate(conn, store.id, last, 30) == 0.5  # alice of alice and bob
        assert await repeat_purchase_rate(conn, store.id, last, 90) == 1.0  # bob's October order too
        assert await repeat_purchase_rate(conn, store.id, dt.date(2026, 9, 1), 30) is None
