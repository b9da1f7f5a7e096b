"""A user's own stores: the "my stores" pages and ``/api/v1/stores``, both scoped to the user.

Stores outside the user's scope answer 404 (not 403), so their existence is not revealed.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.models import User
from desk.accounts.scoping import get_scoped
from desk.ingest.health import push_health
from desk.runtime import Runtime
from desk.stores.activity import PanelName, activity_panel, store_activity
from desk.stores.admin import CorpsAdminController, StoresAdminController
from desk.stores.models import Store
from desk.stores.schemas import StoreOut
from desk.stores.services import store_push_url, stores_visible_to

__all__ = ["ROUTES", "StoresApiController", "StoresController"]


class StoresController(Controller):
    path = "/stores"
    include_in_schema = False

    @get("/", name="stores:index")
    async def index(
        self, request: Request[User, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Template:
        stores = await stores_visible_to(db_session, request.user)
        return Template("stores/index.html", context={"stores": stores})

    @get("/{store_id:int}", name="stores:detail")
    async def detail(
        self,
        request: HTMXRequest,
        state: State,
        db_session: NamedDependency[AsyncSession],
        store_id: FromPath[int],
        panel: FromQuery[PanelName | None] = None,
    ) -> Template:
        """The store's identity and its live activity; an htmx poll for one ``panel`` gets just that panel."""
        runtime: Runtime = state.runtime
        user: User = request.user
        store = await get_scoped(db_session, Store, user, Store.id == store_id, scope_column=Store.id)
        if request.htmx and panel is not None:
            rows = await activity_panel(db_session, user, panel, store_id=store.id)
            return Template(f"stores/_{panel}.html", context={panel.value: rows})
        activity = await store_activity(db_session, user, store.id)
        return Template(
            "stores/detail.html",
            context={
                "store": store,
                "push_url": store_push_url(runtime.settings, store),
                "push_health": await push_health(db_session, store.id),
                "conversations": activity.conversations,
                "orders": activity.orders,
                "aftersales": activity.aftersales,
            },
        )


class StoresApiController(Controller):
    path = "/api/v1/stores"
    tags = ["stores"]  # noqa: RUF012 - Litestar reads this class attribute

    @get("/", name="api:stores:list")
    async def list_stores(
        self, request: Request[User, Any, Any], state: State, db_session: NamedDependency[AsyncSession]
    ) -> list[StoreOut]:
        """The stores the token's user works for (every store for an admin's token)."""
        runtime: Runtime = state.runtime
        return [StoreOut.of(s, runtime.settings) for s in await stores_visible_to(db_session, request.user)]

    @get("/{store_id:int}", name="api:stores:get")
    async def get_store(
        self,
        request: Request[User, Any, Any],
        state: State,
        db_session: NamedDependency[AsyncSession],
        store_id: FromPath[int],
    ) -> StoreOut:
        """One store, or 404 when it does not exist or is outside the token's stores."""
        runtime: Runtime = state.runtime
        store = await get_scoped(db_session, Store, request.user, Store.id == store_id, scope_column=Store.id)
        return StoreOut.of(store, runtime.settings)


ROUTES = [StoresController, StoresApiController, StoresAdminController, CorpsAdminController]
