"""The figures, read from rollups (and, for percentiles and buyers, from facts) — never from messages.

Every ratio is None when its denominator is zero ("no data yet"), never a division error.
Periods are inclusive ranges of the store's local days.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Collection

import msgspec
import sqlalchemy as sa

from desk.db import Work
from desk.metrics.facts import FactKind
from desk.metrics.models import MetricFact, MetricRollup
from desk.metrics.orders import repeat_share
from desk.metrics.rollups import COUNTS, WHOLE_STORE

__all__ = [
    "AgentRow",
    "Period",
    "Summary",
    "agent_table",
    "first_response",
    "orders_by_hour",
    "percentile",
    "ratio",
    "repeat_purchase_rate",
    "summary",
    "totals",
]

_rollup = MetricRollup.__table__
_fact = MetricFact.__table__


class Period(msgspec.Struct, frozen=True):
    """Local days ``first`` to ``last``, both included."""

    first: dt.date
    last: dt.date

    @classmethod
    def day(cls, day: dt.date) -> Period:
        return cls(day, day)


def ratio(part: int, whole: int) -> float | None:
    """``part / whole``, or None when there is nothing to divide."""
    return part / whole if whole else None


def percentile(values: list[int], p: float) -> int | None:
    """The nearest-rank ``p``-th percentile: the smallest value at least ``p``% of values reach."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


async def totals(
    work: Work, store_ids: Collection[int], period: Period, *, agent_id: int = WHOLE_STORE
) -> dict[str, int]:
    """The rollup counts of ``store_ids`` (or of one agent in them) summed over ``period``."""
    stmt = sa.select(
        *[sa.func.coalesce(sa.func.sum(_rollup.c[name]), 0).label(name) for name in COUNTS]
    ).where(
        _rollup.c.store_id.in_(list(store_ids)),
        _rollup.c.day.between(period.first, period.last),
        _rollup.c.agent_id == agent_id,
    )
    row = (await work.execute(stmt)).one()
    return {name: int(row._mapping[name]) for name in COUNTS}


async def first_response(
    work: Work, store_ids: Collection[int], period: Period, *, agent_id: int | None = None
) -> tuple[float | None, int | None]:
    """Median and 90th percentile (nearest rank) of first response seconds, in-window consultations.

    The median of an even count is the mean of the middle two, as usual. Answers taken back (a
    reply that never arrived) are left out.
    """
    by_agent = await _first_responses(work, store_ids, period, agent_id=agent_id)
    return _median_p90([s for values in by_agent.values() for s in values])


def _median_p90(values: list[int]) -> tuple[float | None, int | None]:
    if not values:
        return None, None
    return float(statistics.median(values)), percentile(values, 90)


_ANSWER_KINDS = (FactKind.CONSULTATION_ANSWERED.value, FactKind.ANSWER_WITHDRAWN.value)


async def _first_responses(
    work: Work, store_ids: Collection[int], period: Period, *, agent_id: int | None = None
) -> dict[int | None, list[int]]:
    """First response seconds of in-window consultations by answering agent, answers taken back left out."""
    stmt = sa.select(_fact.c.key, _fact.c.seconds, _fact.c.agent_id).where(
        _fact.c.store_id.in_(list(store_ids)),
        _fact.c.kind.in_(_ANSWER_KINDS),
        _fact.c.local_day.between(period.first, period.last),
        _fact.c.in_window.is_(True),
    )
    if agent_id is not None:
        stmt = stmt.where(_fact.c.agent_id == agent_id)
    rows = (await work.execute(stmt)).all()
    # An answer taken back carries the answering reply's message id in its key, as the answer does
    # (``answered:<message>`` / ``unanswered:<message>``, :mod:`desk.metrics.consultations`).
    withdrawn = {key.partition(":")[2] for key, _, _ in rows if key.startswith("unanswered:")}
    by_agent: dict[int | None, list[int]] = {}
    for key, seconds, agent in rows:
        kind, _, reply = key.partition(":")
        if kind == "answered" and reply not in withdrawn:
            by_agent.setdefault(agent, []).append(int(seconds or 0))
    return by_agent


async def orders_by_hour(work: Work, store_ids: Collection[int], period: Period) -> list[int]:
    """Paid orders per local hour of the day (index 0–23) over ``period``."""
    stmt = (
        sa.select(_rollup.c.hour, sa.func.sum(_rollup.c.orders))
        .where(
            _rollup.c.store_id.in_(list(store_ids)),
            _rollup.c.day.between(period.first, period.last),
            _rollup.c.agent_id == WHOLE_STORE,
        )
        .group_by(_rollup.c.hour)
    )
    hours = [0] * 24
    for hour, count in (await work.execute(stmt)).all():
        hours[int(hour)] = int(count or 0)
    return hours


