"""The sidebar's search box: an order by its id (or the start of it), or by the phone's last 4."""

from __future__ import annotations

import msgspec
import sqlalchemy as sa

from desk.accounts.models import User
from desk.db import Work
from desk.errors import Invalid
from desk.i18n import Message as Text
from desk.orders.models import Order
from desk.sidebar.order_cards import OrderView, order_views

__all__ = ["FOUND_MAX", "FindQuery", "Found", "find_orders", "parse_query"]

FOUND_MAX = 20
_order = Order.__table__


class Found(msgspec.Struct, frozen=True, kw_only=True):
    query: str
    by_phone: bool
    orders: list[OrderView]


class FindQuery(msgspec.Struct, frozen=True, kw_only=True):
    digits: str
    by_phone: bool
    """Four digits: a phone's last four; otherwise an order id or its first digits."""


def parse_query(query: str) -> FindQuery | Invalid:
    """What the agent typed in the box: 4 digits (phone last 4) or 6-32 digits (an order id or
    its start); spaces are ignored (ids are often pasted in groups). Anything else is refused."""
    digits = "".join(query.split())
    if not (digits.isascii() and digits.isdigit()) or not (len(digits) == 4 or 6 <= len(digits) <= 32):
        return Invalid({"q": Text("sidebar.error.find_query")})
    return FindQuery(digits=digits, by_phone=len(digits) == 4)


async def find_orders(work: Work, user: User, query: str) -> Found | Invalid:
    """Orders in ``user``'s stores matching the box's query (:func:`parse_query`). Phones are
    stored masked with their last four visible, so a phone's last four is a suffix match."""
    parsed = parse_query(query)
    if isinstance(parsed, Invalid):
        return parsed
    where: sa.ColumnElement[bool]
    if parsed.by_phone:
        where = _order.c.receiver_tel_masked.like(f"%{parsed.digits}")
    else:
        where = sa.or_(_order.c.order_id == parsed.digits, _order.c.order_id.like(f"{parsed.digits}%"))
    orders = await order_views(work, user, where, limit=FOUND_MAX)
    return Found(query=parsed.digits, by_phone=parsed.by_phone, orders=orders)
