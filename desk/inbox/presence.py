"""An agent's presence as the workbench shows it, and the heartbeat of their open pages."""

from __future__ import annotations

import datetime as dt

import msgspec
import sqlalchemy as sa

from desk.db import Work
from desk.inbox.assignment import fill_capacity
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


async def heartbeat(work: Work, user_id: int, *, now: dt.datetime) -> bool:
    """An open workbench page of the agent is alive. An agent the desk set offline because their
    pages went quiet is online again (one who chose to be offline stays so). Returns whether the
    agent came (back) online."""
    row = (
        await work.execute(
            sa.select(_presence.c.status, _presence.c.manual)
            .where(_presence.c.user_id == user_id)
            .with_for_update()
        )
    ).first()
    if row is None:
        # First time at the workbench: online, as opening it means being at work.
        await work.execute(
            sa.insert(_presence).values(
                user_id=user_id, status=Presence.ONLINE, manual=False, changed_at=now, last_seen_at=now
            )
        )
        await fill_capacity(work, user_id, now=now)
        return True
    values: dict[str, object] = {"last_seen_at": now}
    back = row.status == Presence.OFFLINE and not row.manual
    if back:
        values |= {"status": Presence.ONLINE, "changed_at": now}
    await work.execute(sa.update(_presence).where(_presence.c.user_id == user_id).values(**values))
    if back:
        await fill_capacity(work, user_id, now=now)
    return back
