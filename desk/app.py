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
from litestar.plugins.htmx import HTMXPlugin
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from desk import __version__
from desk.accounts import controllers as accounts_controllers
from desk.accounts.auth import SESSION_STORE, UNAUTHENTICATED_PATHS, AuthMiddleware
from desk.accounts.devices import KnownDevices
from desk.accounts.models import ApiToken, BackoffCounter, User
from desk.accounts.sessions import SESSION_COOKIE, session_config
from desk.accounts.signin import build_login_throttle
from desk.aftersales import address_pages, complaint_pages, warehouse_pages
from desk.aftersales import api as aftersales_api
from desk.aftersales import pages as aftersales_pages
from desk.aftersales.models import (
    AfterSale,
    Complaint,
    Interception,
    MerchantAddress,
    ReturnAddressBinding,
)
from desk.audit import pages as audit_pages
from desk.audit.models import AuditEntry
from desk.background import Background
from desk.changes.models import ChangeEvent
from desk.commands import api as commands_api
from desk.commands.models import OutboundCommand
from desk.db import Base
from desk.errors import exception_handlers
from desk.gc_tuning import tune_for_service
from desk.health import healthz
from desk.inbox import api as inbox_api
from desk.inbox import controllers as inbox_controllers
from desk.inbox import quick_reply_pages
from desk.inbox import search_controllers as inbox_search
from desk.inbox import stream as inbox_stream
from desk.inbox.models import AgentPresence, Conversation, Message, QuickReply
from desk.ingest import api as ingest_api
from desk.ingest import controllers as ingest_controllers
from desk.ingest import webhooks as ingest_webhooks
from desk.ingest.install import install_ingest
from desk.ingest.models import KfCursor, PlatformEvent, PushHour
from desk.logs import configure_logging
from desk.metrics.models import AfterSaleClock, MetricFact, MetricFactPending, MetricRollup, OpenConsultation
from desk.openapi_page import LocalSwaggerUI
from desk.orders import api as orders_api
from desk.orders import pages as orders_pages
from desk.orders.models import Buyer, BuyerTag, Order, OrderLine
from desk.path_ids import path_ids_in_range
from desk.paths import STATIC_DIR
from desk.proxies import ProxyHeadersMiddleware, TrustedProxies
from desk.rules import api as rules_api
from desk.rules import pages as rules_pages
from desk.rules.models import RuleRow, RuleRun, RuleTrigger, RuleVersion
from desk.runtime import Runtime
from desk.secure_cookies import SecureCookiesMiddleware
from desk.security_headers import SecurityHeaders
from desk.settings import Settings, load_settings
from desk.shell import controllers as shell_controllers
from desk.sidebar import controllers as sidebar_controllers
from desk.stores import controllers as stores_controllers
from desk.stores.models import PlatformToken, Store, WeComCorp
from desk.templating import template_config
from desk.timers.models import Timer

__all__ = [
    "INTERACTIVE_GRACE_S",
    "SESSION_COOKIE",
    "SHUTDOWN_GRACE_S",
    "create_app",
    "metadata",
    "session_config",
]

SHUTDOWN_GRACE_S = 30
"""How long a stopping server waits for open requests before cancelling them (as gunicorn's
graceful timeout). Pushes being stored finish within it; the inbox's live streams never end by
themselves, and without a limit `desk serve` (and its embedded worker) would not stop while any
agent's page stayed open."""

INTERACTIVE_GRACE_S = 5
"""The same for `desk demo` and the tests' servers, where someone is waiting for Ctrl-C."""

# Every table, for Alembic (migrations/env.py) and the test that models match the migrations.
metadata = Base.metadata
MODELS = (
    User,
    ApiToken,
    BackoffCounter,
    Store,
    WeComCorp,
    PlatformToken,
    PlatformEvent,
    PushHour,
    KfCursor,
    Buyer,
    BuyerTag,
    Order,
    OrderLine,
    AfterSale,
    Conversation,
    Message,
    ChangeEvent,
    MetricFact,
    MetricFactPending,
    MetricRollup,
    OpenConsultation,
    AfterSaleClock,
    OutboundCommand,
    AgentPresence,
    QuickReply,
    Timer,
    RuleRow,
    RuleVersion,
    RuleTrigger,
    RuleRun,
    MerchantAddress,
    ReturnAddressBinding,
    Interception,
    Complaint,
    AuditEntry,
)

ROUTES: list[ControllerRouterHandler] = [
    healthz,
    *shell_controllers.ROUTES,
    *accounts_controllers.ROUTES,
    *stores_controllers.ROUTES,
    *ingest_webhooks.ROUTES,
    *ingest_controllers.ROUTES,
    *ingest_api.ROUTES,
    *inbox_controllers.ROUTES,
    *inbox_stream.ROUTES,
    *orders_api.ROUTES,
    *aftersales_api.ROUTES,
    *orders_pages.ROUTES,
    *aftersales_pages.ROUTES,
    *inbox_api.ROUTES,
    *commands_api.ROUTES,
    *quick_reply_pages.ROUTES,
    *inbox_search.ROUTES,
    *address_pages.ROUTES,
    *warehouse_pages.ROUTES,
    *complaint_pages.ROUTES,
    *audit_pages.ROUTES,
    *rules_pages.ROUTES,
    *rules_api.ROUTES,
    *sidebar_controllers.ROUTES,
]

CSRF_COOKIE = "desk_csrf"


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Litestar:
    """The desk web application for ``settings`` (default: read from ``DESK_*`` variables).

    Pass a ``runtime`` to share one (database, Redis, services, the clock) with the caller, as
    tests and ``desk demo`` do; otherwise the app builds its own and closes it on shutdown.
    """
    settings = settings or (runtime.settings if runtime else load_settings())
    owns_runtime = runtime is None
    runtime = runtime or Runtime(settings)
    ingest = install_ingest(runtime)
    if owns_runtime and settings.worker == "embedded":
        runtime.add_service(Background(runtime, loops=1))
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
        state=State(
            {
                "runtime": runtime,
                "ingest": ingest,
                "login_throttle": build_login_throttle(runtime, settings),
                "known_devices": KnownDevices(runtime.secret_key, secure=settings.cookie_secure),
            }
        ),
        lifespan=[lifespan, ingest.lifespan],
        plugins=[sqlalchemy, HTMXPlugin()],
        stores={SESSION_STORE: runtime.kv("sessions")},
        # On every response, the router's own 404s included (see desk/security_headers.py).
        before_send=[SecurityHeaders(https=settings.cookie_secure)],
        middleware=[
            # First: everything after it sees the real client address and scheme.
            DefineMiddleware(ProxyHeadersMiddleware, trusted=TrustedProxies.parse(settings.trusted_proxies)),
            SecureCookiesMiddleware,
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
        guards=[path_ids_in_range],
        openapi_config=OpenAPIConfig(
            title="desk",
            version=__version__,
            path="/schema",
            # Public like the source it describes: see the README, "Security headers and the API
            # documentation".
            render_plugins=[LocalSwaggerUI()],
            # Handler docstrings are the API's documentation: integrators read them in /schema.
            use_handler_docstrings=True,
        ),
        # desk configures logging itself (configure_logging: level from DESK_LOG_LEVEL, quiet httpx).
        logging_config=None,
        debug=settings.debug,
    )
