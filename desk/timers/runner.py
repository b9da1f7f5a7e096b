"""The timer runner: fires due timers, each in its own transaction, exactly once.

A handler's effects and the timer's ``done`` commit together (and are published after), so a
runner killed mid-way fires the timer again later rather than never; a failing handler is retried
with backoff and parked after several tries. "Due" is read from the runtime's clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from desk.clock import Clock
from desk.db import Database, log_round_failure
from desk.leases import LeaseQueue, QueueStates, RetryPolicy
from desk.timers.models import Timer, TimerState
from desk.wakeup import Wakeup

__all__ = ["TimerHandler", "TimerRunner"]

log = logging.getLogger(__name__)

_timer = Timer.__table__
TimerHandler = Callable[[AsyncConnection, dict[str, Any], int | None, dt.datetime], Awaitable[None]]
"""``handler(conn, payload, store_id, now)``: the timer's effects, inside its transaction."""


class TimerRunner:
    """A background service; :meth:`fire_due` fires what is due now (tests move the clock first)."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        handlers: Mapping[str, TimerHandler],
        *,
        name: str,
        wakeup: Wakeup | None = None,
        poll_s: float = 1.0,
    ) -> None:
        self.db = db
        self.clock = clock
        self.handlers = handlers
        self.wakeup = wakeup
        self.poll_s = poll_s
        self.queue = LeaseQueue(
            _timer,
            name,
            states=QueueStates(TimerState.PENDING, TimerState.PROCESSING, TimerState.DONE, TimerState.PARKED),
            lease_s=60.0,
            retry=RetryPolicy(max_attempts=6, base_delay_s=2.0, max_delay_s=120.0),
            skip_locked=not db.is_sqlite,
            returning=[_timer.c.id, _timer.c.kind, _timer.c.payload, _timer.c.store_id, _timer.c.attempts],
            now=clock.now,
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="timer-runner")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        wake = self.wakeup.waiter("timers") if self.wakeup else asyncio.Event()
        try:
            while True:
                wake.clear()
                try:
                    await self.fire_due()
                except Exception as exc:  # the database went away, say: try again next round
                    log_round_failure(log, "timer runner", exc)
                # Timers are due in the second they name: polling each second fires them within
                # it (conversation.waiting must fire within 2 s of its second).
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_s):
                        await wake.wait()
        finally:
            if self.wakeup:
                self.wakeup.forget("timers", wake)

    async def fire_due(self) -> int:
        """Fire every timer due now; returns how many fired."""
        fired = 0
        while True:
            async with self.db.engine.begin() as conn:
                rows = await self.queue.claim(conn, 100)
            if not rows:
                return fired
            for row in rows:
                fired += await self._fire(row)

    async def _fire(self, row: Any) -> int:
        handler = self.handlers.get(row.kind)
        try:
            async with self.db.transaction() as conn:
                if not await self.queue.hold(conn, [row.id]):
                    return 0
                if handler is None:
                    raise LookupError(f"no timer handler for {row.kind!r}")
                await handler(conn, dict(row.payload or {}), row.store_id, self.clock.now())
                await self.queue.finish(conn, [row.id])
        except Exception as exc:  # one timer's failure must not stop the others
            log.warning("timer %d (%s) failed: %s", row.id, row.kind, exc)
            async with self.db.engine.begin() as conn:
                await self.queue.fail(conn, row.id, row.attempts, f"{type(exc).__name__}: {exc}")
            return 0
        return 1
