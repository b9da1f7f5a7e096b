"""What the inbox does as time passes: agents whose pages went quiet, idle conversations, and
the offline agent's grace period running out.

* An agent whose pages have not been heard from for :data:`LAPSE_AFTER` (their browser closed, the
  laptop asleep) is set offline by the desk; their unanswered conversations return to the pool at
  once — the lapse already was the grace period. When a page of theirs is back
  (:func:`desk.inbox.assignment.note_seen`), they are online again.
* An open or pending conversation with nothing said for ``DESK_AUTO_RESOLVE_HOURS`` and no buyer
  waiting is resolved.
* The ``inbox.release`` timer (set when an agent goes offline) returns their unanswered
  conversations to the pool, unless they came back in the meantime.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from desk.clock import Clock
from desk.db import Database
from desk.inbox.access import ConversationState
from desk.inbox.assignment import release_unanswered
from desk.inbox.models import AgentPresence, Conversation, ConversationStatus, Presence
from desk.inbox.workflow import set_status

__all__ = ["LAPSE_AFTER", "TIMER_HANDLERS", "InboxSweeper", "sweep"]

log = logging.getLogger(__name__)

LAPSE_AFTER = dt.timedelta(seconds=60)
"""Pages send a heartbeat every 20 s; three missed ones and the agent counts as gone."""

_presence = AgentPresence.__table__
_conversation = Conversation.__table__


async def release_after_grace(
    conn: AsyncConnection, payload: dict[str, Any], _store_id: int | None, now: dt.datetime
) -> None:
    """Timer ``inbox.release``: the agent stayed offline through the grace period."""
    agent_id = int(payload["agent_id"])
    status = (
        await conn.execute(sa.select(_presence.c.status).where(_presence.c.user_id == agent_id))
    ).scalar_one_or_none()
    if status == Presence.OFFLINE:
        await release_unanswered(conn, agent_id, now=now)


TIMER_HANDLERS = {"inbox.release": release_after_grace}


async def sweep(db: Database, *, now: dt.datetime, auto_resolve_after: dt.timedelta | None) -> dict[str, int]:
    """One round of the time-driven work above; counts of what it did."""
    lapsed = released = resolved = 0
    # Rows another transaction holds (a heartbeat, a buyer message being filed) are skipped, not
    # waited for and then overwritten: the next round sees them as they are then.
    async with db.transaction() as conn:
        quiet = (
            await conn.execute(
                sa.select(_presence.c.user_id)
                .where(
                    _presence.c.status != Presence.OFFLINE,
                    sa.or_(_presence.c.last_seen_at.is_(None), _presence.c.last_seen_at < now - LAPSE_AFTER),
                )
                .order_by(_presence.c.user_id)
                .with_for_update(skip_locked=True)
            )
        ).scalars()
        for agent_id in list(quiet):
            await conn.execute(
                sa.update(_presence)
                .where(_presence.c.user_id == agent_id)
                .values(status=Presence.OFFLINE, manual=False, changed_at=now)
            )
            lapsed += 1
            released += len(await release_unanswered(conn, agent_id, now=now))
    if auto_resolve_after is not None:
        async with db.transaction() as conn:
            c = _conversation.c
            idle = (
                await conn.execute(
                    sa.select(c.id, c.store_id, c.channel, c.peer_id, c.buyer_id, c.assignee_id, c.status)
                    .where(
                        c.status.in_([ConversationStatus.OPEN, ConversationStatus.PENDING]),
                        c.waiting_since.is_(None),
                        c.last_message_at < now - auto_resolve_after,
                    )
                    .order_by(c.id)
                    .limit(500)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for row in idle:
                state = ConversationState(
                    **row._asdict(),
                    waiting_since=None,
                    deadline_at=None,
                    last_buyer_message_at=None,
                )
                await set_status(
                    conn,
                    user=None,
                    conversation_id=row.id,
                    status=ConversationStatus.RESOLVED,
                    now=now,
                    conversation=state,
                )
                resolved += 1
    return {"lapsed": lapsed, "released": released, "resolved": resolved}


class InboxSweeper:
    """Runs :func:`sweep` every ``interval_s`` (a background service of worker processes)."""

    def __init__(
        self, db: Database, clock: Clock, *, auto_resolve_hours: float, interval_s: float = 15.0
    ) -> None:
        self.db = db
        self.clock = clock
        self.auto_resolve_after = dt.timedelta(hours=auto_resolve_hours) if auto_resolve_hours > 0 else None
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="inbox-sweeper")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            try:
                await sweep(self.db, now=self.clock.now(), auto_resolve_after=self.auto_resolve_after)
            except Exception:  # the database is away, say: next round
                log.exception("inbox sweep failed")
            await self.clock.sleep(self.interval_s)
