"""Jinja set-up: autoescaping, the ``t()`` / ``msg()`` message functions, the role-aware navigation.

Templates call ``t("key", **params)`` for every UI string, ``msg(message)`` for a
:class:`~desk.i18n.Message` a service returned (form errors), ``current_user()`` for the logged-in
user (None on public pages and on errors raised before authentication ran) and ``nav_items()``.
The filters ``fen``, ``clock``, ``timestamp`` and ``duration`` come from :mod:`desk.shell.formatting`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from litestar.connection import Request
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from desk.accounts.models import Role, User
from desk.i18n import LANGUAGES, Message, negotiate, translate
from desk.inbox.reply_variables import VARIABLES
from desk.paths import TEMPLATES_DIR
from desk.shell.formatting import format_clock, format_duration, format_fen, format_timestamp

__all__ = ["LANGUAGE_COOKIE", "NAV_ITEMS", "request_language", "template_config"]

LANGUAGE_COOKIE = "desk_lang"

# (message key, route name, lowest role that sees it). Later issues fill the pages behind them.
NAV_ITEMS: tuple[tuple[str, str, Role], ...] = (
    ("nav.inbox", "inbox:index", Role.AGENT),
    ("nav.warehouse", "warehouse:index", Role.WAREHOUSE),
    ("nav.aftersales", "aftersales:index", Role.AGENT),
    ("nav.dashboard", "dashboard:index", Role.MANAGER),
    ("nav.complaints", "complaints:index", Role.MANAGER),
    ("nav.audit", "audit:index", Role.MANAGER),
    ("nav.settings", "settings:index", Role.ADMIN),
)


def request_language(request: Request[Any, Any, Any]) -> str:
    """The UI language: the switcher's cookie, then the user's setting, then ``DESK_LANGUAGE``."""
    cached = request.scope.get("desk_language")
    if isinstance(cached, str):
        return cached
    user = request.scope.get("user")
    default = request.app.state.runtime.settings.language
    language = negotiate(
        request.cookies.get(LANGUAGE_COOKIE),
        getattr(user, "language", None),
        default=default,
    )
    request.scope["desk_language"] = language  # type: ignore[typeddict-unknown-key]  # a per-request cache in the scope
    return language


def _t(ctx: Mapping[str, Any], key: str, **params: object) -> str:
    return translate(request_language(ctx["request"]), key, **params)


def _msg(ctx: Mapping[str, Any], message: Message) -> str:
    return message.render(request_language(ctx["request"]))


def _lang(ctx: Mapping[str, Any]) -> str:
    return request_language(ctx["request"])


@pass_context
def _duration(ctx: Mapping[str, Any], seconds: int) -> str:
    return format_duration(seconds, request_language(ctx["request"]))


def _current_user(ctx: Mapping[str, Any]) -> User | None:
    user: User | None = ctx["request"].scope.get("user")
    return user


def _nav(ctx: Mapping[str, Any]) -> list[dict[str, str]]:
    request = ctx["request"]
    user = _current_user(ctx)
    if user is None:
        return []
    path = request.url.path
    items = []
    for key, route, role in NAV_ITEMS:
        if not user.role.at_least(role):
            continue
        if role is Role.WAREHOUSE and user.role is not Role.WAREHOUSE:
            continue  # the scan page is the warehouse's; the others open it by its address
        href = request.app.route_reverse(route)
        items.append(
            {"label": _t(ctx, key), "href": href, "active": "active" if path.startswith(href) else ""}
        )
    return items


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["LANGUAGES"] = LANGUAGES
    # The composer refuses to send a quick reply whose variable had no value ({订单号} left as is).
    environment.globals["REPLY_VARIABLES"] = ",".join(VARIABLES)
    environment.filters.update(
        fen=format_fen, clock=format_clock, timestamp=format_timestamp, duration=_duration
    )
    engine = JinjaTemplateEngine.from_environment(environment)
    engine.register_template_callable("t", _t)
    engine.register_template_callable("msg", _msg)
    engine.register_template_callable("current_user", _current_user)
    engine.register_template_callable("lang", _lang)
    engine.register_template_callable("nav_items", _nav)
    return TemplateConfig(instance=engine)
