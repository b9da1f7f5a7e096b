"""Conversations and the messages in them: filing what buyers write.

A buyer message lands in the conversation of its store, channel and peer (created on first
message). The platform's message id is unique per conversation, so a message delivered twice is
stored once and moves no timestamps the second time.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from desk.changes.events import MessageAdded
from desk.changes.record import record
from desk.db import UTCDateTime, insert_for, utcnow
from desk.inbox.models import Channel, Conversation, Message, Sender

__all__ = ["record_buyer_message"]

_conversation = Conversation.__table__
_message = Message.__table__

# Statements of the worker's hot path, built once (values are bound when executing).
_find_conversation = sa.select(_conversation.c.id).where(
    _conversation.c.store_id == sa.bindparam("store_id"),
    _conversation.c.channel == sa.bindparam("channel"),
    _conversation.c.peer_id == sa.bindparam("peer_id"),
)
_sent_at = sa.bindparam("sent_at", type_=UTCDateTime())


def _later(column: sa.Column[Any]) -> sa.Case[Any]:
    # GREATEST (PostgreSQL) and MAX(a, b) (SQLite) differ in name and NULL handling; CASE does not.
    return sa.case((sa.or_(column.is_(None), column < _sent_at), _sent_at), else_=column)


_touch_conversation = (
    sa.update(_conversation)
    .where(_conversation.c.id == sa.bindparam("conversation_id"))
    .values(
        last_message_at=_later(_conversation.c.last_message_at),
        last_buyer_message_at=_later(_conversation.c.last_buyer_message_at),
        waiting_since=sa.func.coalesce(_conversation.c.waiting_since, _sent_at),
        buyer_id=sa.func.coalesce(_conversation.c.buyer_id, sa.bindparam("buyer_id")),
        updated_at=sa.bindparam("now", type_=UTCDateTime()),
    )
)


@functools.cache
def _create_conversation(dialect_name: str) -> sa.Insert:
    return insert_for(dialect_name, _conversation).on_conflict_do_nothing().returning(_conversation.c.id)


@functools.cache
def _insert_message(dialect_name: str) -> sa.Insert:
    return (
        insert_for(dialect_name, _message)
        .on_conflict_do_nothing(index_elements=[_message.c.conversation_id, _message.c.platform_msg_id])
        .returning(_message.c.id)
    )


async def _conversation_id(
    conn: AsyncConnection,
    *,
    store_id: int,
    channel: Channel,
    peer_id: str,
    buyer_id: int | None,
    first_message_at: dt.datetime,
) -> int:
    where = {"store_id": store_id, "channel": channel, "peer_id": peer_id}
    found = (await conn.execute(_find_conversation, where)).scalar_one_or_none()
    if found is not None:
        return int(found)
    now = utcnow()
    values = {
        **where,
        "buyer_id": buyer_id,
        "last_message_at": first_message_at,
        "created_at": now,
        "updated_at": now,
    }
    created = (await conn.execute(_create_conversation(conn.dialect.name), values)).scalar_one_or_none()
    if created is not None:
        return int(created)
    # Another transaction created it between our read and our insert.
    return int((await conn.execute(_find_conversation, where)).scalar_one())


async def record_buyer_message(
    conn: AsyncConnection,
    *,
    store_id: int,
    channel: Channel,
    peer_id: str,
    buyer_id: int | None,
    platform_msg_id: str,
    msg_type: str,
    text: str,
    payload: dict[str, Any],
    sent_at: dt.datetime,
) -> int | None:
    """File a message a buyer sent; returns its id, or None when it was already filed.

    The conversation's ``last_message_at`` and ``last_buyer_message_at`` move forward (never
    back, whatever order messages arrive in), and ``waiting_since`` is set to this message's
    time when nobody was waiting — the start of a consultation for the 3-minute reply rate.
    """
    conversation_id = await _conversation_id(
        conn, store_id=store_id, channel=channel, peer_id=peer_id, buyer_id=buyer_id, first_message_at=sent_at
    )
    message = {
        "conversation_id": conversation_id,
        "store_id": store_id,
        "sender": Sender.BUYER,
        "platform_msg_id": platform_msg_id,
        "msg_type": msg_type[:32],
        "text": text,
        "payload": payload,
        "sent_at": sent_at,
        "created_at": utcnow(),
    }
    message_id = (await conn.execute(_insert_message(conn.dialect.name), message)).scalar_one_or_none()
    if message_id is None:
        return None
    await conn.execute(
        _touch_conversation,
        {"conversation_id": conversation_id, "sent_at": sent_at, "buyer_id": buyer_id, "now": utcnow()},
    )
    await record(
        conn,
        MessageAdded(
            store_id=store_id,
            conversation_id=conversation_id,
            message_id=int(message_id),
            sender=Sender.BUYER,
            buyer_id=buyer_id,
        ),
    )
    return int(message_id)
