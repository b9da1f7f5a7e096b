"""Waking idle loops when there is new work: in this process at once, in others via PostgreSQL.

A loop that waits for work (the event worker, the command runner, the timer loop) waits on
:meth:`Wakeup.waiter` for its topic, with its poll interval as the timeout — the fallback if a
wake-up is ever missed. Whoever commits new work calls :meth:`Wakeup.announce` inside the
transaction:

* on PostgreSQL it issues ``NOTIFY desk_wakeup, '<topic>'``, which the server delivers when (and
  only if) the transaction commits — to every process, each of which holds one ``LISTEN``
  connection (separate ``desk worker`` processes wake within milliseconds instead of polling);
* on every footprint it wakes this process's waiters after the commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from desk.db import Database, Work, after_commit

__all__ = ["CHANNEL", "TOPICS", "Wakeup"]

log = logging.getLogger(__name__)

CHANNEL = "desk_wakeup"
TOPICS = frozenset({"events", "commands", "timers"})
_NOTIFY = sa.text(f"SELECT pg_notify('{CHANNEL}', :topic)")


class Wakeup:
    """Wake-ups by topic (``events``, ``commands``, ``timers``); a background service of the runtime."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._waiters: defaultdict[str, set[asyncio.Event]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()

    def waiter(self, topic: str) -> asyncio.Event:
        """An event set whenever ``topic`` is announced (the caller clears it before each wait)."""
        _check(topic)
        event = asyncio.Event()
        self._waiters[topic].add(event)
        return event

    def forget(self, topic: str, event: asyncio.Event) -> None:
        self._waiters[topic].discard(event)

    def wake(self, topic: str) -> None:
        """Wake this process's waiters on ``topic`` now."""
        for event in self._waiters.get(topic, ()):
            event.set()

    async def announce(self, work: Work, topic: str) -> None:
        """Wake every process's waiters on ``topic`` once ``work`` commits."""
        _check(topic)
        if not self.db.is_sqlite:
            await work.execute(_NOTIFY, {"topic": topic})
        after_commit(work, lambda: self.wake(topic))

    @property
    def notify_statement(self) -> sa.TextClause | None:
        """``SELECT pg_notify(…)`` for code that batches its own statements (the ingest writer)."""
        return None if self.db.is_sqlite else _NOTIFY

    # -- LISTEN ---------------------------------------------------------------------------------------

    async def start(self) -> None:
        if self.db.is_sqlite:
            return  # one process (the embedded footprint): local wake-ups are all there is
        self._task = asyncio.create_task(self._listen_forever(), name="wakeup-listen")
        # Not waiting for the connection would leave a window in which a NOTIFY goes unheard;
        # the poll would still find the work, but later. Wait briefly, then carry on regardless.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await self._listening.wait()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _listen_forever(self) -> None:
        url = make_url(self.db.settings.database_url).set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        delay = 1.0
        while True:
            try:
                conn = await asyncpg.connect(dsn)
            except Exception as exc:  # the database is away: the loops keep polling meanwhile
                log.warning("wake-ups: cannot LISTEN (%s); retrying in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            lost = asyncio.Event()
            try:
                conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
                await conn.add_listener(CHANNEL, self._on_notify)
                self._listening.set()
                delay = 1.0
                # A wake-up may have been sent while we were not listening: wake everyone once.
                for topic in TOPICS:
                    self.wake(topic)
                await lost.wait()
                log.warning("wake-ups: LISTEN connection lost; reconnecting")
            finally:
                self._listening.clear()
                with contextlib.suppress(Exception):
                    await conn.close(timeout=2)

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        if payload in TOPICS:
            self.wake(payload)


def _check(topic: str) -> None:
    if topic not in TOPICS:
        raise ValueError(f"unknown wake-up topic {topic!r}; known: {', '.join(sorted(TOPICS))}")
