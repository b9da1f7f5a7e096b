"""What the JSON API says about orders and buyers (``/api/v1/orders``).

Ids are strings (platform ids have 19 digits, more than a JavaScript number holds); money is
integer fen; times are ISO 8601 in UTC. Address fields are as masked as the platform sent them.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec

from desk.commands.schemas import RequestId
from desk.orders.actions import MAX_NOTE_LENGTH
from desk.orders.buyers import BuyerOrder
from desk.orders.models import Buyer, Order, OrderLine
from desk.orders.search import OrderSummary

__all__ = [
    "AddressChangeAnswerIn",
    "BuyerOrderOut",
    "BuyerOut",
    "MerchantNoteIn",
    "OrderLineOut",
    "OrderLineSummaryOut",
    "OrderOut",
    "OrderPageOut",
    "OrderSummaryOut",
]


class BuyerOut(msgspec.Struct, kw_only=True):
    id: str
    openid: str
    unionid: str | None

    @classmethod
    def of(cls, buyer: Buyer) -> BuyerOut:
        return cls(id=str(buyer.id), openid=buyer.openid, unionid=buyer.unionid)


class OrderLineOut(msgspec.Struct, kw_only=True):
    product_id: str
    sku_id: str
    title: str
    thumb_img: str
    sku_cnt: int
    sale_price: int
    """Unit list price, fen."""
    real_price: int
    """What the buyer paid for the line, fen."""
    on_aftersale_sku_cnt: int
    finish_aftersale_sku_cnt: int

    @classmethod
    def of(cls, line: OrderLine) -> OrderLineOut:
        return cls(
            product_id=line.product_id,
            sku_id=line.sku_id,
            title=line.title,
            thumb_img=line.thumb_img,
            sku_cnt=line.sku_cnt,
            sale_price=line.sale_price,
            real_price=line.real_price,
            on_aftersale_sku_cnt=line.on_aftersale_sku_cnt,
            finish_aftersale_sku_cnt=line.finish_aftersale_sku_cnt,
        )


class OrderOut(msgspec.Struct, kw_only=True):
    """An order as last read from the platform, with its lines and buyer."""

    order_id: str
    store_id: str
    status: int
    """10 unpaid, 20 to ship, 21 partly shipped, 30 shipped, 100 completed, 200/250 cancelled…"""
    create_time: dt.datetime
    update_time: dt.datetime
    pay_time: dt.datetime | None
    product_price: int
    order_price: int
    freight: int
    discounted_price: int
    receiver_name: str
    receiver_tel_masked: str
    province: str
    city: str
    county: str
    address_detail_masked: str
    uses_virtual_number: bool
    deliveries: list[dict[str, Any]]
    customer_notes: str
    merchant_notes: str
    open_aftersale_count: int
    fetched_at: dt.datetime
    """When desk last read the order from the platform."""
    lines: list[OrderLineOut]
    buyer: BuyerOut | None

    @classmethod
    def of(cls, order: Order, buyer: Buyer | None) -> OrderOut:
        return cls(
            order_id=order.order_id,
            store_id=str(order.store_id),
            status=order.status,
            create_time=order.create_time,
            update_time=order.update_time,
            pay_time=order.pay_time,
            product_price=order.product_price,
            order_price=order.order_price,
            freight=order.freight,
            discounted_price=order.discounted_price,
            receiver_name=order.receiver_name,
            receiver_tel_masked=order.receiver_tel_masked,
            province=order.province,
            city=order.city,
            county=order.county,
            address_detail_masked=order.address_detail_masked,
            uses_virtual_number=order.uses_virtual_number,
            deliveries=order.deliveries,
            customer_notes=order.customer_notes,
            merchant_notes=order.merchant_notes,
            open_aftersale_count=order.open_aftersale_count,
            fetched_at=order.fetched_at,
            lines=[OrderLineOut.of(line) for line in order.lines],
            buyer=BuyerOut.of(buyer) if buyer else None,
        )


class OrderLineSummaryOut(msgspec.Struct, kw_only=True):
    title: str
    sku_id: str
    count: int
    real_price: int
    """What the buyer paid for the line, fen."""


class OrderSummaryOut(msgspec.Struct, kw_only=True):
    """An order as a search lists it; receiver name and phone masked."""

    order_id: str
    store_id: str
    store_name: str
    buyer_id: str | None
    status: int
    create_time: dt.datetime
    order_price: int
    receiver_name: str
    receiver_phone: str
    region: str
    open_aftersale_count: int
    lines: list[OrderLineSummaryOut]

    @classmethod
    def of(cls, order: OrderSummary) -> OrderSummaryOut:
        return cls(
            order_id=order.order_id,
            store_id=str(order.store_id),
            store_name=order.store_name,
            buyer_id=str(order.buyer_id) if order.buyer_id is not None else None,
            status=order.status,
            create_time=order.create_time,
            order_price=order.order_price,
            receiver_name=order.receiver_name,
            receiver_phone=order.receiver_phone,
            region=order.region,
            open_aftersale_count=order.open_aftersale_count,
            lines=[
                OrderLineSummaryOut(
                    title=line.title, sku_id=line.sku_id, count=line.count, real_price=line.real_price
                )
                for line in order.lines
            ],
        )


class OrderPageOut(msgspec.Struct, kw_only=True):
    items: list[OrderSummaryOut]
    page: int
    limit: int
    next_page: int | None
    """The `page` to ask for next; null on the last page."""


class BuyerOrderOut(msgspec.Struct, kw_only=True):
    """One order of a buyer (or of the same person in another of your stores)."""

    order_id: str
    store_id: str
    store_name: str
    buyer_id: str | None
    status: int
    create_time: dt.datetime
    order_price: int
    """Fen."""

    @classmethod
    def of(cls, order: BuyerOrder) -> BuyerOrderOut:
        return cls(
            order_id=order.order_id,
            store_id=str(order.store_id),
            store_name=order.store_name,
            buyer_id=str(order.buyer_id) if order.buyer_id is not None else None,
            status=order.status,
            create_time=order.create_time,
            order_price=order.order_price,
        )


class AddressChangeAnswerIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    request_id: RequestId = ""
    why: Annotated[str, msgspec.Meta(max_length=255, description="Your reason, for the audit trail.")] = ""


class MerchantNoteIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    request_id: RequestId = ""
    note: Annotated[
        str, msgspec.Meta(description=f"At most {MAX_NOTE_LENGTH} characters; empty clears the note.")
    ]
