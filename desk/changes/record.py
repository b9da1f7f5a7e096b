"""Recording change events in the unit of work that made the change.

:func:`record` inserts the events' rows with the change (so they exist exactly when the change
does) and, after the commit, hands them to the process's :class:`~desk.changes.bus.ChangeBus`
for publishing. Which bus: the one registered for the unit of work's engine — the runtime
registers its bus when it starts. Without a bus (a CLI command, say) the rows are still written;
every running desk process finds them when it next reads the table.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from desk.changes.events import AnyChange, encode_change
from desk.changes.models import ChangeEvent
from desk.db import Work, after_commit, collects_callbacks, utcnow

if TYPE_CHECKING:
    from desk.changes.bus import ChangeBus

__all__ = ["Recorded", "record", "register_bus", "unregister_bus"]

_table = ChangeEvent.__table__
_insert = sa.insert(_table).returning(_table.c.id)

Recorded = tuple[int, AnyChange]
"""An event with the id of its row."""

_buses: weakref.WeakKeyDictionary[object, ChangeBus] = weakref.WeakKeyDictionary()


def register_bus(engine: object, bus: ChangeBus) -> None:
    """Publish events recorded on ``engine`` (an AsyncEngine or its sync engine) through ``bus``."""
    _buses[_sync_engine(engine)] = bus


def unregister_bus(engine: object) -> None:
    _buses.pop(_sync_engine(engine), None)


def _sync_engine(engine: object) -> object:
    return getattr(engine, "sync_engine", engine)


def _bus_for(work: Work) -> ChangeBus | None:
    if isinstance(work, AsyncSession):
        bind = work.sync_session.get_bind()
        engine = getattr(bind, "engine", bind)
    else:
        engine = work.sync_engine
    return _buses.get(engine)


async def record(work: Work, *changes: AnyChange) -> list[int]:
    """Write ``changes`` in ``work``'s transaction; publish them once it commits.

    Returns the new rows' ids, in order.
    """
    if not changes:
        return []
    now = utcnow()
    rows = [
        {
            "store_id": change.store_id,
            "type": type(change).__struct_config__.tag,
            "origin": change.origin[:40],
            "payload": encode_change(change),
            "created_at": now,
        }
        for change in changes
    ]
    ids: list[int] = []
    for row in rows:  # one statement each: RETURNING with executemany is not portable here
        result = await work.execute(_insert, row)
        ids.append(int(result.scalar_one()))
    bus = _bus_for(work)
    # A connection whose transaction nobody will run callbacks for (a test's or a script's
    # ``engine.begin()``): the rows are enough, every bus finds them on its next read.
    if bus is not None and collects_callbacks(work):
        recorded: Sequence[Recorded] = list(zip(ids, changes, strict=True))
        after_commit(work, lambda: bus.publish(recorded))
    return ids
