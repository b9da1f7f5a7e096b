"""Filing what buyers write: the conversation, the message, the wait for a human, the assignee.

A buyer message lands in the conversation of its store, channel and peer (created on first
message). The platform's message id is unique per conversation, so a message delivered twice is
stored once and moves nothing the second time.

A message from a buyer nobody is answering yet starts a *wait*: ``waiting_since`` is its time and
``deadline_at`` the 3-minute reply deadline (:mod:`desk.inbox.deadline`) — the queue's order and
the start of a consultation for the reply rate. A resolved or pending conversation is reopened.
A conversation nobody holds is routed to an online agent of the store (:mod:`desk.inbox.assignment`),
and so is a returning buyer whose agent has gone offline.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import sqlalchemy as sa

from desk.changes.events import ConversationChanged, MessageAdded
from desk.changes.record import record
from desk.db import UTCDateTime, Work, dialect_name, insert_for, utcnow
from desk.inbox.assignment import lock_routing, reroute_if_gone, route
from desk.inbox.deadline import deadline_for
from desk.inbox.models import Channel, Conversation, ConversationStatus, Message, Sender
from desk.metrics.consultations import note_message
from desk.rules.model import TriggerEvent
from desk.rules.triggers import record_trigger

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


def _wait_from(column: sa.Column[Any], value: Any) -> sa.Case[Any]:
    # The wait starts at this message when nobody waited, and moves back to it when it arrives
    # late (pushes come out of order) but was written after the last human reply: the buyer has
    # been waiting since then. (SET expressions read the row as it was before the UPDATE.)
    c = _conversation.c
    earlier_unanswered = sa.and_(
        _sent_at < c.waiting_since,
        sa.or_(c.last_human_reply_at.is_(None), _sent_at > c.last_human_reply_at),
    )
    return sa.case((sa.or_(c.waiting_since.is_(None), earlier_unanswered), value), else_=column)


_touch_conversation = (
    sa.update(_conversation)
    .where(_conversation.c.id == sa.bindparam("conversation_id"))
    .values(
        last_message_at=_later(_conversation.c.last_message_at),
        last_buyer_message_at=_later(_conversation.c.last_buyer_message_at),
        waiting_since=_wait_from(_conversation.c.waiting_since, _sent_at),
        deadline_at=_wait_from(_conversation.c.deadline_at, sa.bindparam("deadline_at", type_=UTCDateTime())),
        status=ConversationStatus.OPEN,
        resolved_at=None,
        buyer_id=sa.func.coalesce(_conversation.c.buyer_id, sa.bindparam("buyer_id")),
        updated_at=sa.bindparam("now", type_=UTCDateTime()),
    )
    .returning(_conversation.c.assignee_id)
)
_before = sa.select(
    _conversation.c.status, _conversation.c.waiting_since, _conversation.c.last_buyer_message_at
).where(_conversation.c.id == sa.bindparam("conversation_id"))


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
    work: Work,
    *,
    store_id: int,
    channel: Channel,
    peer_id: str,
    buyer_id: int | None,
    first_message_at: dt.datetime,
) -> int:
    where = {"store_id": store_id, "channel": channel, "peer_id": peer_id}
    found = (await work.execute(_find_conversation, where)).scalar_one_or_none()
    if found is not None:
        return int(found)
    now = utcnow()
    values = {
        **where,
        "buyer_id": buyer_id,
        "last_message_at": first_message_at,
        "status": ConversationStatus.OPEN,
        "created_at": now,
        "updated_at": now,
    }
    created = (await work.execute(_create_conversation(dialect_name(work)), values)).scalar_one_or_none()
    if created is not None:
        return int(created)
    # Another transaction created it between our read and our insert.
    return int((await work.execute(_find_conversation, where)).scalar_one())


async def record_buyer_message(
    work: Work,
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
    now: dt.datetime | None = None,
) -> int | None:
    """File a message a buyer sent; returns its id, or None when it was already filed.

    The conversation's ``last_message_at`` and ``last_buyer_message_at`` move forward (never
    back, whatever order messages arrive in); when nobody was waiting, the wait starts at this
    message (``waiting_since``, ``deadline_at``). A resolved or pending conversation reopens; one
    nobody holds is routed to an agent, and one whose agent has gone offline (past the grace
    period) is routed to another. Records ``MessageAdded`` and ``ConversationChanged``, and queues the
    rule triggers ``message.received`` (and ``buyer.first_consultation`` for the buyer's first message).
    """
    now = now or utcnow()
    if dialect_name(work) == "postgresql":  # (SQLite has one writer: nothing to order)
        await lock_routing(work, store_id)
    conversation_id = await _conversation_id(
        work, store_id=store_id, channel=channel, peer_id=peer_id, buyer_id=buyer_id, first_message_at=sent_at
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
    message_id = (await work.execute(_insert_message(dialect_name(work)), message)).scalar_one_or_none()
    if message_id is None:
        return None
    await note_message(
        work,
        store_id=store_id,
        conversation_id=conversation_id,
        message_id=int(message_id),
        sender=Sender.BUYER,
        author_id=None,
        sent_at=sent_at,
    )
    before = (await work.execute(_before, {"conversation_id": conversation_id})).one()
    assignee_id = (
        await work.execute(
            _touch_conversation,
            {
                "conversation_id": conversation_id,
                "sent_at": sent_at,
                "deadline_at": deadline_for(sent_at),
                "buyer_id": buyer_id,
                "now": now,
            },
        )
    ).scalar_one()
    await record(
        work,
        MessageAdded(
            store_id=store_id,
            conversation_id=conversation_id,
            message_id=int(message_id),
            sender=Sender.BUYER,
            buyer_id=buyer_id,
        ),
    )
    # Rules see every buyer message (and a buyer's first one), queued in this transaction.
    about = {"conversation_id": conversation_id, "message_id": int(message_id)}
    await record_trigger(
        work, store_id=store_id, event=TriggerEvent.MESSAGE_RECEIVED, payload=about, origin="platform"
    )
    if before.last_buyer_message_at is None:
        await record_trigger(
            work,
            store_id=store_id,
            event=TriggerEvent.BUYER_FIRST_CONSULTATION,
            payload=about,
            origin="platform",
        )
    starts_wait = before.status != ConversationStatus.OPEN or before.waiting_since is None
    if starts_wait:
        what = "reopened" if before.status != ConversationStatus.OPEN else "waiting"
        await record(
            work,
            ConversationChanged(
                store_id=store_id,
                conversation_id=conversation_id,
                what=what,
                assignee_id=assignee_id,
                status=ConversationStatus.OPEN,
            ),
        )
    if assignee_id is None:
        await route(work, conversation_id, store_id, now=now)
    elif starts_wait:  # a returning buyer whose agent has left goes to someone who is there
        await reroute_if_gone(work, conversation_id, store_id, assignee_id, now=now)
    return int(message_id)
