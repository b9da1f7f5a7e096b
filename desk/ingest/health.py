"""Whether the platform's pushes reach a store's URL: the store page's "connection" line."""

from __future__ import annotations

import datetime as dt

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from desk.db import utcnow
from desk.ingest.models import EventState, PlatformEvent, PushHour

__all__ = ["PushHealth", "push_health"]

_event = PlatformEvent.__table__
_hour = PushHour.__table__


class PushHealth(msgspec.Struct, frozen=True):
    """Whether the platform's pushes reach a store's URL."""

    last_received_at: dt.datetime | None
    received_24h: int
    parked: int
    """Pushes that could not be applied after every retry (an admin can replay them)."""


async def push_health(session: AsyncSession, store_id: int, *, now: dt.datetime | None = None) -> PushHealth:
    """The store's latest push, how many arrived in the last 24 hours, and how many are parked.

    Read from the hourly counters the ingest writer keeps (at most 25 rows), and the parked
    events' own small index — never by counting a day of events. The caller has checked the user
    may see ``store_id``.
    """
    # Whole hours: the oldest counted hour may reach up to an hour past 24 h, which the page's
    # "about" wording allows, and which keeps this at most 25 rows per store.
    since = ((now or utcnow()) - dt.timedelta(hours=24)).replace(minute=0, second=0, microsecond=0)
    hours = (
        await session.execute(
            sa.select(
                sa.func.max(_hour.c.last_received_at), sa.func.coalesce(sa.func.sum(_hour.c.pushes), 0)
            ).where(_hour.c.store_id == store_id, _hour.c.hour >= since)
        )
    ).one()
    latest = hours[0]
    if latest is None:  # nothing in the last day: when was the last push at all?
        latest = (
            await session.execute(
                sa.select(sa.func.max(_hour.c.last_received_at)).where(_hour.c.store_id == store_id)
            )
        ).scalar()
    parked = (
        await session.execute(
            sa.select(sa.func.count()).where(
                _event.c.state == EventState.PARKED, _event.c.store_id == store_id
            )
        )
    ).scalar_one()
    return PushHealth(last_received_at=latest, received_24h=int(hours[1]), parked=int(parked))
