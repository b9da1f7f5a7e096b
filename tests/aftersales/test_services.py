"""Saving what ``getaftersaleorder`` answered: newest answer wins, with its buyer."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from desk.aftersales.models import AfterSale
from desk.aftersales.services import save_aftersale
from desk.db import utcnow
from desk.orders.models import Buyer
from desk.platform.channels_types import (
    AfterSaleDetails,
    AfterSaleProduct,
    ChannelsAfterSale,
    RefundInfo,
    ReturnInfo,
)

T0 = 1_700_000_000


def channels_aftersale(
    after_sale_order_id: str = "1934164653012121",
    *,
    status: str = "MERCHANT_PROCESSING",
    update_time: int = T0 + 60,
) -> ChannelsAfterSale:
    return ChannelsAfterSale(
        after_sale_order_id=after_sale_order_id,
        order_id="3700000000000000001",
        status=status,
        type="RETURN",
        openid="o_buyer",
        create_time=T0,
        update_time=update_time,
        deadline=86400 if status == "MERCHANT_PROCESSING" else 0,
        product_info=AfterSaleProduct(product_id="p1", sku_id="s1", count=1),
        details=AfterSaleDetails(desc="拉链坏了", receive_product=True),
        refund_info=RefundInfo(amount=35900),
        return_info=ReturnInfo(waybill_id="YT1", delivery_id="YTO", delivery_name="圆通")
        if status != "MERCHANT_PROCESSING"
        else ReturnInfo(),
        reason="QUALITY_ISSUE",
        reason_text="质量问题",
    )


async def saved(runtime) -> list[AfterSale]:
    async with runtime.db.session() as session:
        return list(await session.scalars(sa.select(AfterSale)))


async def test_aftersale_is_saved_with_buyer_and_merchant_deadline(runtime, make_store) -> None:
    store = await make_store()
    fetched_at = utcnow()
    async with runtime.db.engine.begin() as conn:
        assert await save_aftersale(conn, store.id, channels_aftersale(), fetched_at) is not None
    [aftersale] = await saved(runtime)
    assert (aftersale.type, aftersale.status, aftersale.refund_amount, aftersale.sku_id) == (
        "RETURN",
        "MERCHANT_PROCESSING",
        35900,
        "s1",
    )
    assert aftersale.merchant_deadline == fetched_at + dt.timedelta(days=1)
    assert (aftersale.description, aftersale.reason_text, aftersale.receive_product) == (
        "拉链坏了",
        "质量问题",
        True,
    )
    async with runtime.db.session() as session:
        buyer = await session.get_one(Buyer, aftersale.buyer_id)
    assert buyer.openid == "o_buyer"


async def test_out_of_order_answers_leave_the_newest_state(runtime, make_store) -> None:
    store = await make_store()
    newer = channels_aftersale(status="MERCHANT_WAIT_RECEIPT", update_time=T0 + 900)
    older = channels_aftersale(status="MERCHANT_PROCESSING", update_time=T0 + 60)
    async with runtime.db.engine.begin() as conn:
        await save_aftersale(conn, store.id, newer, utcnow())
        assert await save_aftersale(conn, store.id, older, utcnow()) is None
        await save_aftersale(conn, store.id, newer, utcnow())  # redelivered: no change, no error
    [aftersale] = await saved(runtime)
    assert aftersale.status == "MERCHANT_WAIT_RECEIPT"
    assert aftersale.return_waybill_id == "YT1"
    assert aftersale.merchant_deadline is None
