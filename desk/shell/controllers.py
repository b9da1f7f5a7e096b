"""The app shell: the start page for each role, the language switch, and the section pages."""

from __future__ import annotations

from typing import Any, NamedTuple, NoReturn

from litestar import HttpMethod, Request, get, route
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import File, Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.auth import requires_role
from desk.accounts.models import Role, User
from desk.i18n import LANGUAGES
from desk.paths import STATIC_DIR
from desk.shell.redirects import local_path
from desk.stores.services import stores_visible_to
from desk.templating import LANGUAGE_COOKIE

__all__ = ["ROUTES", "SETTINGS_SECTIONS", "SettingsSection"]


class SettingsSection(NamedTuple):
    """A card on the settings page: texts ``settings.<name>.title`` / ``.summary``, and its path."""

    name: str
    path: str


# Sections owned by other domains are listed here too and shown once their pages exist.
SETTINGS_SECTIONS: tuple[SettingsSection, ...] = (
    SettingsSection("stores", "/settings/stores"),
    SettingsSection("wecom", "/settings/wecom"),
    SettingsSection("users", "/settings/users"),
    SettingsSection("quick_replies", "/settings/quick-replies"),
    SettingsSection("addresses", "/settings/addresses"),
    SettingsSection("events", "/settings/events"),
    SettingsSection("rules", "/settings/rules"),
)


@get("/", name="home", include_in_schema=False)
async def home(request: Request[User, Any, Any]) -> Redirect:
    """Send each role to the page it works in."""
    start = {
        Role.WAREHOUSE: "warehouse:index",
        Role.AGENT: "inbox:index",
        Role.MANAGER: "dashboard:index",
        Role.ADMIN: "settings:index",
    }
    return Redirect(request.app.route_reverse(start[request.user.role]))


@get("/favicon.ico", name="favicon", include_in_schema=False, cache_control=CacheControlHeader(max_age=86400))
async def favicon() -> File:
    """The icon browsers ask for at the site's root (pages also link ``/static/favicon.svg``)."""
    return File(STATIC_DIR / "favicon.ico", media_type="image/x-icon", content_disposition_type="inline")


@get("/lang/{code:str}", name="lang", include_in_schema=False)
async def switch_language(request: Request[Any, Any, Any], code: FromPath[str]) -> Redirect:
    """Remember the chosen UI language in a cookie and go back where the user was."""
    response = Redirect(local_path(request.headers.get("referer") or "/", base_url=str(request.base_url)))
    if code in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, code, max_age=365 * 24 * 3600, samesite="lax")
    return response


@get("/dashboard", name="dashboard:index", include_in_schema=False, guards=[requires_role(Role.MANAGER)])
async def dashboard_index(
    request: Request[User, Any, Any], db_session: NamedDependency[AsyncSession]
) -> Template:
    stores = await stores_visible_to(db_session, request.user)
    return Template("shell/dashboard.html", context={"stores": stores})


@get("/settings", name="settings:index", include_in_schema=False, guards=[requires_role(Role.ADMIN)])
async def settings_index(request: Request[User, Any, Any]) -> Template:
    routes = request.app.route_handler_method_map
    sections = [section for section in SETTINGS_SECTIONS if section.path in routes]
    return Template("shell/settings.html", context={"sections": sections})


@route(
    "/{path:path}",
    http_method=[HttpMethod.GET, HttpMethod.POST, HttpMethod.PUT, HttpMethod.PATCH, HttpMethod.DELETE],
    name="not-found",
    include_in_schema=False,
)
async def not_found(path: FromPath[str]) -> NoReturn:
    """Any address no page answers. Matched as a route (the most general one) rather than left to
    the router, so that the session and sign-in middleware run first: the 404 page then keeps the
    user's navigation, and a visitor who is not signed in is asked to sign in, as on every page."""
    raise NotFoundException(f"no page at /{path}")


ROUTES = [home, favicon, switch_language, dashboard_index, settings_index, not_found]
