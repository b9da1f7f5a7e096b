"""The app shell: the start page for each role, the language switch, and the section pages."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.params import FromPath
from litestar.response import Redirect, Template

from desk.accounts.auth import requires_role
from desk.accounts.models import Role, User
from desk.i18n import LANGUAGES
from desk.templating import LANGUAGE_COOKIE

__all__ = ["ROUTES"]


@get("/", name="home", include_in_schema=False)
async def home(request: Request[User, Any, Any]) -> Redirect:
    """Send each role to the page it works in."""
    start = {Role.AGENT: "inbox:index", Role.MANAGER: "dashboard:index", Role.ADMIN: "settings:index"}
    return Redirect(request.app.route_reverse(start[request.user.role]))


@get("/lang/{code:str}", name="lang", include_in_schema=False)
async def switch_language(request: Request[Any, Any, Any], code: FromPath[str]) -> Redirect:
    """Remember the chosen UI language in a cookie and go back where the user was."""
    target = request.headers.get("referer") or "/"
    if not target.startswith(str(request.base_url)) and not target.startswith("/"):
        target = "/"  # never redirect off-site
    response = Redirect(target)
    if code in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, code, max_age=365 * 24 * 3600, samesite="lax")
    return response


@get("/inbox", name="inbox:index", include_in_schema=False, guards=[requires_role(Role.AGENT)])
async def inbox_index() -> Template:
    return Template("shell/inbox.html")


@get("/dashboard", name="dashboard:index", include_in_schema=False, guards=[requires_role(Role.MANAGER)])
async def dashboard_index() -> Template:
    return Template("shell/dashboard.html")


@get("/settings", name="settings:index", include_in_schema=False, guards=[requires_role(Role.ADMIN)])
async def settings_index() -> Template:
    return Template("shell/settings.html")


ROUTES = [home, switch_language, inbox_index, dashboard_index, settings_index]
