"""The queue: every conversation a user may see, the buyer nearest to the reply deadline first.

Two parts, read one after the other, each in the order of an index:

1. conversations whose buyer waits for a human, by ``deadline_at`` — the longest-overdue first;
2. then all others, by latest activity (``last_message_at``), newest first.

Pages follow each other by *keyset* (a cursor naming the last row shown), never by offset, so a
page costs the same at row 20 and at row 20,000, and no row is ever hidden by a cap: the list goes
on for as long as the user scrolls. Filters: whose (mine / unassigned / all), store, status,
buyer tag.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
from typing import Any

import msgspec
import sqlalchemy as sa

from desk.accounts.models import User
from desk.accounts.scoping import store_ids_for
from desk.db import Work
from desk.inbox.deadline import Urgency, urgency
from desk.inbox.models import Conversation, ConversationStatus, Message, Sender
from desk.orders.models import Buyer, BuyerTag, Order
from desk.stores.models import Store

__all__ = [
    "PAGE_SIZE",
    "QueueFilter",
    "QueuePage",
    "QueueRow",
    "Whose",
    "buyer_label",
    "queue_page",
    "waiting_counts",
]

PAGE_SIZE = 50

_c = Conversation.__table__.c
_m = Message.__table__.c


class Whose(enum.StrEnum):
    MINE = "mine"
    UNASSIGNED = "unassigned"
    ALL = "all"


class QueueFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Which conversations the queue lists (the page's and the API's query parameters)."""

    whose: Whose = Whose.ALL
    store_id: int | None = None
    status: ConversationStatus = ConversationStatus.OPEN
    tag: str = ""


class QueueRow(msgspec.Struct, frozen=True, kw_only=True):
    """One conversation as the queue shows it."""

    id: int
    store_id: int
    store_name: str
    buyer_id: int | None
    buyer_name: str
    """The buyer's best known name: nickname, else the masked receiver of their latest order,
    else the tail of their openid."""
    last_message: str
    last_sender: str
    last_message_at: dt.datetime
    waiting_since: dt.datetime | None
    deadline_at: dt.datetime | None
    urgency: Urgency
    assignee_id: int | None
    assignee_name: str
    status: ConversationStatus
    channel: str


class QueuePage(msgspec.Struct, frozen=True, kw_only=True):
    rows: list[QueueRow]
    next_cursor: str
    """Pass back as ``cursor`` for the next page; empty when this was the last."""


def buyer_label(nickname: str | None, receiver_name: str | None, peer_id: str) -> str:
    """The name an agent knows a buyer by (see :attr:`QueueRow.buyer_name`)."""
    if nickname:
        return nickname
    if receiver_name:
        return receiver_name
    return "…" + peer_id.rsplit("/", 1)[-1][-6:]


# -- cursors ----------------------------------------------------------------------------------------


class _Cursor(msgspec.Struct, array_like=True, frozen=True):
    waiting: bool
    at: float
    """The row's ``deadline_at`` (waiting part) or ``last_message_at`` (rest) as epoch seconds."""
    id: int


def _encode_cursor(cursor: _Cursor) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(cursor)).decode().rstrip("=")


