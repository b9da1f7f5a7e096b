"""Rollups: the facts summed per store, local day and hour, and agent — what dashboards read.

:func:`contributions` is the one place that says what a fact adds to which rollup row; both the
incremental upserts (:func:`apply_pending`, run by the applier moments after facts are written)
and the recomputation from facts (:func:`rebuild`, behind ``desk metrics rebuild``) use it, so
they cannot disagree.

A store's own row has ``agent_id`` :data:`WHOLE_STORE` (0). An agent's rows count the
consultations that agent answered; unanswered ones count only for the store.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import AsyncIterator, Callable, Iterable

import msgspec
import sqlalchemy as sa

from desk.db import Work, dialect_name, insert_for
from desk.metrics.facts import Fact, FactKind
from desk.metrics.models import MetricFact, MetricFactPending, MetricRollup

__all__ = [
    "COUNTS",
    "WHOLE_STORE",
    "RollupKey",
    "Totals",
    "apply_pending",
    "contributions",
    "facts_since",
    "rebuild",
    "recompute",
]

_rollup = MetricRollup.__table__
_fact = MetricFact.__table__
_pending = MetricFactPending.__table__
WHOLE_STORE = 0
KEY_COLUMNS = ("store_id", "day", "hour", "agent_id")
COUNTS = tuple(c.name for c in _rollup.columns if c.name not in KEY_COLUMNS)

RollupKey = tuple[int, dt.date, int, int]
"""(store, local day, local hour, agent or :data:`WHOLE_STORE`)."""
Totals = dict[str, int]
"""Rollup counts by column name (absent: 0)."""


def _consultation(fact: Fact, *, opened: bool) -> Totals:
    prefix = "" if fact.in_window else "outside_"
    if opened:
        return {f"{prefix}consultations": 1}
    totals = {
        f"{prefix}answered": 1,
        f"{prefix}in_time" if prefix else "answered_in_time": int(fact.in_time),
    }
    if fact.in_window:  # the mean first response is the store score's, inside the window
        totals["response_s"] = fact.seconds or 0
    return totals


def _negated(rows: list[tuple[RollupKey, Totals]]) -> list[tuple[RollupKey, Totals]]:
    return [(key, {name: -value for name, value in totals.items()}) for key, totals in rows]


_WITHDRAWS = {
    FactKind.ANSWER_WITHDRAWN: FactKind.CONSULTATION_ANSWERED,
    FactKind.OPENING_MERGED: FactKind.CONSULTATION_OPENED,
}
"""Facts that take back another kind: they carry its fields and subtract what it added."""


def contributions(fact: Fact) -> list[tuple[RollupKey, Totals]]:
    """What ``fact`` adds to the rollups, row by row (a withdrawal subtracts what it withdraws)."""
    if (withdrawn := _WITHDRAWS.get(fact.kind)) is not None:
        return _negated(_added(msgspec.structs.replace(fact, kind=withdrawn)))
    return _added(fact)


def _added(fact: Fact) -> list[tuple[RollupKey, Totals]]:
    store_row: RollupKey = (fact.store_id, fact.local_day, fact.local_hour, WHOLE_STORE)
    match fact.kind:
        case FactKind.CONSULTATION_OPENED:
            return [(store_row, _consultation(fact, opened=True))]
        case FactKind.CONSULTATION_ANSWERED:
            answered = _consultation(fact, opened=False)
            rows = [(store_row, answered)]
            if fact.agent_id:
                agent_row = (fact.store_id, fact.local_day, fact.local_hour, fact.agent_id)
                rows.append((agent_row, {**answered, **_consultation(fact, opened=True)}))
            return rows
        case FactKind.AFTERSALE_REQUESTED:
            return [(store_row, {"aftersales": 1})]
        case FactKind.AFTERSALE_COMPLETED:
            name = "refund_only" if fact.detail == "REFUND" else "return_refund"
            handled = {"aftersales_handled": 1} if fact.agent_id else {}
            completed = [
                (
                    store_row,
                    {
                        f"{name}_done": 1,
                        f"{name}_s": fact.seconds or 0,
                        "completed_automatically": int(fact.automatic),
                        **handled,
                    },
                )
            ]
            if fact.agent_id:
                completed.append(((fact.store_id, fact.local_day, fact.local_hour, fact.agent_id), handled))
            return completed
        case FactKind.ORDER_PAID:
            return [(store_row, {"orders": 1})]
    return []


@functools.cache
def _upsert(dialect: str, columns: frozenset[str]) -> sa.Insert:
    insert = insert_for(dialect, _rollup)
    return insert.on_conflict_do_update(
        index_elements=[_rollup.c[name] for name in KEY_COLUMNS],
        set_={name: _rollup.c[name] + insert.excluded[name] for name in sorted(columns)},
    )


async def _add(work: Work, rows: dict[RollupKey, Totals]) -> None:
    # In key order: two appliers adding to the same rows wait for each other, never deadlock.
    for key in sorted(rows):
        store_id, day, hour, agent_id = key
        totals = {name: value for name, value in rows[key].items() if value}
        if not totals:
            continue
        values = {"store_id": store_id, "day": day, "hour": hour, "agent_id": agent_id}
        values.update(dict.fromkeys(COUNTS, 0))
        values.update(totals)
        await work.execute(_upsert(dialect_name(work), frozenset(totals)), values)


async def _claim_pending(work: Work, limit: int) -> list[int]:
    if dialect_name(work) == "postgresql":
        # Appliers in several processes take disjoint sets: each row is applied exactly once.
        claimed = (
            sa.select(_pending.c.fact_id)
            .order_by(_pending.c.fact_id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        result = await work.execute(
            sa.delete(_pending).where(_pending.c.fact_id.in_(claimed)).returning(_pending.c.fact_id)
        )
        return [int(i) for i in result.scalars()]
    ids = [
        int(i)
        for i in (
            await work.execute(sa.select(_pending.c.fact_id).order_by(_pending.c.fact_id).limit(limit))
        ).scalars()
    ]
    if ids:
        await work.execute(sa.delete(_pending).where(_pending.c.fact_id.in_(ids)))
    return ids


async def apply_pending(work: Work, *, limit: int = 5000) -> int:
    """Add up to ``limit`` pending facts to the rollups (upserts); returns how many were applied.

    Run in a transaction of its own: the facts stop being pending exactly when their counts are in.
    """
    ids = await _claim_pending(work, limit)
    if not ids:
        return 0
    rows = (await work.execute(sa.select(_fact).where(_fact.c.id.in_(ids)))).all()
    await _add(work, recompute(_fact_of(row) for row in rows))
    return len(ids)


def recompute(facts: Iterable[Fact]) -> dict[RollupKey, Totals]:
    """The rollups of ``facts`` from nothing: the sum of every fact's contributions."""
    result: dict[RollupKey, Totals] = {}
    for fact in facts:
        for key, totals in contributions(fact):
            row = result.setdefault(key, dict.fromkeys(COUNTS, 0))
            for name, value in totals.items():
                row[name] += value
    return result


