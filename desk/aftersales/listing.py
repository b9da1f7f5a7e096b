"""The after-sales list: requests across a user's stores, the platform's deadline soonest first.

This is the work list for after-sales that do not start from a chat. The platform closes a
request in the buyer's favour when the merchant's time runs out (``merchant_deadline``), so the
nearest deadline comes first and requests without one (nothing for the merchant to do) come last.
"""

from __future__ import annotations

import datetime as dt

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.models import User
from desk.accounts.scoping import scoped
from desk.aftersales.models import AfterSale
from desk.aftersales.status import ACTIONS_BY_STATUS, AFTERSALE_STATUS_TONES
from desk.errors import Invalid
from desk.i18n import Message as Text
from desk.orders.models import Order, OrderLine
from desk.paging import Page, page_of, paged
from desk.stores.models import Store

__all__ = [
    "ACTIONABLE",
    "AfterSaleFilter",
    "AfterSaleListRow",
    "OrderAfterSale",
    "aftersales_of_order",
    "find_aftersales",
    "parse_status",
]

ACTIONABLE = "actionable"
"""The status filter for every request waiting for the merchant (review or receipt)."""


def parse_status(value: str) -> str | Invalid:
    """A status filter: a platform status, :data:`ACTIONABLE`, or empty for every status."""
    value = value.strip()
    if value and value != ACTIONABLE and value not in AFTERSALE_STATUS_TONES:
        return Invalid({"status": Text("aftersales.list.error.status", {"status": value[:48]})})
    return value


class AfterSaleFilter(msgspec.Struct, frozen=True, kw_only=True):
    store_id: int | None = None
    status: str = ""
    """A platform status, :data:`ACTIONABLE` or empty (all)."""
    deadline_before: dt.datetime | None = None
    """Only requests whose merchant deadline runs out before this instant."""


class AfterSaleListRow(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    after_sale_order_id: str
    order_id: str
    store_id: int
    store_name: str
    type: str
    status: str
    title: str
    """The product's title, from the order line of the request's SKU (empty if not synced)."""
    sku_id: str
    count: int
    refund_amount: int
    """Fen."""
    reason: str
    merchant_deadline: dt.datetime | None
    create_time: dt.datetime


async def find_aftersales(
    session: AsyncSession, user: User, aftersale_filter: AfterSaleFilter, *, page: int, limit: int
) -> Page[AfterSaleListRow]:
    """After-sales in ``user``'s stores matching the filter: the nearest merchant deadline first,
    those without a deadline last (newest first among them)."""
    title = (
        sa.select(OrderLine.title)
        .join(Order, Order.id == OrderLine.order_pk)
        .where(
            Order.store_id == AfterSale.store_id,
            Order.order_id == AfterSale.order_id,
            OrderLine.sku_id == AfterSale.sku_id,
        )
        .order_by(OrderLine.position)
        .limit(1)
        .correlate(AfterSale)
        .scalar_subquery()
    )
    stmt = scoped(
        sa.select(
            AfterSale.id,
            AfterSale.after_sale_order_id,
            AfterSale.order_id,
            AfterSale.store_id,
            Store.name.label("store_name"),
            AfterSale.type,
            AfterSale.status,
            title.label("title"),
            AfterSale.sku_id,
            AfterSale.count,
            AfterSale.refund_amount,
            AfterSale.reason,
            AfterSale.reason_text,
            AfterSale.merchant_deadline,
            AfterSale.create_time,
        ).join(Store, Store.id == AfterSale.store_id),
        AfterSale.store_id,
        user,
    )
    if aftersale_filter.store_id is not None:
        stmt = stmt.where(AfterSale.store_id == aftersale_filter.store_id)
    if aftersale_filter.status == ACTIONABLE:
        stmt = stmt.where(AfterSale.status.in_(sorted(ACTIONS_BY_STATUS)))
    elif aftersale_filter.status:
        stmt = stmt.where(AfterSale.status == aftersale_filter.status)
    if aftersale_filter.deadline_before is not None:
        stmt = stmt.where(AfterSale.merchant_deadline < aftersale_filter.deadline_before)
    stmt = stmt.order_by(
        AfterSale.merchant_deadline.is_(None),  # no deadline (nothing to do) last, on every database
        AfterSale.merchant_deadline,
        AfterSale.create_time.desc(),
        AfterSale.id.desc(),
    )
    rows, has_more = page_of(list(await session.execute(paged(stmt, page, limit))), page, limit)
    return Page(
        rows=[
            AfterSaleListRow(
                id=row.id,
                after_sale_order_id=row.after_sale_order_id,
                order_id=row.order_id,
                store_id=row.store_id,
                store_name=row.store_name,
                type=row.type,
                status=row.status,
                title=row.title or "",
                sku_id=row.sku_id,
                count=row.count,
                refund_amount=row.refund_amount,
                reason=row.reason_text or row.reason,
                merchant_deadline=row.merchant_deadline,
                create_time=row.create_time,
            )
            for row in rows
        ],
        page=page,
        limit=limit,
        has_more=has_more,
    )


class OrderAfterSale(msgspec.Struct, frozen=True, kw_only=True):
    """An after-sale as its order's page shows it."""

    after_sale_order_id: str
    type: str
    status: str
    product_id: str
    sku_id: str
    count: int
    refund_amount: int
    """Fen."""
    reason: str
    description: str
    merchant_deadline: dt.datetime | None
    return_waybill_id: str
    return_delivery_name: str
    create_time: dt.datetime


async def aftersales_of_order(session: AsyncSession, store_id: int, order_id: str) -> list[OrderAfterSale]:
    """The after-sales of one order (the caller has checked the user may see it), newest first."""
    rows = await session.execute(
        sa.select(AfterSale)
        .where(AfterSale.store_id == store_id, AfterSale.order_id == order_id)
        .order_by(AfterSale.create_time.desc(), AfterSale.id.desc())
    )
    return [
        OrderAfterSale(
            after_sale_order_id=a.after_sale_order_id,
            type=a.type,
            status=a.status,
            product_id=a.product_id,
            sku_id=a.sku_id,
            count=a.count,
            refund_amount=a.refund_amount,
            reason=a.reason_text or a.reason,
            description=a.description,
            merchant_deadline=a.merchant_deadline,
            return_waybill_id=a.return_waybill_id,
            return_delivery_name=a.return_delivery_name,
            create_time=a.create_time,
        )
        for a in rows.scalars()
    ]
