"""Applied events are forgotten after the retention period; unfinished ones never are."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from desk.db import utcnow
from desk.ingest.models import EventSource, EventState, PlatformEvent
from desk.ingest.retention import purge_applied_events
from desk.runtime import Runtime


async def _event(runtime: Runtime, store_id: int, key: str, state: EventState, age: dt.timedelta) -> None:
    received = utcnow() - age
    async with runtime.db.session() as session:
        session.add(
            PlatformEvent(
                source=EventSource.CHANNELS,
                store_id=store_id,
                event_type="channels_ec_order_pay",
                dedup_key=key,
                payload="{}",
                state=state,
                received_at=received,
                next_attempt_at=received,
            )
        )


async def test_old_applied_events_go_and_everything_else_stays(runtime: Runtime, make_store) -> None:
    store = await make_store()
    old, recent = dt.timedelta(days=31), dt.timedelta(days=29)
    for state in EventState:
        await _event(runtime, store.id, f"old-{state}", state, old)
        await _event(runtime, store.id, f"recent-{state}", state, recent)

    removed = await purge_applied_events(runtime.db, older_than=dt.timedelta(days=30), batch=1)

    assert removed == 2
    async with runtime.db.session() as session:
        left = set(await session.scalars(sa.select(PlatformEvent.dedup_key)))
    assert left == {f"recent-{s}" for s in EventState} | {
        f"old-{s}" for s in (EventState.PENDING, EventState.PROCESSING, EventState.PARKED)
    }
