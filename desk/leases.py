"""A table as a work queue with leases: claim, hold, finish, fail — shared by events and commands.

A worker *claims* a batch of due rows — state *processing*, its name in ``claimed_by``, a lease
in ``claimed_until``, ``attempts + 1`` — and commits the claim before doing any work. Doing the
work's database part happens later in one transaction that starts by re-asserting the lease on
the rows still claimed by this worker (which also locks them until commit) and ends by marking
them *done* or scheduling a retry. A worker that dies (kill -9) leaves its rows *processing*; once
the lease runs out any worker claims them again. Because a row's effects and its *done* commit
together, the work is applied exactly once however often it is claimed.

On PostgreSQL the claim skips rows other workers hold (``FOR UPDATE SKIP LOCKED``), so any number
of workers share the queue. SQLite has one writer at a time, which serialises claims anyway.

The table needs the columns ``id``, ``state``, ``attempts``, ``next_attempt_at``, ``claimed_by``,
``claimed_until`` and ``last_error``; :class:`QueueStates` names its four states.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from desk.db import utcnow

__all__ = ["LeaseQueue", "QueueStates", "RetryPolicy"]

_ERROR_MAX = 4000  # characters of an error kept in last_error


@dataclass(frozen=True, slots=True)
class QueueStates:
    """The table's values for the four queue states."""

    pending: str
    processing: str
    done: str
    parked: str
    """Given up on: tried too often, or failed in a way no retry can mend."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When a failed row is tried again, and when it is parked instead."""

    max_attempts: int = 8
    base_delay_s: float = 2.0
    max_delay_s: float = 600.0

    def delay(self, attempts: int) -> float:
        """Seconds before the next try after ``attempts`` failed ones: doubling, with jitter.

        The jitter spreads retries of a burst that failed together (platform outage) so they do
        not all come back in the same second.
        """
        delay = min(self.max_delay_s, self.base_delay_s * 2.0 ** max(0, attempts - 1))
        return delay * random.uniform(0.5, 1.0)  # noqa: S311 - scheduling, not cryptography


class LeaseQueue:
    """Claiming and finishing rows of ``table`` for one worker (``worker_id``)."""

    def __init__(
        self,
        table: sa.Table,
        worker_id: str,
        *,
        states: QueueStates,
        lease_s: float,
        retry: RetryPolicy,
        skip_locked: bool,
        returning: Sequence[sa.ColumnElement[Any]],
        now: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.table = table
        self._now = now
        self.worker_id = worker_id
        self.states = states
        self.lease = dt.timedelta(seconds=lease_s)
        self.retry = retry
        self._skip_locked = skip_locked
        self._returning = list(returning)

    async def claim(self, conn: AsyncConnection, limit: int) -> list[Any]:
        """Claim up to ``limit`` due rows (oldest first): pending ones whose time has come, and
        processing ones whose worker's lease ran out. Returns the ``returning`` columns of each,
        in id order. The caller commits the claim."""
        now = self._now()
        t = self.table
        due = sa.or_(
            sa.and_(t.c.state == self.states.pending, t.c.next_attempt_at <= now),
            sa.and_(t.c.state == self.states.processing, t.c.claimed_until < now),
        )
        candidates = sa.select(t.c.id).where(due).order_by(t.c.id).limit(limit)
        if self._skip_locked:
            candidates = candidates.with_for_update(skip_locked=True)
        stmt = (
            sa.update(t)
            .where(t.c.id.in_(candidates.scalar_subquery()))
            .values(
                state=self.states.processing,
                claimed_by=self.worker_id,
                claimed_until=now + self.lease,
                attempts=t.c.attempts + 1,
            )
            .returning(*self._returning)
        )
        rows = list((await conn.execute(stmt)).all())
        rows.sort(key=lambda row: row.id)
        return rows

    async def hold(self, conn: AsyncConnection, ids: Collection[int]) -> set[int]:
        """Renew the lease on those of ``ids`` this worker still holds; the others were taken
        over by another worker after our lease ran out, and must not be applied by us.

        Run first in the applying transaction: on PostgreSQL the UPDATE locks the rows until
        commit, on SQLite it starts the write transaction the per-row savepoints nest in.
        """
        if not ids:
            return set()
        t = self.table
        stmt = (
            sa.update(t)
            .where(t.c.id.in_(ids), t.c.claimed_by == self.worker_id, t.c.state == self.states.processing)
            .values(claimed_until=self._now() + self.lease)
            .returning(t.c.id)
        )
        return set((await conn.execute(stmt)).scalars())

    async def finish(self, conn: AsyncConnection, ids: Collection[int], **values: Any) -> None:
        """Mark rows done (with any further ``values``), in the transaction that applied them."""
        if not ids:
            return
        t = self.table
        await conn.execute(
            sa.update(t)
            .where(t.c.id.in_(ids), t.c.claimed_by == self.worker_id)
            .values(state=self.states.done, claimed_until=None, last_error=None, **values)
        )

    async def fail(
        self,
        conn: AsyncConnection,
        row_id: int,
        attempts: int,
        error: str,
        *,
        give_up: bool = False,
        **values: Any,
    ) -> str:
        """Schedule another try of a failed row, or park it (after ``max_attempts`` tries, or at
        once with ``give_up``). Returns the row's new state."""
        parked = give_up or attempts >= self.retry.max_attempts
        state = self.states.parked if parked else self.states.pending
        delay = dt.timedelta(seconds=0 if parked else self.retry.delay(attempts))
        t = self.table
        await conn.execute(
            sa.update(t)
            .where(t.c.id == row_id, t.c.claimed_by == self.worker_id)
            .values(
                state=state,
                next_attempt_at=self._now() + delay,
                last_error=error[:_ERROR_MAX],
                claimed_by=None,
                claimed_until=None,
                **values,
            )
        )
        return state
