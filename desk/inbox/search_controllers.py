"""The search page: ``GET /inbox/search?q=`` finds orders, buyers and messages (:mod:`desk.inbox.search`).

A full page with its own search box; an htmx request (the box typing, or the inbox header's box)
gets just the results partial, ``inbox/_search_results.html``.
"""

from __future__ import annotations

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template
from litestar.status_codes import HTTP_200_OK, HTTP_400_BAD_REQUEST
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.auth import requires_role
from desk.accounts.models import Role, User
from desk.errors import Invalid
from desk.inbox.search import MAX_QUERY_LENGTH, RECENT_WINDOW, normalize_query, recent_only, search

__all__ = ["ROUTES", "SEARCH_LIMIT"]

SEARCH_LIMIT = 50
"""Hits on one page: a search narrows by typing more, not by paging."""


@get("/inbox/search", name="inbox:search", include_in_schema=False, guards=[requires_role(Role.AGENT)])
async def search_page(
    request: HTMXRequest, db_session: NamedDependency[AsyncSession], q: FromQuery[str] = ""
) -> Template:
    """Search results for ``q`` in the user's stores; a query over the length limit is told inline."""
    user: User = request.user
    found = await search(db_session, user, q, limit=SEARCH_LIMIT)
    invalid = isinstance(found, Invalid)
    context = {
        "q": q,
        "query": normalize_query(q),
        "hits": [] if isinstance(found, Invalid) else found,
        "errors": found.errors if isinstance(found, Invalid) else {},
        "recent_only": not invalid and recent_only(q, db_session.get_bind().dialect.name),
        "recent_window": f"{RECENT_WINDOW:,}",
        "limit": SEARCH_LIMIT,
        "max_length": MAX_QUERY_LENGTH,
    }
    # htmx restoring history after a cache miss wants the whole page, like a reload.
    if request.htmx and not request.htmx.history_restore_request:
        # htmx swaps only 2xx answers: the error must come back as 200 to show where they typed.
        return Template("inbox/_search_results.html", context=context, status_code=HTTP_200_OK)
    return Template(
        "inbox/search.html", context=context, status_code=HTTP_400_BAD_REQUEST if invalid else HTTP_200_OK
    )


ROUTES = [search_page]
