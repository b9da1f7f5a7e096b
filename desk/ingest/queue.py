"""The ``platform_event`` table as a work queue (see :mod:`desk.leases` for claim / lease / finish).

Events are claimed in batches, their effects and their ``done`` mark commit together, and a
worker that dies leaves its claims to be taken over when their lease runs out: an event is
applied exactly once however often it is claimed.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from desk.db import utcnow
from desk.ingest.models import EventSource, EventState, PlatformEvent
from desk.leases import LeaseQueue, QueueStates, RetryPolicy

__all__ = ["ClaimedEvent", "EventQueue", "RetryPolicy"]

_event = PlatformEvent.__table__
_STATES = QueueStates(
    pending=EventState.PENDING,
    processing=EventState.PROCESSING,
    done=EventState.DONE,
    parked=EventState.PARKED,
)


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


class EventQueue:
    """Claiming and finishing events for one worker (``worker_id``)."""

    def __init__(self, worker_id: str, *, lease_s: float, retry: RetryPolicy, skip_locked: bool) -> None:
        self._queue = LeaseQueue(
            _event,
            worker_id,
            states=_STATES,
            lease_s=lease_s,
            retry=retry,
            skip_locked=skip_locked,
            returning=[
                _event.c.id,
                _event.c.source,
                _event.c.store_id,
                _event.c.corp_id,
                _event.c.event_type,
                _event.c.payload,
                _event.c.attempts,
            ],
        )
        self.worker_id = worker_id
        self.retry = retry

    async def claim(self, conn: AsyncConnection, limit: int) -> list[ClaimedEvent]:
        """Claim up to ``limit`` due events, oldest first; the caller commits the claim."""
        return [ClaimedEvent(*row) for row in await self._queue.claim(conn, limit)]

    async def hold(self, conn: AsyncConnection, ids: Collection[int]) -> set[int]:
        """Renew the lease on those of ``ids`` this worker still holds (see :meth:`LeaseQueue.hold`)."""
        return await self._queue.hold(conn, ids)

    async def finish(self, conn: AsyncConnection, ids: Collection[int]) -> None:
        """Mark events applied, in the transaction that applied them."""
        await self._queue.finish(conn, ids, applied_at=utcnow())

    async def fail(self, conn: AsyncConnection, event: ClaimedEvent, error: str) -> EventState:
        """Schedule another try of a failed event, or park it after ``max_attempts`` tries."""
        return EventState(await self._queue.fail(conn, event.id, event.attempts, error))

    async def release(self, conn: AsyncConnection, events: Sequence[ClaimedEvent], error: str) -> None:
        """Give back a batch that could not be applied at all (e.g. its transaction failed)."""
        for event in events:
            await self.fail(conn, event, error)
