"""The change bus: events reach every process's listeners, through the channel or the table."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from desk.changes.bus import ChangeBus
from desk.changes.events import ConversationChanged
from desk.changes.record import record
from desk.db import Database
from desk.runtime import Runtime
from desk.settings import Settings


@asynccontextmanager
async def other_process(settings: Settings, redis: Redis | None) -> AsyncIterator[ChangeBus]:
    """A bus over its own engine, as another app or worker process has."""
    db = Database(settings)
    bus = ChangeBus(db, redis, poll_s=0.2)
    await bus.start()
    try:
        yield bus
    finally:
        await bus.stop()
        await db.dispose()


def _change(store_id: int, n: int) -> ConversationChanged:
    return ConversationChanged(store_id=store_id, conversation_id=n, what="waiting")


async def test_another_process_hears_a_committed_change(
    runtime: Runtime, settings: Settings, make_store
) -> None:
    store = await make_store()
    async with other_process(settings, runtime.redis) as bus, bus.listen(None) as listener:
        async with runtime.db.session() as session:
            (event_id,) = await record(session, _change(store.id, 1))
        got = await listener.get(timeout=5)
    assert got is not None
    assert got[0] == event_id
    if runtime.redis is not None:
        assert bus.recovered == 0  # heard on the Redis channel, not found by reading the table


async def test_a_change_nobody_announced_is_found_in_the_table(runtime: Runtime, make_store) -> None:
    store = await make_store()
    async with runtime.changes.listen({store.id}) as listener:
        # A transaction without after-commit callbacks (a script, say): the row alone.
        async with runtime.db.engine.begin() as conn:
            (event_id,) = await record(conn, _change(store.id, 5))
        before = runtime.changes.recovered
        await runtime.changes.poll()
        got = await listener.get(timeout=3)
    assert got is not None
    assert got[0] == event_id
    assert runtime.changes.recovered == before + 1


async def test_with_redis_unreachable_changes_still_arrive_and_none_twice(
    runtime: Runtime, settings: Settings, make_store
) -> None:
    store = await make_store()
    unreachable = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        async with other_process(settings, unreachable) as bus, bus.listen(None) as listener:
            async with runtime.db.session() as session:
                ids = await record(session, _change(store.id, 1), _change(store.id, 2))
            got = [await listener.get(timeout=5), await listener.get(timeout=5)]
            await bus.poll()  # reading the table again delivers nothing twice
            assert await listener.get(timeout=0.5) is None
    finally:
        await unreachable.aclose()
    assert [item[0] for item in got if item] == ids


async def test_catching_up_reads_committed_changes_after_an_id(runtime: Runtime, make_store) -> None:
    mine, theirs = await make_store(), await make_store()
    async with runtime.db.session() as session:
        first, _, third = await record(
            session, _change(mine.id, 1), _change(theirs.id, 2), _change(mine.id, 3)
        )
    caught_up = await runtime.changes.since(first, {mine.id})
    assert [event_id for event_id, _ in caught_up] == [third]
