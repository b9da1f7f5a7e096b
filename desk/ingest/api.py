"""``/api/v1/events``: stored platform events, e.g. ``?state=parked`` for monitoring (token auth)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.models import User
from desk.ingest.models import EventState
from desk.ingest.services import EventSummary, list_events

__all__ = ["ROUTES", "EventsApiController"]


class EventsApiController(Controller):
    path = "/api/v1/events"
    tags = ["events"]  # noqa: RUF012 - Litestar reads this class attribute

    @get("/", name="api:events:list")
    async def list_events(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        # ``state`` is the query name; the parameter cannot be called so (Litestar reserves it).
        event_state: Annotated[EventState | None, QueryParameter(name="state")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> list[EventSummary]:
        """Events newest first, optionally of one ``state``. Admins' tokens see every store's
        events (and WeCom callbacks); other tokens only their stores'."""
        return await list_events(db_session, request.user, state=event_state, limit=limit)


ROUTES = [EventsApiController]
