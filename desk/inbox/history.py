"""Reading a conversation's messages: newest last, in pages going back in time.

A page is the ``limit`` messages just before a given message (the newest ones without it), in
the order they were sent. Pages follow each other by *keyset* on ``(sent_at, id)`` — the same
order the thread shows — so a message that arrives late with an earlier time still appears
exactly once. Internal notes are part of the thread (colleagues read them; buyers never get them).

Messages the desk sends carry where their sending stands; a failed one carries the platform's
errcode and message, which :func:`desk.commands.errors.describe_error` puts in words.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import sqlalchemy as sa

from desk.accounts.models import User
from desk.commands.models import OutboundCommand
from desk.db import Work
from desk.errors import Invalid
from desk.i18n import Message as Text
from desk.inbox.access import conversation_for
from desk.inbox.models import Delivery, Message, Sender

__all__ = ["HISTORY_PAGE_SIZE", "HistoryMessage", "HistoryPage", "history_page"]

HISTORY_PAGE_SIZE = 50

_m = Message.__table__.c
_command = OutboundCommand.__table__.c


class HistoryMessage(msgspec.Struct, frozen=True, kw_only=True):
    """One message of a thread, with who wrote it and, if the desk sent it, how that went."""

    id: int
    sender: Sender
    author_id: int | None
    author_name: str
    msg_type: str
    text: str
    payload: dict[str, Any]
    sent_at: dt.datetime
    delivery: Delivery | None
    command_id: int | None
    error_code: int | None
    """The platform's errcode of a failed message (None otherwise)."""
    error_detail: str
    """The platform's ``errmsg`` (or the desk's reason) of a failed message ("" otherwise)."""


class HistoryPage(msgspec.Struct, frozen=True, kw_only=True):
    messages: list[HistoryMessage]
    """Oldest first; the last is the newest of the page."""
    next_before: int | None
    """Pass back as ``before`` for the older page; None when this page reaches the first message."""


async def history_page(
    work: Work, user: User, conversation_id: int, *, before: int | None = None, limit: int = HISTORY_PAGE_SIZE
) -> HistoryPage | Invalid:
    """The ``limit`` messages of the conversation just before message ``before`` (the newest
    without it), if ``user`` may see its store (404 otherwise).

    Refused when ``before`` is not a message of this conversation.
    """
    conversation = await conversation_for(work, user, conversation_id)
    stmt = (
        sa.select(
            _m.id,
            _m.sender,
            _m.author_id,
            sa.func.coalesce(sa.func.nullif(User.display_name, ""), User.username).label("author_name"),
            _m.msg_type,
            _m.text,
            _m.payload,
            _m.sent_at,
            _m.delivery,
            _m.command_id,
            _command.error_code,
            _command.last_error,
        )
        .outerjoin(User, User.id == _m.author_id)
        .outerjoin(OutboundCommand, OutboundCommand.id == _m.command_id)
        .where(_m.conversation_id == conversation.id)
    )
    if before is not None:
        anchor = (
            await work.execute(
                sa.select(_m.sent_at, _m.id).where(_m.id == before, _m.conversation_id == conversation.id)
            )
        ).first()
        if anchor is None:
            return Invalid({"before": Text("api.error.before_unknown", {"id": before})})
        stmt = stmt.where(
            sa.or_(_m.sent_at < anchor.sent_at, sa.and_(_m.sent_at == anchor.sent_at, _m.id < anchor.id))
        )
    rows = list((await work.execute(stmt.order_by(_m.sent_at.desc(), _m.id.desc()).limit(limit + 1))).all())
    more = len(rows) > limit
    rows = rows[:limit]
    rows.reverse()
    return HistoryPage(
        messages=[_message(row) for row in rows],
        next_before=rows[0].id if more and rows else None,
    )


def _message(row: Any) -> HistoryMessage:
    failed = row.delivery == Delivery.FAILED
    return HistoryMessage(
        id=row.id,
        sender=Sender(row.sender),
        author_id=row.author_id,
        author_name=row.author_name or "",
        msg_type=row.msg_type,
        text=row.text,
        payload=row.payload or {},
        sent_at=row.sent_at,
        delivery=Delivery(row.delivery) if row.delivery else None,
        command_id=row.command_id,
        error_code=row.error_code if failed else None,
        error_detail=(row.last_error or "") if failed else "",
    )
