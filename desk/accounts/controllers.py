"""Log in and out."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.admin import UsersAdminController
from desk.accounts.models import User
from desk.accounts.services import UserService
from desk.accounts.sessions import end_session, start_session
from desk.accounts.throttle import LoginThrottle
from desk.i18n import Message
from desk.runtime import Runtime
from desk.shell.redirects import local_path

__all__ = ["ROUTES"]


class LoginForm(msgspec.Struct):
    username: str = ""
    password: str = ""
    next: str = "/"


def _after_login(target: str) -> str:
    """Where to go once logged in: ``target`` if it is on this site and not the login page itself
    (which would send a logged-in user round in a loop)."""
    path = local_path(target)
    return "/" if path == "/login" or path.startswith(("/login?", "/login/")) else path


def _login_page(
    *, next_path: str, username: str = "", error: Message | None = None, status_code: int = 200
) -> Template:
    headers = {}
    if error is not None and error.key == "login.throttled":
        headers["Retry-After"] = str(error.params["seconds"])
    return Template(
        "accounts/login.html",
        context={"next": next_path, "username": username, "error": error},
        status_code=status_code,
        headers=headers,
    )


@get("/login", name="login", include_in_schema=False)
async def login_page(
    request: Request[User | None, Any, Any], next: FromQuery[str] = "/"
) -> Template | Redirect:
    if request.user is not None:
        return Redirect(_after_login(next))
    return _login_page(next_path=_after_login(next))


@post("/login", name="login:submit", include_in_schema=False)
async def login_submit(
    request: Request[User | None, Any, Any],
    state: State,
    db_session: NamedDependency[AsyncSession],
    data: Annotated[LoginForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Template | Redirect:
    """Check the credentials, counting the attempt against the account and address first."""
    runtime: Runtime = state.runtime
    next_path = _after_login(data.next)
    ip = request.client.host if request.client else "unknown"
    throttle = LoginThrottle(runtime.kv("throttle"), runtime.settings.login_max_failures)
    decision = await throttle.attempt(data.username, ip)
    if not decision.allowed:
        error = Message("login.throttled", {"seconds": decision.retry_after})
        return _login_page(next_path=next_path, username=data.username, error=error, status_code=429)
    user = await UserService(db_session).authenticate(data.username, data.password)
    if user is None:
        # One message whether the account is unknown, inactive or the password wrong.
        error = Message("login.invalid")
        return _login_page(next_path=next_path, username=data.username, error=error, status_code=400)
    await throttle.succeeded(data.username, ip)
    start_session(request, user)
    return Redirect(next_path)


@post("/logout", name="logout", include_in_schema=False)
async def logout(request: Request[Any, Any, Any]) -> Redirect:
    end_session(request)
    return Redirect("/login")


ROUTES: list[ControllerRouterHandler] = [login_page, login_submit, logout, UsersAdminController]
