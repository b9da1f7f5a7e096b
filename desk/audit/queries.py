"""Reading the audit trail: one list of every after-sale and order action, human or automated.

Filtered by store, actor and outcome, in the stores the reader may see; newest first, paged by
the entry id (keyset: a page costs the same at the millionth entry as at the first). The CSV
export walks the same filters in batches, so an export of a year of actions is streamed, never
held in memory.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from desk.accounts.models import User, store_entity
from desk.accounts.scoping import store_ids_for
from desk.audit.models import AuditEntry, Outcome
from desk.db import Work
from desk.i18n import DEFAULT_LANGUAGE, Message, catalogue
from desk.shell.formatting import format_timestamp

__all__ = [
    "CSV_COLUMNS",
    "PAGE_SIZE",
    "AuditFilter",
    "AuditPage",
    "AuditRow",
    "actors_seen",
    "audit_csv",
    "audit_page",
]

PAGE_SIZE = 50
EXPORT_BATCH = 1000
MAX_ACTORS = 200
"""The actor filter offers this many (the most recent); more can be typed into the address."""
CSV_COLUMNS = (
    "id",
    "time",
    "store",
    "actor",
    "actor_name",
    "action",
    "subject",
    "outcome",
    "error_code",
    "error",
    "reason",
    "details",
    "finished_at",
)
_entry = AuditEntry.__table__


class AuditFilter(msgspec.Struct, frozen=True, kw_only=True):
    """What the reader narrowed the trail to (each empty: all)."""

    store_id: int | None = None
    actor: str = ""
    """``user:<id>``, ``rule:<id>`` or ``system``."""
    outcome: Outcome | None = None


class AuditRow(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    created_at: dt.datetime
    finished_at: dt.datetime | None
    store_name: str
    actor: str
    actor_name: str
    action: str
    subject: str
    outcome: Outcome
    error_code: int | None
    error: str
    reason: str
    details: dict[str, Any]

    @property
    def action_label(self) -> Message:
        """The action in words; one the catalogue does not name yet is shown as recorded."""
        key = f"audit.actions.{self.action}"
        if key in catalogue(DEFAULT_LANGUAGE):
            return Message(key)
        return Message("audit.action_as_recorded", {"action": self.action})

    @property
    def actor_kind(self) -> str:
        """``user``, ``rule`` or ``system``: who (or what) acted."""
        return self.actor.partition(":")[0]


class AuditPage(msgspec.Struct, frozen=True, kw_only=True):
    rows: list[AuditRow]
    older: int | None
    """The ``before`` of the next (older) page; None on the last page."""


def _select(user: User, where: AuditFilter) -> sa.Select[Any]:
    store = store_entity()
    stmt = sa.select(
        _entry.c.id,
        _entry.c.created_at,
        _entry.c.finished_at,
        store.name.label("store_name"),
        _entry.c.actor,
        _entry.c.actor_name,
        _entry.c.action,
        _entry.c.subject,
        _entry.c.outcome,
        _entry.c.error_code,
        _entry.c.error,
        _entry.c.reason,
        _entry.c.details,
    ).join(store, store.id == _entry.c.store_id)
    allowed = store_ids_for(user)
    if allowed is not None:
        stmt = stmt.where(_entry.c.store_id.in_(allowed))
    if where.store_id is not None:
        stmt = stmt.where(_entry.c.store_id == where.store_id)
    if where.actor:
        stmt = stmt.where(_entry.c.actor == where.actor)
    if where.outcome is not None:
        stmt = stmt.where(_entry.c.outcome == where.outcome)
    return stmt.order_by(_entry.c.id.desc())


def _row(row: Any) -> AuditRow:
    details = row.details if isinstance(row.details, dict) else {}
    return AuditRow(
        id=row.id,
        created_at=row.created_at,
        finished_at=row.finished_at,
        store_name=row.store_name,
        actor=row.actor,
        actor_name=row.actor_name,
        action=row.action,
        subject=row.subject,
        outcome=Outcome(row.outcome),
        error_code=row.error_code,
        error=row.error or "",
        reason=row.reason or "",
        details=details,
    )


async def audit_page(
    work: Work, user: User, where: AuditFilter, *, before: int | None = None, size: int = PAGE_SIZE
) -> AuditPage:
    """The newest ``size`` entries matching ``where`` (older than the entry ``before``, if given)."""
    stmt = _select(user, where)
    if before is not None:
        stmt = stmt.where(_entry.c.id < before)
    rows = [_row(r) for r in (await work.execute(stmt.limit(size + 1))).all()]
    older = rows[size - 1].id if len(rows) > size else None
    return AuditPage(rows=rows[:size], older=older)


async def actors_seen(session: AsyncSession, user: User) -> list[tuple[str, str]]:
    """Who acted in ``user``'s stores, most recent first: (actor, name) for the actor filter."""
    last = sa.func.max(_entry.c.id)
    stmt = sa.select(_entry.c.actor, sa.func.max(_entry.c.actor_name), last)
    allowed = store_ids_for(user)
    if allowed is not None:
        stmt = stmt.where(_entry.c.store_id.in_(allowed))
    stmt = stmt.group_by(_entry.c.actor).order_by(last.desc()).limit(MAX_ACTORS)
    return [(actor, name or actor) for actor, name, _ in (await session.execute(stmt)).all()]


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: a leading ``=``, ``+``, ``-``, ``@`` (or tab / CR)
    would make Excel run it as a formula, and reasons and errors come from people and platforms."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_line(values: list[object]) -> str:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerow([_cell(v) for v in values])
    return out.getvalue()


async def audit_csv(engine: AsyncEngine, user: User, where: AuditFilter) -> AsyncIterator[bytes]:
    """The entries matching ``where`` as CSV (UTF-8 with a BOM, so Excel reads the Chinese),
    newest first, read :data:`EXPORT_BATCH` at a time on a connection of its own."""
    yield ("\ufeff" + _csv_line(list(CSV_COLUMNS))).encode()
    before: int | None = None
    while True:
        async with engine.connect() as conn:
            page = await audit_page(conn, user, where, before=before, size=EXPORT_BATCH)
        chunk = "".join(
            _csv_line(
                [
                    row.id,
                    format_timestamp(row.created_at),
                    row.store_name,
                    row.actor,
                    row.actor_name,
                    row.action,
                    row.subject,
                    row.outcome.value,
                    row.error_code,
                    row.error,
                    row.reason,
                    json.dumps(row.details, ensure_ascii=False, sort_keys=True) if row.details else "",
                    format_timestamp(row.finished_at),
                ]
            )
            for row in page.rows
        )
        if chunk:
            yield chunk.encode()
        if page.older is None:
            return
        before = page.older
