"""Finding orders for work that does not start from a chat: by store, status, order id or phone.

Agents look an order up by what the buyer tells them: the order id (19 digits, quoted from the
order page) or the last four digits of the receiver's phone — the only digits the platform leaves
unmasked (``183****2807``). Anything else in the search box is refused with a message rather
than silently matching nothing.
"""

from __future__ import annotations

import datetime as dt
import itertools

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.models import User
from desk.accounts.scoping import scoped
from desk.errors import Invalid
from desk.i18n import Message as Text
from desk.orders.models import Order, OrderLine
from desk.orders.privacy import masked_phone
from desk.paging import Page, page_of, paged
from desk.stores.models import Store

__all__ = [
    "OrderFilter",
    "OrderLineSummary",
    "OrderQuery",
    "OrderSummary",
    "find_orders",
    "parse_order_query",
]

PHONE_TAIL_DIGITS = 4
MAX_ORDER_ID_LENGTH = 32


class OrderQuery(msgspec.Struct, frozen=True, kw_only=True):
    """What the search box asked for: an order id, or a phone's last four digits."""

    order_id: str = ""
    phone_tail: str = ""


def parse_order_query(q: str) -> OrderQuery | Invalid:
    """``q`` as an order id or phone tail; empty means no search. Refuses anything that is neither."""
    q = q.strip()
    if not q:
        return OrderQuery()
    if not (q.isascii() and q.isdigit()) or len(q) > MAX_ORDER_ID_LENGTH:
        return Invalid({"q": Text("orders.search.error.query")})
    if len(q) == PHONE_TAIL_DIGITS:
        return OrderQuery(phone_tail=q)
    return OrderQuery(order_id=q)


class OrderFilter(msgspec.Struct, frozen=True, kw_only=True):
    store_id: int | None = None
    status: int | None = None
    query: OrderQuery = OrderQuery()


class OrderLineSummary(msgspec.Struct, frozen=True, kw_only=True):
    title: str
    sku_id: str
    count: int
    real_price: int
    """Fen."""


class OrderSummary(msgspec.Struct, frozen=True, kw_only=True):
    """An order as a search result lists it; receiver name and phone masked."""

    id: int
    order_id: str
    store_id: int
    store_name: str
    buyer_id: int | None
    status: int
    create_time: dt.datetime
    order_price: int
    """What the buyer pays, fen."""
    receiver_name: str
    receiver_phone: str
    region: str
    open_aftersale_count: int
    lines: list[OrderLineSummary]


async def find_orders(
    session: AsyncSession, user: User, order_filter: OrderFilter, *, page: int, limit: int
) -> Page[OrderSummary]:
    """Orders in ``user``'s stores matching ``order_filter``, newest first, one page of them."""
    stmt = scoped(
        sa.select(
            Order.id,
            Order.order_id,
            Order.store_id,
            Store.name.label("store_name"),
            Order.buyer_id,
            Order.status,
            Order.create_time,
            Order.order_price,
            Order.receiver_name,
            Order.receiver_tel_masked,
            Order.province,
            Order.city,
            Order.open_aftersale_count,
        ).join(Store, Store.id == Order.store_id),
        Order.store_id,
        user,
    )
    if order_filter.store_id is not None:
        stmt = stmt.where(Order.store_id == order_filter.store_id)
    if order_filter.status is not None:
        stmt = stmt.where(Order.status == order_filter.status)
    query = order_filter.query
    if query.order_id:
        stmt = stmt.where(Order.order_id == query.order_id)
    if query.phone_tail:
        stmt = stmt.where(Order.receiver_tel_masked.endswith(query.phone_tail, autoescape=True))
    stmt = stmt.order_by(Order.create_time.desc(), Order.id.desc())
    rows, has_more = page_of(list(await session.execute(paged(stmt, page, limit))), page, limit)
    lines = await _lines_of(session, [row.id for row in rows])
    return Page(
        rows=[
            OrderSummary(
                id=row.id,
                order_id=row.order_id,
                store_id=row.store_id,
                store_name=row.store_name,
                buyer_id=row.buyer_id,
                status=row.status,
                create_time=row.create_time,
                order_price=row.order_price,
                receiver_name=row.receiver_name,
                receiver_phone=masked_phone(row.receiver_tel_masked),
                region=" ".join(part for part in (row.province, row.city) if part),
                open_aftersale_count=row.open_aftersale_count,
                lines=lines.get(row.id, []),
            )
            for row in rows
        ],
        page=page,
        limit=limit,
        has_more=has_more,
    )


async def _lines_of(session: AsyncSession, order_pks: list[int]) -> dict[int, list[OrderLineSummary]]:
    if not order_pks:
        return {}
    stmt = (
        sa.select(
            OrderLine.order_pk, OrderLine.title, OrderLine.sku_id, OrderLine.sku_cnt, OrderLine.real_price
        )
        .where(OrderLine.order_pk.in_(order_pks))
        .order_by(OrderLine.order_pk, OrderLine.position)
    )
    return {
        order_pk: [
            OrderLineSummary(
                title=line.title, sku_id=line.sku_id, count=line.sku_cnt, real_price=line.real_price
            )
            for line in group
        ]
        for order_pk, group in itertools.groupby(await session.execute(stmt), key=lambda r: r.order_pk)
    }
