"""Log in and out; a user's own password."""

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
from desk.accounts.devices import KnownDevices
from desk.accounts.models import User
from desk.accounts.own_password import OwnPasswordController
from desk.accounts.services import UserService, normalize_username
from desk.accounts.sessions import end_session, start_session
from desk.accounts.signin import SignInRefused, sign_in
from desk.i18n import Message
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
    """Check the credentials (throttled first), start a session and remember this browser."""
    next_path = _after_login(data.next)
    devices: KnownDevices = state.known_devices
    device_id = devices.device_id(request.cookies, normalize_username(data.username))
    result = await sign_in(
        UserService(db_session),
        state.login_throttle,
        username=data.username,
        password=data.password,
        # The address desk.proxies established: X-Forwarded-For counts only from trusted proxies.
        address=request.client.host if request.client else "unknown",
        device_id=device_id,
    )
    if isinstance(result, SignInRefused):
        return _login_page(
            next_path=next_path, username=data.username, error=result.message, status_code=result.status_code
        )
    start_session(request, result)
    response = Redirect(next_path)
    response.set_cookie(devices.cookie(result.username, device_id))
    return response


@post("/logout", name="logout", include_in_schema=False)
async def logout(request: Request[Any, Any, Any]) -> Redirect:
    end_session(request)
    return Redirect("/login")


ROUTES: list[ControllerRouterHandler] = [
    login_page,
    login_submit,
    logout,
    OwnPasswordController,
    UsersAdminController,
]
