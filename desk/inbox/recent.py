"""The conversations with the latest messages in a user's stores (the store page's panel).

Unlike the workbench's queue (:mod:`desk.inbox.queue`, deadline-first, every row), this is a
glance at what is arriving: the newest few, latest activity first.
"""

from __future__ import annotations

import datetime as dt

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from desk.accounts.models import User
from desk.db import utcnow
from desk.inbox.deadline import REPLY_DEADLINE
from desk.inbox.models import Conversation
from desk.inbox.models import Message as ChatMessage
from desk.orders.models import Buyer
from desk.panels import LIMIT, Panel, in_scope, total_in_scope, total_of
from desk.stores.models import Store

__all__ = ["ConversationRow", "latest_conversations"]


class ConversationRow(msgspec.Struct, frozen=True, kw_only=True):
    """A conversation as the preview lists it: who, what they said last, how long they have waited."""

    id: int
    store_id: int
    store_name: str
    buyer_name: str
    """The buyer's nickname when known, else empty (show :attr:`buyer_tail` instead)."""
    buyer_tail: str
    """The last characters of the buyer's openid (or WeCom external id): enough to tell buyers apart."""
    last_message: str
    last_sender: str
    """``buyer``, ``agent``, ``auto`` or ``system``; empty when the conversation has no message."""
    last_message_at: dt.datetime
    waiting_since: dt.datetime | None
    waited_seconds: int | None
    """How long the buyer has waited for a human, at the time of the query; None when nobody waits."""
    overdue: bool
    """The wait is past the 3-minute reply deadline."""
    message_count: int


def _tail(identity: str) -> str:
    # WeCom kf peers are "open_kfid/external_userid": the buyer's part is after the slash.
    return identity.rsplit("/", 1)[-1][-6:]


async def latest_conversations(
    session: AsyncSession,
    user: User,
    *,
    store_id: int | None = None,
    now: dt.datetime | None = None,
    limit: int = LIMIT,
) -> Panel[ConversationRow]:
    """The conversations with the most recent messages in ``user``'s stores (or in one of them),
    newest first, each with its last message, its message count and how long the buyer has
    waited for a human (from ``waiting_since``, the first unanswered buyer message)."""
    now = now or utcnow()
    top = (
        in_scope(
            sa.select(
                Conversation.id,
                Conversation.store_id,
                Conversation.buyer_id,
                Conversation.peer_id,
                Conversation.last_message_at,
                Conversation.waiting_since,
                total_in_scope(Conversation, Conversation.store_id, user, store_id).label("total"),
            ),
            Conversation.store_id,
            user,
            store_id,
        )
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
        .limit(limit)
        .subquery("top")
    )
    last = aliased(ChatMessage, name="last_message")
    last_id = (
        sa.select(ChatMessage.id)
        .where(ChatMessage.conversation_id == top.c.id)
        .order_by(ChatMessage.sent_at.desc(), ChatMessage.id.desc())
        .limit(1)
        .correlate(top)
        .scalar_subquery()
    )
    message_count = (
        sa.select(sa.func.count(ChatMessage.id))
        .where(ChatMessage.conversation_id == top.c.id)
        .correlate(top)
        .scalar_subquery()
    )
    stmt = (
        sa.select(
            top,
            Store.name.label("store_name"),
            Buyer.nickname,
            Buyer.openid,
            last.text,
            last.sender,
            message_count.label("message_count"),
        )
        .join(Store, Store.id == top.c.store_id)
        .outerjoin(Buyer, Buyer.id == top.c.buyer_id)
        .outerjoin(last, last.id == last_id)
        .order_by(top.c.last_message_at.desc(), top.c.id.desc())
    )
    rows = list(await session.execute(stmt))
    result = []
    for row in rows:
        waited = None if row.waiting_since is None else int((now - row.waiting_since).total_seconds())
        result.append(
            ConversationRow(
                id=row.id,
                store_id=row.store_id,
                store_name=row.store_name,
                buyer_name=row.nickname or "",
                buyer_tail=_tail(row.openid or row.peer_id),
                last_message=row.text or "",
                last_sender=str(row.sender or ""),
                last_message_at=row.last_message_at,
                waiting_since=row.waiting_since,
                waited_seconds=waited,
                overdue=waited is not None and waited >= REPLY_DEADLINE.total_seconds(),
                message_count=row.message_count,
            )
        )
    return Panel(rows=result, total=total_of(rows))
