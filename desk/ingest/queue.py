"""The ``platform_event`` table as a work queue: claim, lease, finish, retry, park, replay.

A worker *claims* a batch — ``state='processing'``, its name in ``claimed_by`` and a lease in
``claimed_until``, ``attempts + 1`` — and commits the claim before doing any work. Applying the
batch happens later in one transaction that starts by re-asserting the lease on the rows still
claimed by this worker (which also locks them until commit), and ends by marking them ``done`` or
scheduling a retry. A worker that dies (kill -9) leaves its rows ``processing``; once the lease
runs out any worker claims them again. Because an event's effects and its ``done`` commit
together, an event is applied exactly once however often it is claimed.

On PostgreSQL the claim skips rows other workers hold (``FOR UPDATE SKIP LOCKED``), so any number
of workers share the queue. SQLite has one writer at a time, which serialises claims anyway.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from desk.db import utcnow
from desk.ingest.models import EventSource, EventState, PlatformEvent

__all__ = ["ClaimedEvent", "EventQueue", "RetryPolicy"]

_event = PlatformEvent.__table__
_ERROR_MAX = 4000  # characters of an error kept in last_error


@dataclass(frozen=True, slots=True)
class ClaimedEvent:
    """A claimed event: what the worker needs to apply it."""

    id: int
    source: EventSource
    store_id: int | None
    corp_id: int | None
    event_type: str
    payload: str
    attempts: int
    """Tries including this one."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When a failed event is tried again, and when it is parked instead."""

    max_attempts: int = 8
    base_delay_s: float = 2.0
    max_delay_s: float = 600.0

    def delay(self, attempts: int) -> float:
        """Seconds before the next try after ``attempts`` failed ones: doubling, with jitter.

        The jitter spreads retries of a burst that failed together (platform outage) so they do
        not all come back in the same second.
        """
        delay = min(self.max_delay_s, self.base_delay_s * 2.0 ** max(0, attempts - 1))
        return delay * random.uniform(0.5, 1.0)  # noqa: S311 - scheduling, not cryptography


class EventQueue:
    """Claiming and finishing events for one worker (``worker_id``)."""

    def __init__(self, worker_id: str, *, lease_s: float, retry: RetryPolicy, skip_locked: bool) -> None:
        self.worker_id = worker_id
        self.lease = dt.timedelta(seconds=lease_s)
        self.retry = retry
        self._skip_locked = skip_locked

    async def claim(self, conn: AsyncConnection, limit: int) -> list[ClaimedEvent]:
        """Claim up to ``limit`` due events (oldest first): pending ones whose time has come, and
        processing ones whose worker's lease ran out. The caller commits the claim."""
        now = utcnow()
        due = sa.or_(
            sa.and_(_event.c.state == EventState.PENDING, _event.c.next_attempt_at <= now),
            sa.and_(_event.c.state == EventState.PROCESSING, _event.c.claimed_until < now),
        )
        candidates = sa.select(_event.c.id).where(due).order_by(_event.c.id).limit(limit)
        if self._skip_locked:
            candidates = candidates.with_for_update(skip_locked=True)
        stmt = (
            sa.update(_event)
            .where(_event.c.id.in_(candidates.scalar_subquery()))
            .values(
                state=EventState.PROCESSING,
                claimed_by=self.worker_id,
                claimed_until=now + self.lease,
                attempts=_event.c.attempts + 1,
            )
            .returning(
                _event.c.id,
                _event.c.source,
                _event.c.store_id,
                _event.c.corp_id,
                _event.c.event_type,
                _event.c.payload,
                _event.c.attempts,
            )
        )
        rows = (await conn.execute(stmt)).all()
        claimed = [ClaimedEvent(*row) for row in rows]
        claimed.sort(key=lambda event: event.id)
        return claimed

    async def hold(self, conn: AsyncConnection, ids: Collection[int]) -> set[int]:
        """Renew the lease on those of ``ids`` this worker still holds; the others were taken
        over by another worker after our lease ran out, and must not be applied by us.

        Run first in the applying transaction: on PostgreSQL the UPDATE locks the rows until
        commit, on SQLite it starts the write transaction the per-event savepoints nest in.
        """
        if not ids:
            return set()
        stmt = (
            sa.update(_event)
            .where(
                _event.c.id.in_(ids),
                _event.c.claimed_by == self.worker_id,
                _event.c.state == EventState.PROCESSING,
            )
            .values(claimed_until=utcnow() + self.lease)
            .returning(_event.c.id)
        )
        return set((await conn.execute(stmt)).scalars())

    async def finish(self, conn: AsyncConnection, ids: Collection[int]) -> None:
        """Mark events applied, in the transaction that applied them (see :meth:`hold`)."""
        if not ids:
            return
        await conn.execute(
            sa.update(_event)
            .where(_event.c.id.in_(ids), _event.c.claimed_by == self.worker_id)
            .values(state=EventState.DONE, applied_at=utcnow(), claimed_until=None, last_error=None)
        )

    async def fail(self, conn: AsyncConnection, event: ClaimedEvent, error: str) -> EventState:
        """Schedule another try of a failed event, or park it after ``max_attempts`` tries."""
        parked = event.attempts >= self.retry.max_attempts
        state = EventState.PARKED if parked else EventState.PENDING
        delay = dt.timedelta(seconds=0 if parked else self.retry.delay(event.attempts))
        await conn.execute(
            sa.update(_event)
            .where(_event.c.id == event.id, _event.c.claimed_by == self.worker_id)
            .values(
                state=state,
                next_attempt_at=utcnow() + delay,
                last_error=error[:_ERROR_MAX],
                claimed_by=None,
                claimed_until=None,
            )
        )
        return state

    async def release(self, conn: AsyncConnection, events: Sequence[ClaimedEvent], error: str) -> None:
        """Give back a batch that could not be applied at all (e.g. its transaction failed)."""
        for event in events:
            await self.fail(conn, event, error)
