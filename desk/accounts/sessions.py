"""Server-side sessions whose id changes at login, so a planted session id is worth nothing.

Litestar's server-side backend keeps the id from the request's cookie for as long as it exists.
An attacker who gets a victim to use a session id they know (session fixation) would then share
the victim's logged-in session. :func:`start_session` marks the request, and the backend below
deletes the old session and issues the cookie under a fresh random id instead.

A session also records the user's *session epoch* when it starts. Changing a user's password, role
or access bumps the epoch (:class:`~desk.accounts.services.UserService`), and the auth middleware
ends every session whose epoch is older, wherever it is stored.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.types import Empty, Message, ScopeSession

from desk.accounts.auth import (
    SESSION_COOKIE,
    SESSION_EPOCH_KEY,
    SESSION_STORE,
    SESSION_USER_KEY,
    UNAUTHENTICATED_PATHS,
)
from desk.accounts.models import User
from desk.settings import Settings

__all__ = ["SESSION_COOKIE", "RotatingSessionBackend", "end_session", "session_config", "start_session"]

SESSION_MAX_AGE = 12 * 3600
_ROTATE = "desk.session.rotate"
_NEW_ID = "desk.session.new_id"


def start_session(connection: ASGIConnection[Any, Any, Any, Any], user: User) -> None:
    """Log ``user`` in for this browser under a new session id (the old session is deleted).

    Also how a user who changed their own password stays logged in: the new session carries the
    new epoch, which ended every other one.
    """
    connection.scope[_ROTATE] = True  # type: ignore[literal-required]  # our own key in the scope dict
    connection.set_session({SESSION_USER_KEY: user.id, SESSION_EPOCH_KEY: user.session_epoch})


def end_session(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Log out: the stored session is deleted and the cookie cleared."""
    connection.clear_session()


class RotatingSessionBackend(ServerSideSessionBackend):
    """:class:`ServerSideSessionBackend` that honours :func:`start_session`'s request for a new id."""

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        new_id: str | None = connection.scope.get(_NEW_ID)  # type: ignore[assignment]  # set below, a str
        return new_id or super().get_session_id(connection)

    async def store_in_message(
        self, scope_session: ScopeSession, message: Message, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> None:
        if scope_session is Empty or not scope_session:
            # Logged out, or nothing to keep: no store entry and no cookie (bots and health checks
            # would otherwise fill the store with empty sessions); a cookie the browser still
            # sends (a session that ended or expired) is expired.
            await self._end(message, connection)
            return
        if connection.scope.get(_ROTATE) and _NEW_ID not in connection.scope:
            old_id = connection.cookies.get(self.config.key)
            if old_id:
                await self.delete(old_id, store=self.config.get_store_from_app(connection.scope["app"]))
            connection.scope[_NEW_ID] = self.generate_session_id()  # type: ignore[literal-required]  # our own key
        await super().store_in_message(scope_session, message, connection)

    async def _end(self, message: Message, connection: ASGIConnection[Any, Any, Any, Any]) -> None:
        """Delete the stored session and expire the cookie, if the browser sent one.

        Litestar's own version sends ``Expires`` in the past but keeps the configured ``Max-Age``,
        which browsers obey first: the cookie would outlive the logout.
        """
        session_id = connection.cookies.get(self.config.key)
        if not session_id:
            return
        await self.delete(session_id, store=self.config.get_store_from_app(connection.scope["app"]))
        cookie = Cookie(
            key=self.config.key,
            value="",
            max_age=0,
            expires=0,
            path=self.config.path,
            domain=self.config.domain,
            secure=self.config.secure,
            httponly=self.config.httponly,
            samesite=self.config.samesite,
        )
        MutableScopeHeaders.from_message(message).add("Set-Cookie", cookie.to_header(header=""))


class RotatingSessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend


def session_config(settings: Settings) -> ServerSideSessionConfig:
    """Server-side sessions: the cookie holds only a random id; data lives in the ``sessions`` store."""
    return RotatingSessionConfig(
        key=SESSION_COOKIE,
        store=SESSION_STORE,
        secure=settings.cookie_secure,
        samesite="lax",
        max_age=SESSION_MAX_AGE,
        exclude=UNAUTHENTICATED_PATHS,
    )
