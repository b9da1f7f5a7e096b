"""Forgetting applied events after ``event_retention_days``, so the event table stays small.

An event is kept while it matters: pending, processing and parked events are never removed,
whatever their age. Done and ignored ones are kept long enough to outlive every retry of the same
push (the platform gives up after about 3.6 hours, spec §5) and to be inspected or replayed by
later tools; after the retention period they are deleted in small batches, oldest first, so the
purge never holds long locks on the table pushes are written to.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging

import sqlalchemy as sa

from desk.db import Database, utcnow
from desk.ingest.models import EventState, PlatformEvent, PushHour

__all__ = ["RetentionJob", "purge_applied_events"]

log = logging.getLogger(__name__)

_BATCH = 5_000
_INTERVAL_S = 3600.0
_FINISHED = (EventState.DONE, EventState.IGNORED)


async def purge_applied_events(db: Database, *, older_than: dt.timedelta, batch: int = _BATCH) -> int:
    """Delete done and ignored events received before ``now - older_than``; returns how many."""
    cutoff = utcnow() - older_than
    event = PlatformEvent.__table__
    # Ids grow with arrival, so walking the primary key from the start meets the oldest rows
    # first and each batch stops early instead of scanning the table.
    oldest = (
        sa.select(event.c.id)
        .where(event.c.state.in_(_FINISHED), event.c.received_at < cutoff)
        .order_by(event.c.id)
        .limit(batch)
    )
    removed = 0
    while True:
        async with db.engine.begin() as conn:
            result = await conn.execute(sa.delete(event).where(event.c.id.in_(oldest.scalar_subquery())))
        removed += result.rowcount
        if result.rowcount < batch:
            break
    # The hourly push counters (desk.ingest.health) go with the events they counted: at most
    # 24 rows per store per day, so one statement does.
    async with db.engine.begin() as conn:
        await conn.execute(sa.delete(PushHour.__table__).where(PushHour.__table__.c.hour < cutoff))
    return removed


class RetentionJob:
    """Runs :func:`purge_applied_events` every hour (a background service of the worker)."""

    def __init__(self, db: Database, retention_days: int) -> None:
        self.db = db
        self.retention = dt.timedelta(days=retention_days)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="event-retention")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            try:
                removed = await purge_applied_events(self.db, older_than=self.retention)
                if removed:
                    log.info("forgot %d applied events older than %s", removed, self.retention)
            except Exception:  # the database is away, say: try again next time
                log.exception("event retention round failed")
            await asyncio.sleep(_INTERVAL_S)
