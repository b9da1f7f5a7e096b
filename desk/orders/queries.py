"""The latest orders of a user's stores, as the store page's panel lists them."""

from __future__ import annotations

import datetime as dt
import itertools

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.models import User
from desk.i18n import Message
from desk.orders.models import Order, OrderLine
from desk.orders.privacy import masked_phone
from desk.orders.status import ORDER_STATUS_TONES, order_status_label
from desk.panels import LIMIT, Panel, in_scope, total_in_scope, total_of
from desk.tone import Tone

__all__ = ["OrderItem", "OrderRow", "latest_orders"]


class OrderItem(msgspec.Struct, frozen=True):
    """One SKU line of an order: its title and how many were bought."""

    title: str
    count: int


class OrderRow(msgspec.Struct, frozen=True, kw_only=True):
    """An order as the store page lists it. Receiver name and phone are the platform's masked ones."""

    id: int
    order_id: str
    status: int
    status_label: Message
    tone: Tone
    amount: int
    """What the buyer pays, in fen (``order_price``)."""
    items: list[OrderItem]
    receiver_name: str
    receiver_phone: str
    region: str
    created_at: dt.datetime


async def latest_orders(
    session: AsyncSession, user: User, *, store_id: int | None = None, limit: int = LIMIT
) -> Panel[OrderRow]:
    """The most recently placed orders in ``user``'s stores (or one of them), newest first, with
    their SKU lines. Receiver name and phone stay as masked as the platform sent them."""
    top = (
        in_scope(
            sa.select(
                Order.id,
                Order.order_id,
                Order.status,
                Order.create_time,
                Order.order_price,
                Order.receiver_name,
                Order.receiver_tel_masked,
                Order.province,
                Order.city,
                total_in_scope(Order, Order.store_id, user, store_id).label("total"),
            ),
            Order.store_id,
            user,
            store_id,
        )
        .order_by(Order.create_time.desc(), Order.id.desc())
        .limit(limit)
        .subquery("top")
    )
    # One row per order line (or one for an order without lines), grouped back into orders below.
    stmt = (
        sa.select(top, OrderLine.title, OrderLine.sku_cnt)
        .outerjoin(OrderLine, OrderLine.order_pk == top.c.id)
        .order_by(top.c.create_time.desc(), top.c.id.desc(), OrderLine.position)
    )
    rows = list(await session.execute(stmt))
    result = []
    for _, group in itertools.groupby(rows, key=lambda r: r.id):
        lines = list(group)
        order = lines[0]
        result.append(
            OrderRow(
                id=order.id,
                order_id=order.order_id,
                status=order.status,
                status_label=order_status_label(order.status),
                tone=ORDER_STATUS_TONES.get(order.status, Tone.WAITING),
                amount=order.order_price,
                items=[OrderItem(line.title, line.sku_cnt) for line in lines if line.title is not None],
                receiver_name=order.receiver_name,
                receiver_phone=masked_phone(order.receiver_tel_masked),
                region=" ".join(part for part in (order.province, order.city) if part),
                created_at=order.create_time,
            )
        )
    return Panel(rows=result, total=total_of(rows))
