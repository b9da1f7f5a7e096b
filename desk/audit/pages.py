"""The audit trail page, ``/audit`` (managers and admins), and its CSV export, ``/audit/export.csv``.

Both take the same filters from the address (``store``, ``actor``, ``outcome``), so an export is
exactly what the page shows, all pages of it. A filter value that is not one of the choices is
ignored (the whole trail is shown) rather than refused: it can only come from an edited address.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Stream, Template
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.auth import requires_role
from desk.accounts.models import Role, User
from desk.audit.models import Outcome
from desk.audit.queries import AuditFilter, actors_seen, audit_csv, audit_page
from desk.path_ids import MAX_ROW_ID
from desk.runtime import Runtime
from desk.stores.services import stores_visible_to

__all__ = ["ROUTES"]

_MANAGERS = [requires_role(Role.MANAGER)]
_CSV_NAME = quote("审计记录.csv")


def _id(value: str) -> int | None:
    return int(value) if value.isdigit() and 0 < int(value) <= MAX_ROW_ID else None


def _filter(store: str, actor: str, outcome: str) -> AuditFilter:
    return AuditFilter(
        store_id=_id(store),
        actor=actor[:40],
        outcome=Outcome(outcome) if outcome in set(Outcome) else None,
    )


def _query(where: AuditFilter, **extra: object) -> str:
    params = {
        "store": where.store_id or "",
        "actor": where.actor,
        "outcome": where.outcome.value if where.outcome else "",
        **extra,
    }
    return urlencode({k: v for k, v in params.items() if v not in ("", None)})


@get("/audit", name="audit:index", include_in_schema=False, guards=_MANAGERS)
async def audit_index(  # noqa: PLR0917 - Litestar passes the query parameters by name
    request: Request[User, Any, Any],
    db_session: NamedDependency[AsyncSession],
    store: FromQuery[str] = "",
    actor: FromQuery[str] = "",
    outcome: FromQuery[str] = "",
    before: FromQuery[str] = "",
) -> Template:
    """One page of the trail, newest first; ``before`` pages back (an entry id)."""
    user = request.user
    where = _filter(store, actor, outcome)
    page = await audit_page(db_session, user, where, before=_id(before))
    return Template(
        "audit/index.html",
        context={
            "page": page,
            "where": where,
            "stores": await stores_visible_to(db_session, user),
            "actors": await actors_seen(db_session, user),
            "outcomes": list(Outcome),
            "first_page": before == "",
            "older_query": _query(where, before=page.older) if page.older else "",
            "newest_query": _query(where),
        },
    )


@get("/audit/export.csv", name="audit:export", include_in_schema=False, guards=_MANAGERS)
async def audit_export(
    request: Request[User, Any, Any],
    store: FromQuery[str] = "",
    actor: FromQuery[str] = "",
    outcome: FromQuery[str] = "",
) -> Stream:
    """Every entry the filters match, as CSV, streamed."""
    runtime: Runtime = request.app.state.runtime
    where = _filter(store, actor, outcome)
    return Stream(
        audit_csv(runtime.db.engine, request.user, where),
        media_type="text/csv; charset=utf-8",
        headers={
            # An ASCII name for old clients, the Chinese one (审计记录.csv) for everyone else.
            "content-disposition": f"attachment; filename=\"audit.csv\"; filename*=UTF-8''{_CSV_NAME}",
            "cache-control": "no-store",
        },
    )


ROUTES = [audit_index, audit_export]
