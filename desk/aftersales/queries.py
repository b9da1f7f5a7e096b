"""The latest after-sale requests of a user's stores, as the store page's panel lists them."""

from __future__ import annotations

import datetime as dt

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.models import User
from desk.aftersales.models import AfterSale
from desk.aftersales.status import AFTERSALE_STATUS_TONES, aftersale_status_label, aftersale_type_label
from desk.i18n import Message
from desk.panels import LIMIT, Panel, in_scope, total_in_scope, total_of
from desk.tone import Tone

__all__ = ["AfterSaleRow", "latest_aftersales"]


class AfterSaleRow(msgspec.Struct, frozen=True, kw_only=True):
    """An after-sale request as the store page lists it."""

    id: int
    after_sale_order_id: str
    order_id: str
    type: str
    type_label: Message
    status: str
    status_label: Message
    tone: Tone
    reason: str
    refund_amount: int
    """In fen."""
    created_at: dt.datetime


async def latest_aftersales(
    session: AsyncSession, user: User, *, store_id: int | None = None, limit: int = LIMIT
) -> Panel[AfterSaleRow]:
    """The most recently requested after-sales in ``user``'s stores (or one of them), newest
    first. The reason is the platform's ``reason_text`` (newer reason codes are opaque), falling
    back to the legacy ``reason`` code when the text is missing."""
    stmt = (
        in_scope(
            sa.select(
                AfterSale.id,
                AfterSale.after_sale_order_id,
                AfterSale.order_id,
                AfterSale.type,
                AfterSale.status,
                AfterSale.reason,
                AfterSale.reason_text,
                AfterSale.refund_amount,
                AfterSale.create_time,
                total_in_scope(AfterSale, AfterSale.store_id, user, store_id).label("total"),
            ),
            AfterSale.store_id,
            user,
            store_id,
        )
        .order_by(AfterSale.create_time.desc(), AfterSale.id.desc())
        .limit(limit)
    )
    rows = list(await session.execute(stmt))
    result = [
        AfterSaleRow(
            id=a.id,
            after_sale_order_id=a.after_sale_order_id,
            order_id=a.order_id,
            type=a.type,
            type_label=aftersale_type_label(a.type),
            status=a.status,
            status_label=aftersale_status_label(a.status),
            tone=AFTERSALE_STATUS_TONES.get(a.status, Tone.WAITING),
            reason=a.reason_text or a.reason,
            refund_amount=a.refund_amount,
            created_at=a.create_time,
        )
        for a in rows
    ]
    return Panel(rows=result, total=total_of(rows))
