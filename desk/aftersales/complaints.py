"""纠纷/投诉: the open complaints of a user's stores, the platform's deadline soonest first.

Complaints weigh on the store score (the merchant-fault dispute rate, spec §9), and one left
unanswered past its deadline is decided without the merchant: the list puts the most urgent first.
"""

from __future__ import annotations

import datetime as dt

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.models import User, store_entity
from desk.accounts.scoping import scoped
from desk.aftersales.models import AfterSale, Complaint
from desk.aftersales.status import aftersale_status_label, aftersale_type_label
from desk.db import utcnow
from desk.i18n import Message

__all__ = ["CLOSED_COMPLAINT_STATUSES", "ComplaintRow", "complaint_status_label", "open_complaints"]

CLOSED_COMPLAINT_STATUSES = frozenset({112, 116, 305, 307})
"""``complaint_status`` values that end a dispute: 112 mediated, 116 closed, 305/307 evidence
timeouts (spec §3). Any other status is still open [U: the full list was not in the documents]."""
_KNOWN = frozenset({100, *CLOSED_COMPLAINT_STATUSES})
MAX_ROWS = 500


class ComplaintRow(msgspec.Struct, frozen=True, kw_only=True):
    complaint_id: str
    store_name: str
    after_sale_order_id: str
    order_id: str
    status: int
    status_label: Message
    deadline: dt.datetime | None
    seconds_left: int | None
    """Until the deadline; negative once it passed; None when the platform waits on no one."""
    aftersale_type: Message | None
    aftersale_status: Message | None
    refund_amount: int | None
    reason_text: str
    opened_at: dt.datetime


def complaint_status_label(status: int) -> Message:
    """The words for a ``complaint_status``; an unlisted one is shown with its number."""
    if status in _KNOWN:
        return Message(f"complaints.status.{status}")
    return Message("complaints.status.other", {"status": status})


async def open_complaints(
    session: AsyncSession, user: User, *, store_id: int | None = None, now: dt.datetime | None = None
) -> list[ComplaintRow]:
    """The complaints still open in ``user``'s stores (or one of them), the soonest deadline
    first; those without a deadline after, oldest first. At most :data:`MAX_ROWS`."""
    now = now or utcnow()
    store = store_entity()
    stmt = (
        sa.select(
            Complaint.complaint_id,
            Complaint.after_sale_order_id,
            Complaint.order_id,
            Complaint.status,
            Complaint.merchant_deadline,
            Complaint.created_at,
            store.name.label("store_name"),
            AfterSale.type.label("aftersale_type"),
            AfterSale.status.label("aftersale_status"),
            AfterSale.refund_amount,
            AfterSale.reason_text,
        )
        .join(store, store.id == Complaint.store_id)
        .outerjoin(
            AfterSale,
            sa.and_(
                AfterSale.store_id == Complaint.store_id,
                AfterSale.after_sale_order_id == Complaint.after_sale_order_id,
            ),
        )
        .where(Complaint.status.not_in(CLOSED_COMPLAINT_STATUSES))
        .order_by(Complaint.merchant_deadline.is_(None), Complaint.merchant_deadline, Complaint.created_at)
        .limit(MAX_ROWS)
    )
    if store_id is not None:
        stmt = stmt.where(Complaint.store_id == store_id)
    rows = (await session.execute(scoped(stmt, Complaint.store_id, user))).all()
    return [
        ComplaintRow(
            complaint_id=row.complaint_id,
            store_name=row.store_name,
            after_sale_order_id=row.after_sale_order_id,
            order_id=row.order_id,
            status=row.status,
            status_label=complaint_status_label(row.status),
            deadline=row.merchant_deadline,
            seconds_left=(
                int((row.merchant_deadline - now).total_seconds()) if row.merchant_deadline else None
            ),
            aftersale_type=aftersale_type_label(row.aftersale_type) if row.aftersale_type else None,
            aftersale_status=aftersale_status_label(row.aftersale_status) if row.aftersale_status else None,
            refund_amount=row.refund_amount,
            reason_text=row.reason_text or "",
            opened_at=row.created_at,
        )
        for row in rows
    ]
