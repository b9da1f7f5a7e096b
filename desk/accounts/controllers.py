"""Log in and out."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import sqlalchemy as sa
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.auth import SESSION_USER_KEY
from desk.accounts.models import User
from desk.accounts.passwords import verify_password_or_dummy

__all__ = ["ROUTES"]


class LoginForm(msgspec.Struct):
    username: str = ""
    password: str = ""
    next: str = "/"


def _safe_next(target: str) -> str:
    # Only local paths: an attacker's link must not turn our login page into an open redirect.
    return target if target.startswith("/") and not target.startswith("//") else "/"


@get("/login", name="login", include_in_schema=False)
async def login_page(next: FromQuery[str] = "/") -> Template:
    return Template("accounts/login.html", context={"next": _safe_next(next), "error": None, "username": ""})


@post("/login", name="login:submit", include_in_schema=False)
async def login_submit(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    data: Annotated[LoginForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Template | Redirect:
    user = await db_session.scalar(sa.select(User).where(User.username == data.username.strip()))
    ok = await verify_password_or_dummy(user.password_hash if user else None, data.password)
    if not ok or user is None or not user.is_active:
        return Template(
            "accounts/login.html",
            context={"next": _safe_next(data.next), "error": "login.invalid", "username": data.username},
            status_code=400,
        )
    request.clear_session()
    request.set_session({SESSION_USER_KEY: user.id})
    return Redirect(_safe_next(data.next))


@post("/logout", name="logout", include_in_schema=False)
async def logout(request: Request[Any, Any, Any]) -> Redirect:
    request.clear_session()
    return Redirect("/login")


ROUTES = [login_page, login_submit, logout]
