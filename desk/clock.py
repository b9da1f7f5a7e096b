"""The desk's notion of "now", and of waiting: the system clock, or a hand-driven one in tests.

Everything that depends on time passing — the 3-minute reply deadline, assignment timers
(an offline agent's conversations return to the pool after 60 s), auto-resolve after idle hours,
rule timers — asks the runtime's clock instead of the wall clock. A test holds a
:class:`ManualClock` and moves it forward (``clock.advance(181)``): deadlines pass and sleepers
wake at once, without the test sleeping.

Row timestamps written for bookkeeping (``created_at``) keep using :func:`desk.db.utcnow`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
import itertools
import time
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current instant, timezone-aware UTC."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait until ``seconds`` have passed on this clock."""
        ...


class SystemClock:
    """The real time of the machine."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ManualClock:
    """A clock that moves only when told to; sleepers wake when it passes their time.

    ``sleep`` yields to the event loop once even for zero seconds, like :func:`asyncio.sleep`, so
    a loop that sleeps between rounds lets other tasks run.
    """

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._now = start or dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
        self._sleepers: list[tuple[dt.datetime, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> dt.datetime:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + dt.timedelta(seconds=seconds), next(self._order), future))
        await future

    def advance(self, seconds: float) -> None:
        """Move ``seconds`` forward and wake every sleeper whose time has come."""
        self.set(self._now + dt.timedelta(seconds=seconds))

    def set(self, instant: dt.datetime) -> None:
        """Jump to ``instant`` (never backwards) and wake the sleepers that are due."""
        if instant.tzinfo is None:
            raise ValueError("ManualClock takes timezone-aware instants")
        self._now = max(self._now, instant)
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)
