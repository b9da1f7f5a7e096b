"""Wake-ups: new work wakes idle loops once it is committed — in other processes too (PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from desk.db import Database
from desk.runtime import Runtime
from desk.settings import Settings
from desk.wakeup import Wakeup


async def _is_set(event: asyncio.Event, within: float) -> bool:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(within):
            await event.wait()
    return event.is_set()


async def test_a_wakeup_comes_after_the_commit_and_never_after_a_rollback(runtime: Runtime) -> None:
    waiter = runtime.wakeup.waiter("commands")
    try:
        async with runtime.db.session() as session:
            await runtime.wakeup.announce(session, "commands")
            assert not await _is_set(waiter, 0.2)
        assert await _is_set(waiter, 2)
        # On PostgreSQL this process hears its own NOTIFY too, a moment after the local wake-up:
        # let it arrive before looking for (the absence of) the next one.
        await asyncio.sleep(0.3)
        waiter.clear()
        with contextlib.suppress(RuntimeError):
            async with runtime.db.session() as session:
                await runtime.wakeup.announce(session, "commands")
                raise RuntimeError("rolled back")
        assert not await _is_set(waiter, 0.3)
    finally:
        runtime.wakeup.forget("commands", waiter)


async def test_another_process_is_woken_by_notify(runtime: Runtime, settings: Settings) -> None:
    if runtime.db.is_sqlite:
        pytest.skip("one process on SQLite: LISTEN/NOTIFY is PostgreSQL's")
    db = Database(settings)
    other = Wakeup(db)
    await other.start()
    waiter = other.waiter("events")
    try:
        async with runtime.db.session() as session:
            await runtime.wakeup.announce(session, "events")
            assert not await _is_set(waiter, 0.2)  # NOTIFY is delivered on commit
        assert await _is_set(waiter, 2)
    finally:
        await other.stop()
        await db.dispose()


def test_unknown_topics_are_refused(runtime: Runtime) -> None:
    with pytest.raises(ValueError, match="unknown wake-up topic"):
        runtime.wakeup.waiter("emails")
