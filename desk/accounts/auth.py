"""Who is asking: session cookies for pages, bearer tokens for ``/api/v1``; role guards.

The middleware resolves the user for every request it sees. Public pages (login, health, static
files, the OpenAPI schema) get ``request.user = None``; every other page answers 401 without a user,
which the error handlers turn into a redirect to the login page for browsers. A session is over
when its user is deactivated or its epoch is older than the user's (password, role or access
changed since it started); the middleware then deletes it from the store at once, and the next
page the browser gets (the login page) expires its cookie.
"""

from __future__ import annotations

import re
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import Guard

from desk.accounts.models import Role, User
from desk.accounts.tokens import authenticate_token
from desk.errors import ForbiddenHere
from desk.runtime import Runtime

__all__ = [
    "PUBLIC_PATHS",
    "SESSION_COOKIE",
    "SESSION_EPOCH_KEY",
    "SESSION_STORE",
    "SESSION_USER_KEY",
    "UNAUTHENTICATED_PATHS",
    "WAREHOUSE_PATHS",
    "AuthMiddleware",
    "requires_role",
]

SESSION_COOKIE = "desk_session"
SESSION_STORE = "sessions"
SESSION_USER_KEY = "user_id"
SESSION_EPOCH_KEY = "epoch"
# Reached without logging in: these exact pages, and everything under these folders — anchored at
# both ends, so that a page added later as /login-history or /schemas is not public by accident.
PUBLIC_PATHS = re.compile(r"^/(login|healthz|favicon\.ico|schema)$|^/(lang|static|schema)/")
# All a warehouse user may reach besides the public pages: the start page (which sends them on
# to the scan page), the scan page and what it posts to, their own password, and signing out.
WAREHOUSE_PATHS = re.compile(r"^/(|logout|warehouse|account/password)$|^/warehouse/")
# Skipped by the session and auth middleware altogether (hot paths with their own checks).
UNAUTHENTICATED_PATHS = ["^/webhooks/"]


class AuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        runtime: Runtime = connection.app.state.runtime
        path = connection.scope["path"]
        user: User | None = None
        if path.startswith("/api/"):
            header = connection.headers.get("authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() == "bearer" and token:
                async with runtime.db.session() as session:
                    user = await authenticate_token(session, token.strip())
            if user is None:
                raise NotAuthorizedException("a valid API token is required (Authorization: Bearer desk_…)")
            _keep_warehouse_at_the_scan_page(user, path)
            return AuthenticationResult(user=user, auth="token")
        data = connection.session if "session" in connection.scope else {}
        user_id = data.get(SESSION_USER_KEY)
        if user_id is not None:
            async with runtime.db.session() as session:
                user = await session.get(User, user_id)
            # Sessions from before the epoch existed carry none: they belong to epoch 0.
            if user is None or not user.is_active or data.get(SESSION_EPOCH_KEY, 0) != user.session_epoch:
                await _end_stale_session(connection)
                user = None
        if user is None and not PUBLIC_PATHS.match(path):
            raise NotAuthorizedException("login required")
        if user is not None and not PUBLIC_PATHS.match(path):
            _keep_warehouse_at_the_scan_page(user, path)
        return AuthenticationResult(user=user, auth="session" if user else None)


def _keep_warehouse_at_the_scan_page(user: User, path: str) -> None:
    """A warehouse user reaches the scan page only: every other page is sent there, the API
    answers 403.

    Checked here, for every request, rather than by a guard on each page: a page added later is
    closed to the warehouse without anyone remembering to close it.
    """
    if user.role is Role.WAREHOUSE and not WAREHOUSE_PATHS.match(path):
        raise ForbiddenHere("the warehouse role may use the scan page only", elsewhere="/warehouse")


async def _end_stale_session(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Delete a session that is over, here and now.

    Clearing it is not enough: the 401 raised next is answered outside the session middleware,
    which would never get to delete it. (Where a page does answer, the cookie is expired too.)
    """
    session_id = connection.cookies.get(SESSION_COOKIE)
    if session_id:
        await connection.app.stores.get(SESSION_STORE).delete(session_id)
    connection.clear_session()


def requires_role(role: Role) -> Guard:
    """A guard admitting users whose role is ``role`` or above (agent < manager < admin)."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        user: User | None = connection.user
        if user is None:
            raise NotAuthorizedException("login required")
        if not user.role.at_least(role):
            raise PermissionDeniedException(f"requires the {role.value} role")

    guard.__name__ = f"requires_{role.value}"
    return guard
