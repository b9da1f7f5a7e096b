"""Back-off counters in the database, for desks without Redis.

The check and the count are one upsert whose update only happens when no wait is running, so the
database serialises parallel tries on the counter's row: on PostgreSQL the row lock, on SQLite the
single writer. That also holds when several processes share the SQLite file (``desk serve`` beside
``desk worker`` or a second server), which an in-memory counter per process would not: each process
would count on its own and an attacker would get the free tries once per process.
"""

from __future__ import annotations

import math
from typing import Any

import sqlalchemy as sa

from desk.accounts.backoff import FORGET_AFTER_S, Backoff, Claim
from desk.accounts.models import BackoffCounter
from desk.db import Database, insert_for

__all__ = ["SqlBackoffCounters"]

_table = BackoffCounter.__table__


def _wait(backoff: Backoff, tries: Any) -> Any:
    """``backoff.delay(tries)`` as an SQL expression over a try-count expression."""
    steps = [(tries == count, wait) for count, wait in backoff.schedule().items()]
    return sa.case((tries < backoff.free, 0), *steps, else_=backoff.max_s)


class SqlBackoffCounters:
    """:class:`~desk.accounts.backoff.BackoffCounters` over the ``backoff_counter`` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(self, key: str, backoff: Backoff, now: float) -> Claim:
        now_ = sa.bindparam("now", now, type_=sa.Float)
        # A row whose expiry has passed is a forgotten counter: this try is its first again.
        forgotten = _table.c.expires_at <= now_
        tries = sa.case((forgotten, 1), else_=_table.c.tries + 1)
        wait = _wait(backoff, tries)
        # No wait: blocked_until 0, not ``now``. ``now`` was read before this statement ran; a try
        # admitted just before with a later ``now`` must not refuse this one.
        blocked_until = sa.case((wait > 0, now_ + wait), else_=0.0)
        first_wait = backoff.delay(1)
        stmt = (
            insert_for(self.db.engine.dialect.name, _table)
            .values(
                key=key,
                tries=1,
                blocked_until=now + first_wait if first_wait else 0.0,
                expires_at=now + first_wait + FORGET_AFTER_S,
            )
            .on_conflict_do_update(
                index_elements=[_table.c.key],
                set_={
                    "tries": tries,
                    "blocked_until": blocked_until,
                    "expires_at": now_ + wait + FORGET_AFTER_S,
                },
                where=sa.or_(forgotten, _table.c.blocked_until <= now_),
            )
            .returning(_table.c.tries)
        )
        async with self.db.session() as session:
            admitted = (await session.execute(stmt)).first() is not None
            if admitted:
                return Claim(admitted=True)
            # Refused: read how long the wait still runs (only for the message; the decision is made).
            until = await session.scalar(sa.select(_table.c.blocked_until).where(_table.c.key == key))
        return Claim(admitted=False, retry_after=_seconds_until(until, now))

    async def refund(self, key: str, backoff: Backoff) -> None:
        async with self.db.session() as session:
            stmt = sa.update(_table).where(_table.c.key == key, _table.c.tries > 0)
            left = _table.c.tries - 1
            await session.execute(
                stmt.values(
                    tries=left,
                    blocked_until=sa.case((left < backoff.free, 0.0), else_=_table.c.blocked_until),
                )
            )

    async def forget(self, key: str) -> None:
        async with self.db.session() as session:
            await session.execute(sa.delete(_table).where(_table.c.key == key))

    async def purge(self, now: float) -> None:
        async with self.db.session() as session:
            await session.execute(sa.delete(_table).where(_table.c.expires_at <= now))


def _seconds_until(until: float | None, now: float) -> int:
    # At least 1: "try again in 0 seconds" would invite an immediate, refused retry.
    return max(1, math.ceil((until or now) - now))
