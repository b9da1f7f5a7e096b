"""Helpers for the inbox tests: buyers writing, agents' presence, reading conversations back.

Every helper runs its own unit of work (as the worker or a web request would) and takes the
instant it acts at, so tests move time by passing later instants — never by sleeping.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import sqlalchemy as sa

from desk.accounts.models import User
from desk.changes.models import ChangeEvent
from desk.inbox.assignment import set_presence
from desk.inbox.filing import record_buyer_message
from desk.inbox.models import AgentPresence, Channel, Conversation, Message, Presence
from desk.runtime import Runtime
from desk.stores.models import Store

__all__ = [
    "T0",
    "at",
    "buyer_writes",
    "change_events",
    "conversation",
    "conversations",
    "go",
    "load_of",
    "messages",
    "presence",
]

T0 = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)
"""10:00 in Shanghai on the day the tests pretend it is (the ManualClock's default start)."""

_msg_ids = itertools.count(1)


def at(seconds: float) -> dt.datetime:
    """``seconds`` after :data:`T0`."""
    return T0 + dt.timedelta(seconds=seconds)


async def buyer_writes(
    runtime: Runtime,
    store: Store,
    peer: str,
    sent_at: dt.datetime,
    text: str = "在吗？",
    *,
    buyer_id: int | None = None,
    msg_id: str | None = None,
) -> int:
    """The buyer ``peer`` of ``store`` writes at ``sent_at`` (filed as the worker files it, at
    that instant); returns the conversation's id."""
    async with runtime.db.transaction() as conn:
        await record_buyer_message(
            conn,
            store_id=store.id,
            channel=Channel.COMMKF,
            peer_id=peer,
            buyer_id=buyer_id,
            platform_msg_id=msg_id or f"m{next(_msg_ids)}",
            msg_type="text",
            text=text,
            payload={},
            sent_at=sent_at,
            now=sent_at,
        )
        return int(
            (
                await conn.execute(
                    sa.select(Conversation.id).where(
                        Conversation.store_id == store.id, Conversation.peer_id == peer
                    )
                )
            ).scalar_one()
        )


async def go(
    runtime: Runtime, agent: User, status: Presence, now: dt.datetime, *, capacity: int | None = None
) -> list[int]:
    """``agent`` sets their status at ``now`` (with their capacity, if given); the conversations
    they were handed as a result."""
    async with runtime.db.transaction() as conn:
        if capacity is not None:
            p = AgentPresence.__table__
            updated = await conn.execute(
                sa.update(p).where(p.c.user_id == agent.id).values(capacity=capacity)
            )
            if not updated.rowcount:
                await conn.execute(
                    sa.insert(p).values(
                        user_id=agent.id,
                        status=Presence.OFFLINE,
                        capacity=capacity,
                        changed_at=now,
                        last_seen_at=now,
                    )
                )
        return list(await set_presence(conn, agent.id, status, now=now))


async def conversation(runtime: Runtime, conversation_id: int) -> Any:
    async with runtime.db.engine.connect() as conn:
        return (
            await conn.execute(sa.select(Conversation.__table__).where(Conversation.id == conversation_id))
        ).one()


async def conversations(runtime: Runtime, *where: Any) -> list[Any]:
    async with runtime.db.engine.connect() as conn:
        stmt = sa.select(Conversation.__table__).where(*where).order_by(Conversation.id)
        return list((await conn.execute(stmt)).all())


async def messages(runtime: Runtime, conversation_id: int) -> list[Any]:
    async with runtime.db.engine.connect() as conn:
        stmt = (
            sa.select(Message.__table__)
            .where(Message.conversation_id == conversation_id)
            .order_by(Message.sent_at, Message.id)
        )
        return list((await conn.execute(stmt)).all())


async def presence(runtime: Runtime, agent: User) -> Any:
    async with runtime.db.engine.connect() as conn:
        return (
            await conn.execute(sa.select(AgentPresence.__table__).where(AgentPresence.user_id == agent.id))
        ).one()


async def load_of(runtime: Runtime, agent: User) -> int:
    """Open conversations ``agent`` holds."""
    async with runtime.db.engine.connect() as conn:
        return int(
            (
                await conn.execute(
                    sa.select(sa.func.count()).where(
                        Conversation.assignee_id == agent.id, Conversation.status == "open"
                    )
                )
            ).scalar_one()
        )


async def change_events(runtime: Runtime, type_: str) -> list[dict[str, Any]]:
    """The payloads of recorded change events of ``type_`` (e.g. ``conversation.changed``), oldest first."""
    async with runtime.db.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(ChangeEvent.payload).where(ChangeEvent.type == type_).order_by(ChangeEvent.id)
        )
        return [row.payload for row in rows]
