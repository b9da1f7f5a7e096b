"""Scheduling and cancelling timers, in the caller's unit of work."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import sqlalchemy as sa

from desk.db import Work, dialect_name, insert_for, rows_matched, utcnow
from desk.timers.models import Timer, TimerState

__all__ = ["cancel", "schedule"]

_timer = Timer.__table__


@functools.cache
def _upsert(dialect_name: str) -> sa.Insert:
    insert = insert_for(dialect_name, _timer)
    # Scheduling a key again moves the timer (and revives one that already fired).
    return insert.on_conflict_do_update(
        index_elements=[_timer.c.key],
        set_={
            "kind": insert.excluded.kind,
            "store_id": insert.excluded.store_id,
            "payload": insert.excluded.payload,
            "due_at": insert.excluded.due_at,
            "next_attempt_at": insert.excluded.next_attempt_at,
            "state": TimerState.PENDING,
            "attempts": 0,
            "claimed_by": None,
            "claimed_until": None,
            "last_error": None,
        },
    )


async def schedule(
    work: Work,
    *,
    key: str,
    kind: str,
    due_at: dt.datetime,
    payload: dict[str, Any] | None = None,
    store_id: int | None = None,
) -> None:
    """Run the ``kind`` handler with ``payload`` at ``due_at``; replaces any timer with this ``key``."""
    values = {
        "key": key,
        "kind": kind,
        "store_id": store_id,
        "payload": payload or {},
        "due_at": due_at,
        "next_attempt_at": due_at,
        "state": TimerState.PENDING,
        "attempts": 0,
        "created_at": utcnow(),
    }
    await work.execute(_upsert(dialect_name(work)), values)


async def cancel(work: Work, key: str) -> bool:
    """Cancel the pending timer ``key``; whether there was one."""
    result = await work.execute(
        sa.delete(_timer).where(_timer.c.key == key, _timer.c.state == TimerState.PENDING)
    )
    return bool(rows_matched(result))
