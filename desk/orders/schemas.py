"""What the JSON API says about orders and buyers (``/api/v1/orders``).

Ids are strings (platform ids have 19 digits, more than a JavaScript number holds); money is
integer fen; times are ISO 8601 in UTC. Address fields are as masked as the platform sent them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from desk.orders.models import Buyer, Order, OrderLine

__all__ = ["BuyerOut", "OrderLineOut", "OrderOut"]


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