async def repeat_purchase_rate(work: Work, store_id: int, last_day: dt.date, days: int) -> float | None:
    """Of the store's buyers who paid in the ``days`` local days ending ``last_day``, the share
    with two or more paid orders (see :mod:`desk.metrics.orders`)."""
    first = last_day - dt.timedelta(days=days - 1)
    stmt = (
        sa.select(sa.func.count())
        .where(
            _fact.c.store_id == store_id,
            _fact.c.kind == FactKind.ORDER_PAID.value,
            _fact.c.local_day.between(first, last_day),
            _fact.c.buyer_id.is_not(None),
        )
        .group_by(_fact.c.buyer_id)
    )
    return repeat_share([int(n) for n in (await work.execute(stmt)).scalars()])


class Summary(msgspec.Struct, frozen=True):
    """A store's (or agent's) figures over a period."""

    consultations: int
    answered_in_time: int
    reply_rate: float | None
    """The 3-minute human reply rate: answered in time / consultations opened in the window."""
    outside_consultations: int
    outside_reply_rate: float | None
    """The same for consultations opened outside the assessment window (reported apart)."""
    first_response_median_s: float | None
    first_response_p90_s: int | None
    aftersales: int
    orders: int
    aftersale_rate: float | None
    """After-sale requests / paid orders."""
    refund_only_completed: int
    refund_only_mean_s: float | None
    return_refund_completed: int
    return_refund_mean_s: float | None
    automatic_share: float | None
    """Completed after-sales that rules completed with nobody's hand / completed after-sales."""
    aftersales_handled: int
    """Completed after-sales a person decided (for an agent: they were the last to act)."""


async def summary(
    work: Work, store_ids: Collection[int], period: Period, *, agent_id: int = WHOLE_STORE
) -> Summary:
    """Every additive figure of ``period`` plus the first-response percentiles."""
    t = await totals(work, store_ids, period, agent_id=agent_id)
    median, p90 = await first_response(
        work, store_ids, period, agent_id=None if agent_id == WHOLE_STORE else agent_id
    )
    completed = t["refund_only_done"] + t["return_refund_done"]
    return Summary(
        consultations=t["consultations"],
        answered_in_time=t["answered_in_time"],
        reply_rate=ratio(t["answered_in_time"], t["consultations"]),
        outside_consultations=t["outside_consultations"],
        outside_reply_rate=ratio(t["outside_in_time"], t["outside_consultations"]),
        first_response_median_s=median,
        first_response_p90_s=p90,
        aftersales=t["aftersales"],
        orders=t["orders"],
        aftersale_rate=ratio(t["aftersales"], t["orders"]),
        refund_only_completed=t["refund_only_done"],
        refund_only_mean_s=ratio(t["refund_only_s"], t["refund_only_done"]),
        return_refund_completed=t["return_refund_done"],
        return_refund_mean_s=ratio(t["return_refund_s"], t["return_refund_done"]),
        automatic_share=ratio(t["completed_automatically"], completed),
        aftersales_handled=t["aftersales_handled"],
    )


class AgentRow(msgspec.Struct, frozen=True):
    """One agent's line of the agent table over a period."""

    agent_id: int
    consultations: int
    """The in-window consultations the agent answered."""
    answered_in_time: int
    reply_rate: float | None
    first_response_median_s: float | None
    aftersales_handled: int


async def agent_table(work: Work, store_ids: Collection[int], period: Period) -> list[AgentRow]:
    """Every agent with figures in ``store_ids`` over ``period``, by agent id (two queries in all)."""
    names = ("consultations", "answered_in_time", "aftersales_handled")
    stmt = (
        sa.select(_rollup.c.agent_id, *[sa.func.sum(_rollup.c[name]).label(name) for name in names])
        .where(
            _rollup.c.store_id.in_(list(store_ids)),
            _rollup.c.day.between(period.first, period.last),
            _rollup.c.agent_id != WHOLE_STORE,
        )
        .group_by(_rollup.c.agent_id)
        .order_by(_rollup.c.agent_id)
    )
    rows = (await work.execute(stmt)).all()
    responses = await _first_responses(work, store_ids, period)
    return [
        AgentRow(
            agent_id=int(row.agent_id),
            consultations=int(row.consultations or 0),
            answered_in_time=int(row.answered_in_time or 0),
            reply_rate=ratio(int(row.answered_in_time or 0), int(row.consultations or 0)),
            first_response_median_s=_median_p90(responses.get(int(row.agent_id), []))[0],
            aftersales_handled=int(row.aftersales_handled or 0),
        )
        for row in rows
    ]
