"""What the JSON API says about after-sales (``/api/v1/aftersales``): ids as strings, fen, UTC."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from desk.aftersales.listing import AfterSaleListRow
from desk.aftersales.models import AfterSale
from desk.commands.schemas import RequestId
from desk.orders.models import Buyer
from desk.orders.schemas import BuyerOut

__all__ = [
    "AfterSaleListItemOut",
    "AfterSaleOut",
    "AfterSalePageOut",
    "ApproveIn",
    "ConfirmReceiptIn",
    "InterceptIn",
    "NegotiateIn",
    "RejectIn",
]


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


class AfterSaleListItemOut(msgspec.Struct, kw_only=True):
    """An after-sale as the list shows it."""

    after_sale_order_id: str
    order_id: str
    store_id: str
    store_name: str
    type: str
    status: str
    title: str
    """The product's title (from the order's line of this SKU)."""
    sku_id: str
    count: int
    refund_amount: int
    """Fen."""
    reason: str
    merchant_deadline: dt.datetime | None
    """When the merchant's time to act runs out; null when nothing waits for the merchant."""
    create_time: dt.datetime

    @classmethod
    def of(cls, row: AfterSaleListRow) -> AfterSaleListItemOut:
        return cls(
            after_sale_order_id=row.after_sale_order_id,
            order_id=row.order_id,
            store_id=str(row.store_id),
            store_name=row.store_name,
            type=row.type,
            status=row.status,
            title=row.title,
            sku_id=row.sku_id,
            count=row.count,
            refund_amount=row.refund_amount,
            reason=row.reason,
            merchant_deadline=row.merchant_deadline,
            create_time=row.create_time,
        )


class AfterSalePageOut(msgspec.Struct, kw_only=True):
    items: list[AfterSaleListItemOut]
    page: int
    limit: int
    next_page: int | None
    """The `page` to ask for next; null on the last page."""


Why = Annotated[str, msgspec.Meta(max_length=255, description="Your reason, for the audit trail.")]


class ApproveIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Approve: a refund-only request is refunded; a return is agreed (the buyer ships it back)."""

    request_id: RequestId = ""
    address_id: Annotated[
        str,
        msgspec.Meta(
            max_length=32,
            description="A return's address (`merchant/address` id). Empty: the one bound to the "
            "SKU, else the product, else the store default (一货一址).",
        ),
    ] = ""
    why: Why = ""


class ConfirmReceiptIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The returned goods arrived: refund."""

    request_id: RequestId = ""
    why: Why = ""


class RejectIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    request_id: RequestId = ""
    reject_reason_type: Annotated[
        int | None, msgspec.Meta(description="One of the platform's reject reasons (required).")
    ] = None
    reject_reason: Annotated[str, msgspec.Meta(max_length=200, description="Words for the buyer.")] = ""
    why: Why = ""


class NegotiateIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """协商: invite the buyer to cancel (1), ask for evidence (2) or change the request (3)."""

    request_id: RequestId = ""
    merchant_update_type: Literal[1, 2, 3] | None = None
    update_reason_type: int | None = None
    merchant_update_desc: Annotated[str, msgspec.Meta(max_length=200)] = ""
    negotiate_type: Annotated[
        Literal[1, 2] | None, msgspec.Meta(description="For type 3: 1 refund only, 2 return and refund.")
    ] = None
    amount: Annotated[int, msgspec.Meta(ge=0, description="For type 3: the refund, fen.")] | None = None
    why: Why = ""


class InterceptIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Stop the shipped parcel of a refund-only request (the courier hook is called)."""

    request_id: RequestId = ""
    reason: Annotated[str, msgspec.Meta(max_length=255)] = ""
