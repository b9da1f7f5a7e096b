"""Looking at stored events and putting failed ones back in the queue (admin page, JSON API)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.models import User
from desk.accounts.scoping import scoped
from desk.db import utcnow
from desk.ingest.models import EventSource, EventState, PlatformEvent
from desk.stores.models import Store, WeComCorp

__all__ = [
    "PREVIEW_CHARS",
    "EventSummary",
    "count_events_by_state",
    "events_needing_attention",
    "list_events",
    "replay_event",
    "replay_parked",
]

PREVIEW_CHARS = 300
REPLAYABLE = (EventState.PARKED, EventState.PENDING)


class EventSummary(msgspec.Struct, kw_only=True):
    """One stored event as people look at it: where it came from, how it went, what it said."""

    id: str
    source: EventSource
    event_type: str
    state: EventState
    account: str
    """The store's (or WeCom corp's) name."""
    store_id: str | None
    attempts: int
    last_error: str | None
    received_at: dt.datetime
    next_attempt_at: dt.datetime
    applied_at: dt.datetime | None
    preview: str
    """The start of the payload as received."""


def _summaries_query() -> sa.Select[*tuple[Any, ...]]:
    event = PlatformEvent
    return (
        sa.select(
            event.id,
            event.source,
            event.event_type,
            event.state,
            sa.func.coalesce(Store.name, WeComCorp.name, "").label("account"),
            event.store_id,
            event.attempts,
            event.last_error,
            event.received_at,
            event.next_attempt_at,
            event.applied_at,
            sa.func.substr(event.payload, 1, PREVIEW_CHARS).label("preview"),
        )
        .outerjoin(Store, Store.id == event.store_id)
        .outerjoin(WeComCorp, WeComCorp.id == event.corp_id)
    )


def _summary(row: sa.Row[tuple[object, ...]]) -> EventSummary:
    values = row._asdict()
    # Ids as strings, like every id the JSON API returns.
    values["id"] = str(values["id"])
    values["store_id"] = None if values["store_id"] is None else str(values["store_id"])
    return EventSummary(**values)


async def count_events_by_state(session: AsyncSession) -> dict[EventState, int]:
    """How many events are in each state (every state present, zero included)."""
    rows = await session.execute(
        sa.select(PlatformEvent.state, sa.func.count()).group_by(PlatformEvent.state)
    )
    counts = dict.fromkeys(EventState, 0)
    counts.update({EventState(state): n for state, n in rows})
    return counts


async def events_needing_attention(session: AsyncSession, limit: int = 100) -> list[EventSummary]:
    """Parked events, then events that failed at least once and wait for another try; newest first."""
    failing = sa.and_(PlatformEvent.state == EventState.PENDING, PlatformEvent.last_error.is_not(None))
    stmt = (
        _summaries_query()
        .where(sa.or_(PlatformEvent.state == EventState.PARKED, failing))
        .order_by((PlatformEvent.state == EventState.PARKED).desc(), PlatformEvent.id.desc())
        .limit(limit)
    )
    return [_summary(row) for row in await session.execute(stmt)]


async def list_events(
    session: AsyncSession, user: User, *, state: EventState | None, limit: int
) -> list[EventSummary]:
    """Events of the stores ``user`` may see, newest first.

    Admins see every event, WeCom corp callbacks included; others see their stores' events only.
    """
    stmt = _summaries_query().order_by(PlatformEvent.id.desc()).limit(limit)
    if state is not None:
        stmt = stmt.where(PlatformEvent.state == state)
    stmt = scoped(stmt, PlatformEvent.store_id, user)
    return [_summary(row) for row in await session.execute(stmt)]


def _replay(stmt: sa.Update) -> sa.Update:
    # A fresh start: no tries counted, due now. last_error stays until the next outcome replaces it.
    return stmt.values(
        state=EventState.PENDING, attempts=0, next_attempt_at=utcnow(), claimed_by=None, claimed_until=None
    )


async def replay_event(session: AsyncSession, event_id: int) -> bool:
    """Put a parked (or failing) event back in the queue, due now with its tries reset.

    Returns False when there is no such event or it is not parked or waiting for a retry (an
    event that is done, ignored or being applied right now is never re-applied).
    """
    stmt = _replay(
        sa.update(PlatformEvent).where(PlatformEvent.id == event_id, PlatformEvent.state.in_(REPLAYABLE))
    )
    result = await session.execute(stmt)
    return bool(result.rowcount)  # type: ignore[attr-defined]  # an UPDATE gives a CursorResult (rowcount)


async def replay_parked(session: AsyncSession) -> int:
    """Put every parked event back in the queue; returns how many."""
    result = await session.execute(
        _replay(sa.update(PlatformEvent).where(PlatformEvent.state == EventState.PARKED))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]  # an UPDATE gives a CursorResult (rowcount)
