"""The after-sales list (``/aftersales``): work that does not start from a chat.

Requests across the user's stores, filtered by store, status and how soon the platform's deadline
runs out, the nearest deadline first (a request left past it is decided for the buyer). Each row
links to its order's page, where the decisions are.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, cast
from urllib.parse import urlencode

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromQuery
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.auth import requires_role
from desk.accounts.models import Role, User
from desk.aftersales.listing import ACTIONABLE, AfterSaleFilter, find_aftersales, parse_status
from desk.aftersales.status import AFTERSALE_STATUS_TONES, aftersale_status_label, aftersale_type_label
from desk.errors import Invalid
from desk.paging import MAX_PAGE
from desk.runtime import Runtime
from desk.stores.services import stores_visible_to
from desk.tone import Tone

__all__ = ["ROUTES", "AfterSalesPageController", "Due"]

PAGE_SIZE = 30
LABELS: dict[str, Any] = {
    "aftersale_status_label": aftersale_status_label,
    "aftersale_type_label": aftersale_type_label,
    "aftersale_tone": lambda status: AFTERSALE_STATUS_TONES.get(status, Tone.WAITING).value,
}


class Due(enum.StrEnum):
    """How soon the deadline runs out, as the filter offers it."""

    ANY = ""
    OVERDUE = "overdue"
    HOURS_4 = "4h"
    HOURS_24 = "24h"

    def before(self, now: dt.datetime) -> dt.datetime | None:
        hours = {Due.OVERDUE: 0, Due.HOURS_4: 4, Due.HOURS_24: 24}.get(self)
        return None if hours is None else now + dt.timedelta(hours=hours)


class AfterSalesPageController(Controller):
    path = "/aftersales"
    include_in_schema = False
    guards = [requires_role(Role.AGENT)]  # noqa: RUF012 - Litestar reads this class attribute

    @get("/", name="aftersales:index")
    async def index(
        self,
        *,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        store: FromQuery[str] = "",
        status: FromQuery[str] = ACTIONABLE,
        due: FromQuery[str] = "",
        page: FromQuery[int] = 1,
    ) -> Template:
        """The list; a filter value that is not one of the choices is shown as an error, not ignored."""
        runtime = cast(Runtime, request.app.state.runtime)
        user = request.user
        stores = await stores_visible_to(db_session, user)
        errors: dict[str, Any] = {}
        store_id = int(store) if store.isascii() and store.isdigit() and len(store) < 19 else None
        if store and (store_id is None or store_id not in {s.id for s in stores}):
            raise NotFoundException()
        chosen_status = parse_status(status)
        if isinstance(chosen_status, Invalid):
            errors.update(chosen_status.errors)
            chosen_status = ACTIONABLE
        try:
            chosen_due = Due(due)
        except ValueError:
            chosen_due = Due.ANY
        page = min(max(page, 1), MAX_PAGE)
        now = runtime.clock.now()
        result = await find_aftersales(
            db_session,
            user,
            AfterSaleFilter(store_id=store_id, status=chosen_status, deadline_before=chosen_due.before(now)),
            page=page,
            limit=PAGE_SIZE,
        )
        filters = {"store": store_id or "", "status": chosen_status, "due": chosen_due.value}
        return Template(
            "aftersales/index.html",
            context={
                "result": result,
                "stores": stores,
                "store_names": {s.id: s.name for s in stores},
                "statuses": list(AFTERSALE_STATUS_TONES),
                "dues": list(Due),
                "filters": filters,
                "errors": errors,
                "now": now,
                **LABELS,
                "page_url": lambda n: "/aftersales?" + urlencode({**filters, "page": n}),
            },
            status_code=422 if errors else 200,
        )


ROUTES = [AfterSalesPageController]
