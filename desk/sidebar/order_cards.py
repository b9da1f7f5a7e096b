"""Orders as the sidebar shows them: status in words, items, masked address, parcels, the pending
address change, and the latest action on each."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import msgspec
import sqlalchemy as sa

from desk.accounts.models import User
from desk.accounts.scoping import scoped
from desk.db import Work
from desk.i18n import Message
from desk.orders.models import Order, OrderLine
from desk.orders.privacy import masked_phone
from desk.orders.status import ORDER_STATUS_TONES, SHIPPED_STATUSES, order_status_label
from desk.sidebar.commands_shown import CommandView, command_views
from desk.stores.models import Store
from desk.tone import Tone

__all__ = ["MAX_ORDERS", "DeliveryView", "ItemView", "OrderView", "order_views"]

MAX_ORDERS = 50
"""Orders (and after-sales) shown at most: a buyer's latest; older ones are in the store backend."""

_order = Order.__table__
_line = OrderLine.__table__


class ItemView(msgspec.Struct, frozen=True, kw_only=True):
    title: str
    sku_id: str
    count: int
    price: int
    """Fen, per item as sold (``sale_price``)."""


class DeliveryView(msgspec.Struct, frozen=True, kw_only=True):
    courier: str
    waybill_id: str


class OrderView(msgspec.Struct, frozen=True, kw_only=True):
    store_id: int
    store_name: str
    order_id: str
    status: int
    status_label: Message
    tone: Tone
    items: list[ItemView]
    paid: int
    """What the buyer paid, in fen (``order_price``)."""
    receiver: str
    phone: str
    """Masked (``183****2807``)."""
    address: str
    """Region and the masked street, as the platform sent them."""
    deliveries: list[DeliveryView]
    merchant_notes: str
    address_change: str
    """The new address the buyer asked for (masked), or empty when none waits for an answer."""
    interceptable: bool
    """Shipped: a refund of it means stopping the parcel (拦截)."""
    created_at: dt.datetime
    command: CommandView | None = None


def _address_change_text(change: dict[str, Any] | None) -> str:
    if not change:
        return ""
    phone = masked_phone(str(change.get("tel_number") or ""))
    parts = [
        str(change.get("user_name") or ""),
        phone,
        str(change.get("region") or ""),
        str(change.get("detail") or ""),
    ]
    return " ".join(part for part in parts if part) or str(change)


def _deliveries(raw: list[Any]) -> list[DeliveryView]:
    out = []
    for delivery in raw or []:
        if isinstance(delivery, dict) and delivery.get("waybill_id"):
            courier = str(delivery.get("delivery_name") or delivery.get("delivery_id") or "")
            out.append(DeliveryView(courier=courier, waybill_id=str(delivery["waybill_id"])))
    return out


async def order_views(work: Work, user: User, where: Any, *, limit: int = MAX_ORDERS) -> list[OrderView]:
    """Orders matching ``where`` in ``user``'s stores, newest first, with lines and latest action."""
    top = (
        scoped(
            sa.select(_order, Store.name.label("store_name"))
            .join(Store, Store.id == _order.c.store_id)
            .where(where)
            .order_by(_order.c.create_time.desc(), _order.c.id.desc())
            .limit(limit),
            _order.c.store_id,
            user,
        )
    ).subquery("top")
    rows = list(
        await work.execute(
            sa.select(
                top,
                _line.c.title,
                _line.c.sku_id,
                _line.c.sku_cnt,
                _line.c.sale_price,
            )
            .outerjoin(_line, _line.c.order_pk == top.c.id)
            .order_by(top.c.create_time.desc(), top.c.id.desc(), _line.c.position)
        )
    )
    commands = await command_views(work, [(r.store_id, f"order:{r.order_id}") for r in rows])
    views = []
    for _, group in itertools.groupby(rows, key=lambda r: r.id):
        lines = list(group)
        o = lines[0]
        views.append(
            OrderView(
                store_id=o.store_id,
                store_name=o.store_name,
                order_id=o.order_id,
                status=o.status,
                status_label=order_status_label(o.status),
                tone=ORDER_STATUS_TONES.get(o.status, Tone.WAITING),
                items=[
                    ItemView(title=li.title, sku_id=li.sku_id, count=li.sku_cnt, price=li.sale_price)
                    for li in lines
                    if li.sku_id is not None
                ],
                paid=o.order_price,
                receiver=o.receiver_name,
                phone=masked_phone(o.receiver_tel_masked),
                address=" ".join(p for p in (o.province, o.city, o.county, o.address_detail_masked) if p),
                deliveries=_deliveries(o.deliveries),
                merchant_notes=o.merchant_notes,
                address_change=_address_change_text(o.address_change),
                interceptable=o.status in SHIPPED_STATUSES,
                created_at=o.create_time,
                command=commands.get(f"order:{o.order_id}"),
            )
        )
    return views
