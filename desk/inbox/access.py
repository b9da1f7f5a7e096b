"""Reading one conversation as a user may see it (store-scoped), for the inbox's actions."""

from __future__ import annotations

import datetime as dt

import msgspec
import sqlalchemy as sa
from litestar.exceptions import NotFoundException

from desk.accounts.models import User
from desk.accounts.scoping import store_ids_for
from desk.db import Work, dialect_name
from desk.inbox.assignment import lock_routing
from desk.inbox.models import Channel, Conversation, ConversationStatus

__all__ = ["ConversationState", "conversation_for", "locked_for_change", "may_see_store"]

_conversation = Conversation.__table__


class ConversationState(msgspec.Struct, frozen=True, kw_only=True):
    """What an action on a conversation needs to know about it."""

    id: int
    store_id: int
    channel: Channel
    peer_id: str
    buyer_id: int | None
    assignee_id: int | None
    status: ConversationStatus
    waiting_since: dt.datetime | None
    deadline_at: dt.datetime | None
    last_buyer_message_at: dt.datetime | None


def may_see_store(user: User, store_id: int) -> bool:
    allowed = store_ids_for(user)
    return allowed is None or store_id in allowed


async def conversation_for(
    work: Work, user: User, conversation_id: int, *, lock: bool = False
) -> ConversationState:
    """The conversation ``conversation_id`` if ``user`` may see its store, else 404.

    With ``lock`` the row is locked until the transaction ends (PostgreSQL), so that two agents
    acting on it at once take turns and the second sees what the first did.
    """
    c = _conversation.c
    stmt = sa.select(
        c.id,
        c.store_id,
        c.channel,
        c.peer_id,
        c.buyer_id,
        c.assignee_id,
        c.status,
        c.waiting_since,
        c.deadline_at,
        c.last_buyer_message_at,
    ).where(c.id == conversation_id)
    allowed = store_ids_for(user)
    if allowed is not None:
        stmt = stmt.where(c.store_id.in_(allowed))
    if lock:
        stmt = stmt.with_for_update()
    row = (await work.execute(stmt)).first()
    if row is None:
        raise NotFoundException()
    return ConversationState(**row._asdict())


async def locked_for_change(work: Work, user: User, conversation_id: int) -> ConversationState:
    """The conversation, locked to be changed by ``user`` (404 outside their stores).

    Locks are taken in the order the worker takes them when it files buyer messages — the routing
    rows of the store's agents first, then the conversation — so an agent's action and a worker's
    batch wait for each other instead of deadlocking (PostgreSQL would cancel one of them).
    """
    store_id = (await conversation_for(work, user, conversation_id)).store_id
    if dialect_name(work) == "postgresql":  # (SQLite has one writer: nothing to order)
        await lock_routing(work, store_id)
    return await conversation_for(work, user, conversation_id, lock=True)
