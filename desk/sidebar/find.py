"""The sidebar's search box: an order by its id (or the start of it), or by the phone's last 4."""

from __future__ import annotations

import msgspec
import sqlalchemy as sa

from desk.accounts.models import User
from desk.db import Work
from desk.errors import Invalid
from desk.i18n import Message as Text
from desk.orders.models import Order
from desk.sidebar.view import OrderView, order_views

__all__ = ["FOUND_MAX", "Found", "find_orders"]

FOUND_MAX = 20
_order = Order.__table__


class Found(msgspec.Struct, frozen=True, kw_only=True):
    query: str
    by_phone: bool
    orders: list[OrderView]


async def find_orders(work: Work, user: User, query: str) -> Found | Invalid:
    """Orders in ``user``'s stores: four digits are a phone's last four (phones are stored masked,
    their last four visible), more are an order id or its first digits (at least 6)."""
    query = query.strip().replace(" ", "")
    if not (query.isascii() and query.isdigit()) or len(query) > 32 or 4 < len(query) < 6 or len(query) < 4:
        return Invalid({"q": Text("sidebar.error.find_query")})
    where: sa.ColumnElement[bool]
    if len(query) == 4:
        where = _order.c.receiver_tel_masked.like(f"%{query}")
    else:
        where = sa.or_(_order.c.order_id == query, _order.c.order_id.like(f"{query}%"))
    orders = await order_views(work, user, where, limit=FOUND_MAX)
    return Found(query=query, by_phone=len(query) == 4, orders=orders)
