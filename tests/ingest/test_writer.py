"""The group-commit writer: many pushes, few commits, each acknowledged only once stored."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import event

from desk.db import Database
from desk.ingest.models import EventSource, EventState
from desk.ingest.writer import EventRow, EventWriter, WriterUnavailableError
from tests.ingest.conftest import events


def row(store_id: int, n: int) -> EventRow:
    return EventRow(
        source=EventSource.CHANNELS,
        store_id=store_id,
        corp_id=None,
        event_type="channels_ec_order_pay",
        dedup_key=f"channels_ec_order_pay:{n}:1700000000",
        payload=f'{{"n": {n}}}',
        state=EventState.PENDING,
    )


@pytest.fixture
def commits(runtime) -> Iterator[list[int]]:
    """One entry per transaction committed during the test."""
    seen: list[int] = []

    def record(_conn) -> None:
        seen.append(1)

    event.listen(runtime.db.engine.sync_engine, "commit", record)
    yield seen
    event.remove(runtime.db.engine.sync_engine, "commit", record)


async def test_concurrent_pushes_share_commits_and_each_is_stored(runtime, make_store, commits) -> None:
    store = await make_store()
    writer = EventWriter(runtime.db, batch_max=64, batch_wait_ms=20, writers=2)
    await writer.start()
    try:
        await asyncio.gather(*(writer.submit(row(store.id, n)) for n in range(200)))
    finally:
        await writer.stop()
    assert len(await events(runtime)) == 200
    assert len(commits) <= 10  # 200 pushes, batches of up to 64: a handful of commits, not 200


async def test_duplicates_in_one_batch_and_across_batches_are_stored_once(runtime, make_store) -> None:
    store = await make_store()
    writer = EventWriter(runtime.db, batch_wait_ms=20)
    await writer.start()
    try:
        await asyncio.gather(*(writer.submit(row(store.id, n % 3)) for n in range(12)))
        await writer.submit(row(store.id, 1))
    finally:
        await writer.stop()
    assert sorted(e.dedup_key for e in await events(runtime)) == [
        row(store.id, n).dedup_key for n in range(3)
    ]


async def test_a_push_is_not_acknowledged_before_its_batch_commits(runtime, make_store) -> None:
    store = await make_store()
    writer = EventWriter(runtime.db)
    await writer.start()
    try:
        await writer.submit(row(store.id, 1))
        # Returned: so it is committed, visible to every other connection.
        assert [e.dedup_key for e in await events(runtime)] == [row(store.id, 1).dedup_key]
    finally:
        await writer.stop()


async def test_database_errors_fail_the_batch_with_unavailable(settings) -> None:
    down = Database(settings.with_changes(database_url="postgresql+asyncpg://desk@127.0.0.1:1/nowhere"))
    writer = EventWriter(down)
    await writer.start()
    try:
        results = await asyncio.gather(*(writer.submit(row(1, n)) for n in range(3)), return_exceptions=True)
    finally:
        await writer.stop()
        await down.dispose()
    assert all(isinstance(r, WriterUnavailableError) for r in results)


async def test_stop_stores_what_waits_and_refuses_the_rest(runtime, make_store) -> None:
    store = await make_store()
    writer = EventWriter(runtime.db, batch_wait_ms=50)
    await writer.start()
    pending = [asyncio.create_task(writer.submit(row(store.id, n))) for n in range(5)]
    await asyncio.sleep(0)  # they are queued
    await writer.stop()
    await asyncio.gather(*pending)
    assert len(await events(runtime)) == 5
    with pytest.raises(WriterUnavailableError):
        await writer.submit(row(store.id, 9))