def _fact_of(row: sa.Row[tuple[object, ...]]) -> Fact:
    m = row._mapping
    return Fact(
        key=m["key"],
        store_id=m["store_id"],
        kind=FactKind(m["kind"]),
        at=m["at"],
        local_day=m["local_day"],
        local_hour=m["local_hour"],
        agent_id=m["agent_id"],
        buyer_id=m["buyer_id"],
        seconds=m["seconds"],
        in_window=bool(m["in_window"]),
        in_time=bool(m["in_time"]),
        automatic=bool(m["automatic"]),
        detail=m["detail"],
    )


async def facts_since(work: Work, since: dt.date, *, batch: int = 5000) -> AsyncIterator[list[Fact]]:
    """The facts of local days from ``since`` on, in batches (by id, so memory stays flat)."""
    after = 0
    while True:
        rows = (
            await work.execute(
                sa.select(_fact)
                .where(_fact.c.local_day >= since, _fact.c.id > after)
                .order_by(_fact.c.id)
                .limit(batch)
            )
        ).all()
        if not rows:
            return
        after = int(rows[-1].id)
        yield [_fact_of(row) for row in rows]


async def rebuild(work: Work, since: dt.date, *, on_progress: Callable[[int], None] | None = None) -> int:
    """Recompute every rollup row of local days from ``since`` on from the facts; returns the facts read.

    Runs in ``work``'s transaction: readers see the old rows until it commits, then the new ones.
    Facts written meanwhile wait for it, so none is lost or counted twice between the read and
    the replace: the tables are locked on PostgreSQL, and SQLite's one writer is this.
    """
    if dialect_name(work) == "postgresql":
        # Facts being written wait (at their pending row) until this commits; those written
        # already are all visible once the lock is granted (their writers have committed).
        await work.execute(sa.text("LOCK TABLE metric_fact_pending IN EXCLUSIVE MODE"))
        await work.execute(sa.text("LOCK TABLE metric_rollup IN EXCLUSIVE MODE"))
    await work.execute(sa.delete(_rollup).where(_rollup.c.day >= since))
    # The facts read below are counted here: none of them is left for the applier to add again.
    await work.execute(
        sa.delete(_pending).where(
            _pending.c.fact_id.in_(sa.select(_fact.c.id).where(_fact.c.local_day >= since))
        )
    )
    rows: dict[RollupKey, Totals] = {}
    read = 0
    async for facts in facts_since(work, since):
        for key, totals in recompute(facts).items():
            row = rows.setdefault(key, dict.fromkeys(COUNTS, 0))
            for name, value in totals.items():
                row[name] += value
        read += len(facts)
        if on_progress is not None:
            on_progress(len(facts))
    values = [
        {"store_id": s, "day": d, "hour": h, "agent_id": a, **totals} for (s, d, h, a), totals in rows.items()
    ]
    for start in range(0, len(values), 1000):
        await work.execute(sa.insert(_rollup), values[start : start + 1000])
    return read
