"""An agent's presence as the workbench shows it, and the heartbeat of their open pages."""

from __future__ import annotations

import datetime as dt

import msgspec
import sqlalchemy as sa

from desk.db import Work
from desk.inbox.assignment import fill_capacity, note_seen
from desk.inbox.models import AgentPresence, Conversation, ConversationStatus, Presence

__all__ = ["PresenceView", "heartbeat", "presence_of"]

_presence = AgentPresence.__table__
_conversation = Conversation.__table__


class PresenceView(msgspec.Struct, frozen=True, kw_only=True):
    status: Presence
    capacity: int
    open_count: int
    """Open conversations the agent holds."""


async def presence_of(work: Work, user_id: int) -> PresenceView:
    """The agent's status (offline when never set), capacity and load."""
    row = (
        await work.execute(
            sa.select(_presence.c.status, _presence.c.capacity).where(_presence.c.user_id == user_id)
        )
    ).first()
    load = (
        await work.execute(
            sa.select(sa.func.count())
            .select_from(_conversation)
            .where(_conversation.c.assignee_id == user_id, _conversation.c.status == ConversationStatus.OPEN)
        )
    ).scalar_one()
    if row is None:
        return PresenceView(status=Presence.OFFLINE, capacity=10, open_count=load)
    return PresenceView(status=Presence(row.status), capacity=row.capacity, open_count=load)


async def heartbeat(work: Work, user_id: int, *, now: dt.datetime) -> None:
    """An open workbench page of the agent is alive (the live stream's heartbeat).

    The first time an agent opens the workbench they are online — opening it means being at work;
    after that, :func:`desk.inbox.assignment.note_seen` keeps them seen and brings them back online
    if the desk had set them offline when their pages went quiet.
    """
    known = (
        await work.execute(sa.select(_presence.c.user_id).where(_presence.c.user_id == user_id))
    ).scalar_one_or_none()
    if known is None:
        await work.execute(
            sa.insert(_presence).values(
                user_id=user_id, status=Presence.ONLINE, manual=False, changed_at=now, last_seen_at=now
            )
        )
        await fill_capacity(work, user_id, now=now)
        return
    await note_seen(work, user_id, now=now)
