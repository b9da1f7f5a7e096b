"""The group-commit writer: pushes are stored in batches, each acknowledged after its batch commits.

A commit costs an fsync, and one fsync per push caps a webhook at a few hundred pushes a second.
So the webhook hands its row to :class:`EventWriter` and waits. A writer task takes the waiting
rows — at once when no other batch is committing; otherwise it first gathers more for up to
``ingest_batch_wait_ms`` (or until ``ingest_batch_max``) — stores them with one
``INSERT … ON CONFLICT DO NOTHING`` executed for the whole batch (one prepared statement, one
round trip) and one commit, and only then tells every waiting request that its push is durable.
Several writer tasks take turns, so while one batch commits the next gathers: under load batches
grow by themselves, and when quiet a push waits for nothing but its own commit.

A database error fails the whole batch: every waiting request answers 503 and the platform
retries the push later. ``ON CONFLICT DO NOTHING`` makes a retried (or duplicated) push a no-op.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from desk.db import Database, insert_for, utcnow
from desk.ingest.models import EventSource, EventState, PlatformEvent, PushHour

__all__ = ["EventRow", "EventWriter", "WriterUnavailableError"]

log = logging.getLogger(__name__)

# PostgreSQL and SQLite cap bound parameters per statement; 10 columns x 1000 rows stays below both.
_MAX_ROWS_PER_INSERT = 1000


class WriterUnavailableError(RuntimeError):
    """The push could not be stored (database error, or the writer is shutting down)."""


@dataclass(frozen=True, slots=True)
class EventRow:
    """One push, ready to insert into ``platform_event``."""

    source: EventSource
    store_id: int | None
    corp_id: int | None
    event_type: str
    dedup_key: str
    payload: str
    state: EventState


class EventWriter:
    """Batches rows into few commits; :meth:`submit` returns once the row's batch is durable."""

    def __init__(
        self,
        db: Database,
        *,
        batch_max: int = 256,
        batch_wait_ms: float = 2.0,
        writers: int = 4,
        on_commit: Callable[[], None] | None = None,
        notify: sa.Executable | None = None,
    ) -> None:
        self._db = db
        self._batch_max = max(1, min(batch_max, _MAX_ROWS_PER_INSERT))
        self._batch_wait = max(0.0, batch_wait_ms / 1000)
        self._on_commit = on_commit
        self._notify = notify
        self._waiting: list[tuple[EventRow, asyncio.Future[None]]] = []
        self._has_rows = asyncio.Event()
        self._full = asyncio.Event()
        self._writers = max(1, writers)
        self._committing = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._insert = insert_for(db.engine.dialect.name, PlatformEvent.__table__).on_conflict_do_nothing()
        hours = PushHour.__table__
        count = insert_for(db.engine.dialect.name, hours)
        # The store's hourly push counter (desk.ingest.health): one upsert per store per batch.
        self._count = count.on_conflict_do_update(
            index_elements=[hours.c.store_id, hours.c.hour],
            set_={
                "pushes": hours.c.pushes + count.excluded.pushes,
                "last_received_at": count.excluded.last_received_at,
            },
        )

    async def start(self) -> None:
        if not self._tasks:
            self._closing = False
            self._tasks = [
                asyncio.create_task(self._run(), name=f"ingest-writer-{n}") for n in range(self._writers)
            ]

    async def stop(self) -> None:
        """Store what is already waiting, then stop; later submissions are refused."""
        self._closing = True
        tasks, self._tasks = self._tasks, []
        self._has_rows.set()  # wake the loops so they see _closing once the queue is empty
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def submit(self, row: EventRow) -> None:
        """Store ``row``; return when it is committed.

        Raises:
            WriterUnavailableError: when the batch could not be committed or the writer is stopped.
        """
        if not self._tasks or self._closing:
            raise WriterUnavailableError("the ingest writer is not running")
        # One future per row: a request cancelled while waiting (the client went away) cancels
        # only its own; the row is committed with its batch all the same.
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((row, future))
        self._has_rows.set()
        if len(self._waiting) >= self._batch_max:
            self._full.set()
        await future

    async def _run(self) -> None:
        while True:
            await self._has_rows.wait()
            if not self._waiting:
                if self._closing:
                    return
                self._has_rows.clear()
                continue
            # Gather only while another batch is committing: alone, a push is stored at once (no
            # added latency when quiet); under load the wait turns many commits into one.
            if (
                self._committing
                and len(self._waiting) < self._batch_max
                and self._batch_wait
                and not self._closing
            ):
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._batch_wait):
                        await self._full.wait()
            batch = self._waiting[: self._batch_max]
            del self._waiting[: self._batch_max]
            if len(self._waiting) < self._batch_max:
                self._full.clear()
            if not self._waiting and not self._closing:  # closing: keep every loop awake to exit
                self._has_rows.clear()
            if batch:  # (another loop may have taken everything while this one waited)
                self._committing += 1
                try:
                    await self._commit(batch)
                finally:
                    self._committing -= 1

    async def _commit(self, batch: list[tuple[EventRow, asyncio.Future[None]]]) -> None:
        now = utcnow()
        try:
            async with self._db.engine.begin() as conn:
                await conn.execute(self._insert, [_values(row, now) for row, _ in batch])
                if counts := _per_store(batch):
                    hour = now.replace(minute=0, second=0, microsecond=0)
                    await conn.execute(
                        self._count,
                        [
                            {"store_id": store_id, "hour": hour, "pushes": n, "last_received_at": now}
                            for store_id, n in sorted(counts.items())  # one lock order for every writer
                        ],
                    )
                if self._notify is not None:  # delivered to other processes with the commit
                    await conn.execute(self._notify, {"topic": "events"})
        except Exception as exc:  # any driver error means the same: these pushes are not stored
            log.error("could not store %d push(es), answering 503: %s", len(batch), exc)
            error = WriterUnavailableError("the event store is unavailable")
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for _, future in batch:
            if not future.done():
                future.set_result(None)
        if self._on_commit is not None:
            self._on_commit()


def _per_store(batch: list[tuple[EventRow, asyncio.Future[None]]]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for row, _ in batch:
        if row.store_id is not None:
            counts[row.store_id] = counts.get(row.store_id, 0) + 1
    return counts


def _values(row: EventRow, now: dt.datetime) -> dict[str, object]:
    return {
        "source": row.source,
        "store_id": row.store_id,
        "corp_id": row.corp_id,
        "event_type": row.event_type,
        "dedup_key": row.dedup_key,
        "payload": row.payload,
        "state": row.state,
        "received_at": now,
        "next_attempt_at": now,
        "attempts": 0,
    }
