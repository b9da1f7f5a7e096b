"""A store's calendar for the figures: its time zone, assessment window and reply deadline."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
import sqlalchemy as sa

from desk.db import Work
from desk.stores.models import Store

__all__ = ["DEFAULT_CALENDAR", "StoreCalendar", "calendar_of"]

_store = Store.__table__
log = logging.getLogger(__name__)
_FALLBACK_ZONE = "Asia/Shanghai"


@functools.cache
def _zone(name: str) -> ZoneInfo:
    # Facts are written while a message is filed: a store's unknown time zone must not stop that.
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("metrics: unknown time zone %r, counting in %s", name, _FALLBACK_ZONE)
        return ZoneInfo(_FALLBACK_ZONE)


class StoreCalendar(msgspec.Struct, frozen=True):
    """How one store's figures read time (the store's settings, see :class:`~desk.stores.models.Store`)."""

    timezone: str = "Asia/Shanghai"
    assessment_start_min: int = 480
    """First minute of the local day inside the assessment window (08:00)."""
    assessment_end_min: int = 1440
    """First minute after it (24:00, i.e. midnight); below the start, the window wraps midnight."""
    reply_deadline_s: int = 180

    def local(self, instant: dt.datetime) -> dt.datetime:
        """``instant`` on the store's wall clock."""
        return instant.astimezone(_zone(self.timezone))

    def day_and_hour(self, instant: dt.datetime) -> tuple[dt.date, int]:
        """The store's local day and hour (0–23) at ``instant``: the rollup a fact adds to."""
        local = self.local(instant)
        return local.date(), local.hour

    def in_window(self, instant: dt.datetime) -> bool:
        """Whether a consultation opened at ``instant`` counts for the store score.

        The window is [start, end) in local minutes: with the default 08:00–24:00, 07:59:59 is
        outside and 08:00:00 inside. A window whose end is before its start runs over midnight.
        """
        local = self.local(instant)
        minute = local.hour * 60 + local.minute
        start, end = self.assessment_start_min, self.assessment_end_min
        if start <= end:
            return start <= minute < end
        return minute >= start or minute < end

    def in_time(self, response_s: float) -> bool:
        """Whether a first human reply after ``response_s`` seconds meets the deadline (≤ 180 s)."""
        return response_s <= self.reply_deadline_s


DEFAULT_CALENDAR = StoreCalendar()

_select = sa.select(
    _store.c.timezone, _store.c.assessment_start_min, _store.c.assessment_end_min, _store.c.reply_deadline_s
).where(_store.c.id == sa.bindparam("store_id"))


async def calendar_of(work: Work, store_id: int) -> StoreCalendar:
    """The store's calendar as its settings say now (the defaults for an unknown store)."""
    row = (await work.execute(_select, {"store_id": store_id})).one_or_none()
    if row is None:
        return DEFAULT_CALENDAR
    return StoreCalendar(
        timezone=row.timezone or DEFAULT_CALENDAR.timezone,
        assessment_start_min=row.assessment_start_min,
        assessment_end_min=row.assessment_end_min,
        reply_deadline_s=row.reply_deadline_s,
    )
