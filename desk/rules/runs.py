"""Reading rule runs (the rules' audit): hit counts for the rules list, filtered pages of runs.

Both are scoped to the stores the user may see (admins: all), like every store-owned row.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import sqlalchemy as sa

from desk.accounts.models import User
from desk.accounts.scoping import scoped
from desk.db import Work, utcnow
from desk.rules.models import RuleRun
from desk.stores.models import Store

__all__ = ["OUTCOMES", "PAGE_SIZE", "HitCounts", "RunFilter", "RunPage", "RunView", "hit_counts", "run_page"]

PAGE_SIZE = 50
OUTCOMES = ("done", "partial", "failed", "fuse")
_run = RuleRun.__table__


class HitCounts(msgspec.Struct, frozen=True):
    day: int = 0
    week: int = 0


class RunFilter(msgspec.Struct, frozen=True, kw_only=True):
    rule_id: str = ""
    store_id: int | None = None
    outcome: str = ""


class RunView(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    created_at: dt.datetime
    store_id: int
    store_name: str
    rule_id: str
    rule_version: int
    event: str
    subject: str
    outcome: str
    conditions: list[dict[str, Any]]
    """Each predicate checked: ``path``, ``predicate``, ``held``, ``value`` (what it saw)."""
    actions: list[dict[str, Any]]
    """Each action: ``index``, ``type``, ``status``, ``detail``."""


class RunPage(msgspec.Struct, frozen=True, kw_only=True):
    rows: list[RunView]
    older: int | None
    """The ``before`` of the next page back, None on the last page."""


async def hit_counts(work: Work, user: User, *, now: dt.datetime | None = None) -> dict[str, HitCounts]:
    """Matches per rule in the last 24 hours and 7 days, in the user's stores."""
    now = now or utcnow()
    day = now - dt.timedelta(days=1)
    week = now - dt.timedelta(days=7)
    stmt = scoped(
        sa.select(
            _run.c.rule_id,
            sa.func.count().filter(_run.c.created_at >= day),
            sa.func.count(),
        )
        .where(_run.c.created_at >= week)
        .group_by(_run.c.rule_id),
        _run.c.store_id,
        user,
    )
    return {row[0]: HitCounts(int(row[1]), int(row[2])) for row in await work.execute(stmt)}


async def run_page(
    work: Work, user: User, where: RunFilter, *, before: int | None = None, size: int = PAGE_SIZE
) -> RunPage:
    """One page of runs matching ``where``, newest first; ``before`` a run id to page back from."""
    stmt = scoped(
        sa.select(_run, Store.name.label("store_name")).join(Store, Store.id == _run.c.store_id),
        _run.c.store_id,
        user,
    )
    if where.rule_id:
        stmt = stmt.where(_run.c.rule_id == where.rule_id)
    if where.store_id is not None:
        stmt = stmt.where(_run.c.store_id == where.store_id)
    if where.outcome:
        stmt = stmt.where(_run.c.outcome == where.outcome)
    if before is not None:
        stmt = stmt.where(_run.c.id < before)
    rows = list(await work.execute(stmt.order_by(_run.c.id.desc()).limit(size + 1)))
    views = [
        RunView(
            id=row.id,
            created_at=row.created_at,
            store_id=row.store_id,
            store_name=row.store_name,
            rule_id=row.rule_id,
            rule_version=row.rule_version,
            event=row.event,
            subject=row.subject,
            outcome=row.outcome,
            conditions=list(row.conditions or []),
            actions=list(row.actions or []),
        )
        for row in rows[:size]
    ]
    return RunPage(rows=views, older=views[-1].id if len(rows) > size else None)
