"""The store page's connection line: pushes received per store, counted as they are stored."""

from __future__ import annotations

import asyncio
import datetime as dt

import sqlalchemy as sa

from desk.db import utcnow
from desk.ingest.health import push_health
from desk.ingest.models import EventSource, EventState, PlatformEvent, PushHour
from desk.ingest.retention import purge_applied_events
from desk.ingest.writer import EventRow, EventWriter
from desk.runtime import Runtime


def _row(store_id: int, n: int, state: EventState = EventState.PENDING) -> EventRow:
    return EventRow(
        source=EventSource.CHANNELS,
        store_id=store_id,
        corp_id=None,
        event_type="channels_ec_order_pay",
        dedup_key=f"pay:{store_id}:{n}",
        payload="{}",
        state=state,
    )


async def _health(runtime: Runtime, store_id: int, now: dt.datetime | None = None):
    async with runtime.db.session() as session:
        return await push_health(session, store_id, now=now)


async def test_each_stores_pushes_are_counted_as_they_are_stored(runtime: Runtime, make_store) -> None:
    first, second, quiet = await make_store(), await make_store(), await make_store()
    writer = EventWriter(runtime.db, batch_wait_ms=20)
    await writer.start()
    try:
        await asyncio.gather(
            *(writer.submit(_row(first.id, n)) for n in range(5)),
            *(writer.submit(_row(second.id, n)) for n in range(3)),
        )
        await writer.submit(_row(second.id, 99, EventState.PARKED))
    finally:
        await writer.stop()

    one, two, none = [await _health(runtime, s.id) for s in (first, second, quiet)]
    assert (one.received_24h, one.parked) == (5, 0)
    assert (two.received_24h, two.parked) == (4, 1)
    assert one.last_received_at is not None
    assert utcnow() - one.last_received_at < dt.timedelta(minutes=1)
    assert (none.received_24h, none.last_received_at) == (0, None)


async def test_old_pushes_leave_the_count_but_not_the_last_seen_time(runtime: Runtime, make_store) -> None:
    store = await make_store()
    now = utcnow()
    long_ago = (now - dt.timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    async with runtime.db.session() as session:
        session.add(PushHour(store_id=store.id, hour=long_ago, pushes=40, last_received_at=long_ago))

    health = await _health(runtime, store.id, now)
    assert health.received_24h == 0
    assert health.last_received_at == long_ago  # "last push three days ago" tells the admin something


async def test_the_purge_forgets_counters_older_than_the_retention(runtime: Runtime, make_store) -> None:
    store = await make_store()
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    async with runtime.db.session() as session:
        for days in (40, 2):
            hour = now - dt.timedelta(days=days)
            session.add(PushHour(store_id=store.id, hour=hour, pushes=1, last_received_at=hour))
        session.add(
            PlatformEvent(
                source=EventSource.CHANNELS,
                store_id=store.id,
                event_type="x",
                dedup_key="x",
                payload="{}",
                state=EventState.DONE,
                received_at=now,
                next_attempt_at=now,
            )
        )

    await purge_applied_events(runtime.db, older_than=dt.timedelta(days=30))

    async with runtime.db.session() as session:
        hours = list(await session.scalars(sa.select(PushHour.hour)))
    assert hours == [now - dt.timedelta(days=2)]
