"""The rollup applier: adds pending facts to the rollups, a background service of worker processes.

Facts are written with the changes they record; this adds them to the rollups a moment later
(:func:`desk.metrics.rollups.apply_pending`), a batch per transaction, until none is pending,
then waits ``interval_s``. Any number may run (PostgreSQL hands each a different batch).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from desk.db import Database, log_round_failure
from desk.metrics.rollups import apply_pending

__all__ = ["RollupApplier"]

log = logging.getLogger(__name__)


class RollupApplier:
    def __init__(self, db: Database, *, interval_s: float = 1.0, batch: int = 5000) -> None:
        self.db = db
        self.interval_s = interval_s
        self.batch = batch
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="metrics-rollups")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def drain(self) -> int:
        """Apply every pending fact now; returns how many."""
        applied = 0
        while True:
            async with self.db.transaction() as conn:
                n = await apply_pending(conn, limit=self.batch)
            applied += n
            if n < self.batch:
                return applied

    async def _loop(self) -> None:
        while True:
            try:
                await self.drain()
            except Exception as exc:  # the database is away, say: next round
                task = asyncio.current_task()
                if (
                    task is not None and task.cancelling()
                ):  # a cancellation SQLAlchemy re-raised as its own error
                    raise asyncio.CancelledError from None
                log_round_failure(log, "metrics: applying facts to the rollups", exc)
            await asyncio.sleep(self.interval_s)  # wall time: how fresh dashboards are, not business time