def decode_cursor(value: str) -> _Cursor | None:
    """The cursor a page handed out, or None for the first page (or a cursor that is not ours)."""
    if not value:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        cursor = msgspec.json.decode(raw, type=_Cursor)
        _instant(cursor.at)  # an instant (a crafted cursor may name none: year 10000, NaN …)
    except (ValueError, OverflowError, OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None
    if not -(2**63) <= cursor.id < 2**63:  # beyond any id (and any database's integers)
        return None
    return cursor


def _instant(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


# -- the query --------------------------------------------------------------------------------------


def _filtered(user: User, filt: QueueFilter) -> list[Any]:
    where: list[Any] = [_c.status == filt.status]
    allowed = store_ids_for(user)
    if allowed is not None:
        where.append(_c.store_id.in_(allowed))
    if filt.store_id is not None:
        where.append(_c.store_id == filt.store_id)
    if filt.whose is Whose.MINE:
        where.append(_c.assignee_id == user.id)
    elif filt.whose is Whose.UNASSIGNED:
        where.append(_c.assignee_id.is_(None))
    if filt.tag:
        tagged = sa.select(BuyerTag.buyer_id).where(BuyerTag.tag == filt.tag)
        where.append(_c.buyer_id.in_(tagged))
    return where


def _decorated(ids: sa.Subquery) -> sa.Select[Any]:
    """The page's rows with what the queue shows beside each: store, buyer, last message, holder."""
    last_id = (
        sa.select(_m.id)
        .where(_m.conversation_id == ids.c.id, _m.sender != Sender.NOTE)
        .order_by(_m.sent_at.desc(), _m.id.desc())
        .limit(1)
        .correlate(ids)
        .scalar_subquery()
    )
    last_message = Message.__table__.alias("last_message")
    receiver = (
        sa.select(Order.receiver_name)
        .where(Order.buyer_id == ids.c.buyer_id)
        .order_by(Order.create_time.desc())
        .limit(1)
        .correlate(ids)
        .scalar_subquery()
    )
    return (
        sa.select(
            ids,
            Store.name.label("store_name"),
            Buyer.nickname,
            receiver.label("receiver_name"),
            last_message.c.text.label("last_text"),
            last_message.c.sender.label("last_sender"),
            User.display_name.label("assignee_name"),
        )
        .join(Store, Store.id == ids.c.store_id)
        .outerjoin(Buyer, Buyer.id == ids.c.buyer_id)
        .outerjoin(last_message, last_message.c.id == last_id)
        .outerjoin(User, User.id == ids.c.assignee_id)
    )


_COLUMNS = (
    _c.id,
    _c.store_id,
    _c.buyer_id,
    _c.peer_id,
    _c.channel,
    _c.status,
    _c.assignee_id,
    _c.waiting_since,
    _c.deadline_at,
    _c.last_message_at,
)


async def _part(
    work: Work, where: list[Any], *, waiting: bool, after: _Cursor | None, limit: int
) -> list[Any]:
    if waiting:
        stmt = sa.select(*_COLUMNS).where(*where, _c.deadline_at.is_not(None))
        if after is not None:
            at = _instant(after.at)
            stmt = stmt.where(sa.or_(_c.deadline_at > at, sa.and_(_c.deadline_at == at, _c.id > after.id)))
        ordered = stmt.order_by(_c.deadline_at, _c.id)
        order = ("deadline_at", "id")
    else:
        stmt = sa.select(*_COLUMNS).where(*where, _c.deadline_at.is_(None))
        if after is not None:
            at = _instant(after.at)
            stmt = stmt.where(
                sa.or_(_c.last_message_at < at, sa.and_(_c.last_message_at == at, _c.id < after.id))
            )
        ordered = stmt.order_by(_c.last_message_at.desc(), _c.id.desc())
        order = ("last_message_at desc", "id desc")
    page = ordered.limit(limit).subquery("page")
    decorated = _decorated(page)
    if order[0] == "deadline_at":
        decorated = decorated.order_by(page.c.deadline_at, page.c.id)
    else:
        decorated = decorated.order_by(page.c.last_message_at.desc(), page.c.id.desc())
    return list((await work.execute(decorated)).all())


def _row(row: Any, now: dt.datetime) -> QueueRow:
    return QueueRow(
        id=row.id,
        store_id=row.store_id,
        store_name=row.store_name,
        buyer_id=row.buyer_id,
        buyer_name=buyer_label(row.nickname, row.receiver_name, row.peer_id),
        last_message=row.last_text or "",
        last_sender=str(row.last_sender or ""),
        last_message_at=row.last_message_at,
        waiting_since=row.waiting_since,
        deadline_at=row.deadline_at,
        urgency=urgency(row.deadline_at, now),
        assignee_id=row.assignee_id,
        assignee_name=row.assignee_name or "",
        status=ConversationStatus(row.status),
        channel=str(row.channel),
    )


async def queue_page(
    work: Work,
    user: User,
    filt: QueueFilter,
    *,
    now: dt.datetime,
    cursor: str = "",
    limit: int = PAGE_SIZE,
) -> QueuePage:
    """One page of ``user``'s queue under ``filt``, after ``cursor`` (the first page without)."""
    where = _filtered(user, filt)
    after = decode_cursor(cursor)
    rows: list[Any] = []
    if after is None or after.waiting:
        rows = await _part(work, where, waiting=True, after=after, limit=limit + 1)
        if len(rows) <= limit:
            rest = await _part(work, where, waiting=False, after=None, limit=limit + 1 - len(rows))
            rows += rest
    else:
        rows = await _part(work, where, waiting=False, after=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = ""
    if more and rows:
        last = rows[-1]
        waiting = last.deadline_at is not None
        at = (last.deadline_at if waiting else last.last_message_at).timestamp()
        next_cursor = _encode_cursor(_Cursor(waiting, at, last.id))
    return QueuePage(rows=[_row(row, now) for row in rows], next_cursor=next_cursor)


async def waiting_counts(work: Work, user: User, *, store_id: int | None = None) -> dict[str, int]:
    """How many buyers wait for a human in ``user``'s view: held by them, by nobody, in all."""
    where = _filtered(user, QueueFilter(store_id=store_id))
    row = (
        await work.execute(
            sa.select(
                sa.func.count().filter(_c.assignee_id == user.id).label("mine"),
                sa.func.count().filter(_c.assignee_id.is_(None)).label("unassigned"),
                sa.func.count().label("all"),
            ).where(*where, _c.deadline_at.is_not(None))
        )
    ).one()
    return {"mine": row.mine, "unassigned": row.unassigned, "all": row.all}
