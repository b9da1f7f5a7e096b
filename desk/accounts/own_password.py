"""A user's own password: change it, giving the current one (every role, from the user menu)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.auth import requires_role
from desk.accounts.models import Role, User
from desk.accounts.services import MIN_PASSWORD_LENGTH, ChangePasswordForm, UserService
from desk.accounts.sessions import start_session
from desk.errors import Invalid

__all__ = ["OwnPasswordController"]

NOTICES = frozenset({"changed"})


def _page(*, notice: str = "", errors: Invalid | None = None) -> Template:
    return Template(
        "accounts/password.html",
        context={
            "notice": notice if notice in NOTICES else "",
            "errors": errors.errors if errors else {},
            "min_password": MIN_PASSWORD_LENGTH,
        },
        status_code=400 if errors else 200,
    )


class OwnPasswordController(Controller):
    path = "/account/password"
    guards = [requires_role(Role.WAREHOUSE)]  # noqa: RUF012 - every role (warehouse is the lowest)
    include_in_schema = False

    @get("/", name="account:password")
    async def page(self, notice: FromQuery[str] = "") -> Template:
        return _page(notice=notice)

    @post("/", name="account:password:change", status_code=200)
    async def change(
        self,
        request: Request[User, Any, Any],
        state: State,
        db_session: NamedDependency[AsyncSession],
        data: Annotated[ChangePasswordForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Template | Redirect:
        users = UserService(db_session)
        # request.user was loaded outside this request's database session; change the row in it.
        user = await users.get(request.user.id)
        if user is None:  # deleted between the middleware and here
            return Redirect("/login")
        result = await users.change_own_password(user, data, throttle=state.login_throttle)
        if isinstance(result, Invalid):
            return _page(errors=result)
        # A fresh session carrying the new epoch: this browser stays signed in, all others are out.
        start_session(request, result)
        return Redirect(f"{self.path}?notice=changed")
