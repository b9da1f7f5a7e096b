"""What the JSON API says about after-sales (``/api/v1/aftersales``): ids as strings, fen, UTC."""

from __future__ import annotations

import datetime as dt

import msgspec

from desk.aftersales.models import AfterSale
from desk.orders.models import Buyer
from desk.orders.schemas import BuyerOut

__all__ = ["AfterSaleOut"]


class AfterSaleOut(msgspec.Struct, kw_only=True):
    """An after-sale request as last read from the platform."""

    after_sale_order_id: str
    order_id: str
    store_id: str
    type: str
    """``REFUND`` (refund only), ``RETURN`` (return and refund), ``EXCHANGE``."""
    status: str
    product_id: str
    sku_id: str
    count: int
    refund_amount: int
    """Fen."""
    refund_reason: int
    reason: str
    reason_text: str
    description: str
    receive_product: bool
    return_waybill_id: str
    return_delivery_id: str
    return_delivery_name: str
    merchant_deadline: dt.datetime | None
    create_time: dt.datetime
    update_time: dt.datetime
    fetched_at: dt.datetime
    buyer: BuyerOut | None

    @classmethod
    def of(cls, aftersale: AfterSale, buyer: Buyer | None) -> AfterSaleOut:
        return cls(
            after_sale_order_id=aftersale.after_sale_order_id,
            order_id=aftersale.order_id,
            store_id=str(aftersale.store_id),
            type=aftersale.type,
            status=aftersale.status,
            product_id=aftersale.product_id,
            sku_id=aftersale.sku_id,
            count=aftersale.count,
            refund_amount=aftersale.refund_amount,
            refund_reason=aftersale.refund_reason,
            reason=aftersale.reason,
            reason_text=aftersale.reason_text,
            description=aftersale.description,
            receive_product=aftersale.receive_product,
            return_waybill_id=aftersale.return_waybill_id,
            return_delivery_id=aftersale.return_delivery_id,
            return_delivery_name=aftersale.return_delivery_name,
            merchant_deadline=aftersale.merchant_deadline,
            create_time=aftersale.create_time,
            update_time=aftersale.update_time,
            fetched_at=aftersale.fetched_at,
            buyer=BuyerOut.of(buyer) if buyer else None,
        )
