"""``create_app(settings)``: the one place that knows every domain and wires them together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from advanced_alchemy.extensions.litestar import AsyncSessionConfig, SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.plugins.htmx import HTMXPlugin
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from desk import __version__
from desk.accounts import controllers as accounts_controllers
from desk.accounts.auth import UNAUTHENTICATED_PATHS, AuthMiddleware
from desk.accounts.models import ApiToken, User
from desk.accounts.sessions import SESSION_COOKIE, session_config
from desk.aftersales import api as aftersales_api
from desk.aftersales.models import AfterSale
from desk.db import Base
from desk.errors import exception_handlers
from desk.gc_tuning import tune_for_service
from desk.health import healthz
from desk.inbox.models import Conversation, Message
from desk.ingest import api as ingest_api
from desk.ingest import controllers as ingest_controllers
from desk.ingest import webhooks as ingest_webhooks
from desk.ingest.install import install_ingest
from desk.ingest.models import KfCursor, PlatformEvent
from desk.logs import configure_logging
from desk.orders import api as orders_api
from desk.orders.models import Buyer, Order, OrderLine
from desk.paths import STATIC_DIR
from desk.runtime import Runtime
from desk.settings import Settings, load_settings
from desk.shell import controllers as shell_controllers
from desk.stores import controllers as stores_controllers
from desk.stores.models import PlatformToken, Store, WeComCorp
from desk.templating import template_config

__all__ = ["SESSION_COOKIE", "create_app", "metadata", "session_config"]

# Every table, for Alembic (migrations/env.py) and the test that models match the migrations.
metadata = Base.metadata
MODELS = (
    User,
    ApiToken,
    Store,
    WeComCorp,
    PlatformToken,
    PlatformEvent,
    KfCursor,
    Buyer,
    Order,
    OrderLine,
    AfterSale,
    Conversation,
    Message,
)

ROUTES: list[ControllerRouterHandler] = [
    healthz,
    *shell_controllers.ROUTES,
    *accounts_controllers.ROUTES,
    *stores_controllers.ROUTES,
    *ingest_webhooks.ROUTES,
    *ingest_controllers.ROUTES,
    *ingest_api.ROUTES,
    *orders_api.ROUTES,
    *aftersales_api.ROUTES,
]

CSRF_COOKIE = "desk_csrf"


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Litestar:
    """The desk web application for ``settings`` (default: read from ``DESK_*`` variables).

    Pass a ``runtime`` to share one (database, Redis, services) with the caller, as tests and
    ``desk demo`` do; otherwise the app builds its own and closes it on shutdown.
    """
    settings = settings or (runtime.settings if runtime else load_settings())
    owns_runtime = runtime is None
    runtime = runtime or Runtime(settings)
    ingest = install_ingest(runtime, background=owns_runtime)
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        if owns_runtime:
            async with runtime.running():
                tune_for_service()
                yield
        else:
            yield

    sqlalchemy = SQLAlchemyPlugin(
        config=SQLAlchemyAsyncConfig(
            engine_instance=runtime.db.engine,
            session_config=AsyncSessionConfig(expire_on_commit=False),
            # Post/redirect/get: a form that saves and redirects must commit too.
            before_send_handler="autocommit_include_redirects",
            create_all=False,
        )
    )
    return Litestar(
        route_handlers=[
            *ROUTES,
            create_static_files_router(
                path="/static", directories=[STATIC_DIR], name="static", include_in_schema=False
            ),
        ],
        state=State({"runtime": runtime, "ingest": ingest}),
        lifespan=[lifespan, ingest.lifespan],
        plugins=[sqlalchemy, HTMXPlugin()],
        stores={"sessions": runtime.kv("sessions")},
        middleware=[
            session_config(settings).middleware,
            DefineMiddleware(AuthMiddleware, exclude=UNAUTHENTICATED_PATHS),
        ],
        csrf_config=CSRFConfig(
            secret=runtime.secret_key,
            cookie_name=CSRF_COOKIE,
            header_name="x-csrftoken",
            cookie_secure=settings.cookie_secure,
            # Pushes are verified by signature and the API by bearer token; neither carries cookies.
            exclude=[*UNAUTHENTICATED_PATHS, "^/api/"],
        ),
        template_config=template_config(),
        exception_handlers=exception_handlers,
        openapi_config=OpenAPIConfig(
            title="desk",
            version=__version__,
            path="/schema",
            render_plugins=[SwaggerRenderPlugin()],
        ),
        # desk configures logging itself (configure_logging: level from DESK_LOG_LEVEL, quiet httpx).
        logging_config=None,
        debug=settings.debug,
    )
