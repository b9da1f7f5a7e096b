"""Settings → events (admins only): the queue's health, failed and parked events, replay."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.auth import requires_role
from desk.accounts.models import Role
from desk.ingest.services import count_events_by_state, events_needing_attention, replay_event, replay_parked

__all__ = ["ROUTES", "EventsAdminController"]

NOTICES = frozenset({"replayed", "replayed_all"})


class EventsAdminController(Controller):
    path = "/settings/events"
    guards = [requires_role(Role.ADMIN)]  # noqa: RUF012 - Litestar reads these class attributes
    include_in_schema = False

    @get("/", name="ingest:events")
    async def index(
        self,
        db_session: NamedDependency[AsyncSession],
        notice: FromQuery[str] = "",
        count: FromQuery[int] = 0,
    ) -> Template:
        return Template(
            "ingest/events.html",
            context={
                "counts": await count_events_by_state(db_session),
                "events": await events_needing_attention(db_session),
                "notice": notice if notice in NOTICES else "",
                "count": count,
            },
        )

    @post("/{event_id:int}/replay", name="ingest:replay")
    async def replay(self, db_session: NamedDependency[AsyncSession], event_id: FromPath[int]) -> Redirect:
        """Try a parked event again from scratch (the worker picks it up at once)."""
        if not await replay_event(db_session, event_id):
            raise NotFoundException("no parked or failing event with this id")
        return Redirect("/settings/events?notice=replayed")

    @post("/replay-parked", name="ingest:replay-parked")
    async def replay_all(self, db_session: NamedDependency[AsyncSession]) -> Redirect:
        """Try every parked event again (after the cause — a wrong secret, say — was fixed)."""
        count = await replay_parked(db_session)
        return Redirect(f"/settings/events?notice=replayed_all&count={count}")


ROUTES = [EventsAdminController]
