"""Settings → users (admins only): list, add, change role and stores, reset password, deactivate."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.auth import requires_role
from desk.accounts.models import Role, User
from desk.accounts.services import (
    MIN_PASSWORD_LENGTH,
    NewUserForm,
    PasswordForm,
    UserEditForm,
    UserService,
    ticked,
)
from desk.errors import Invalid

__all__ = ["UsersAdminController", "provide_user_service"]

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
# Outcomes announced on the list or edit page after a redirect (post/redirect/get).
NOTICES = frozenset({"created", "saved", "password_reset", "deactivated", "activated"})


async def provide_user_service(db_session: NamedDependency[AsyncSession]) -> UserService:
    return UserService(db_session)


def _notice(value: str) -> str:
    return value if value in NOTICES else ""


def _current(user: User) -> UserEditForm:
    """The edit form as the user stands now."""
    return UserEditForm(
        display_name=user.display_name, role=user.role.value, stores=[str(s.id) for s in user.stores]
    )


class UsersAdminController(Controller):
    path = "/settings/users"
    guards = [requires_role(Role.ADMIN)]  # noqa: RUF012 - Litestar reads these class attributes
    dependencies = {"users": Provide(provide_user_service)}  # noqa: RUF012
    include_in_schema = False

    @get("/", name="users:index")
    async def index(self, users: NamedDependency[UserService], notice: FromQuery[str] = "") -> Template:
        return Template(
            "accounts/users/index.html",
            context={"users": await users.list_users(), "notice": _notice(notice)},
        )

    @get("/new", name="users:new")
    async def new(self, users: NamedDependency[UserService]) -> Template:
        return await _new_page(users, NewUserForm(role=Role.AGENT.value))

    @post("/", name="users:create", status_code=200)
    async def create(
        self, users: NamedDependency[UserService], data: Annotated[NewUserForm, Form]
    ) -> Template | Redirect:
        result = await users.create(data)
        if isinstance(result, Invalid):
            return await _new_page(users, data, result)
        return Redirect(f"{self.path}?notice=created")

    @get("/{user_id:int}", name="users:edit")
    async def edit(
        self, users: NamedDependency[UserService], user_id: FromPath[int], notice: FromQuery[str] = ""
    ) -> Template:
        user = await _found(users, user_id)
        return await _edit_page(users, user, _current(user), notice=_notice(notice))

    @post("/{user_id:int}", name="users:update", status_code=200)
    async def update(
        self,
        request: Request[User, Any, Any],
        users: NamedDependency[UserService],
        user_id: FromPath[int],
        data: Annotated[UserEditForm, Form],
    ) -> Template | Redirect:
        user = await _found(users, user_id)
        result = await users.update(user, data, acting=request.user)
        if isinstance(result, Invalid):
            return await _edit_page(users, user, data, errors=result)
        return Redirect(f"{self.path}/{user_id}?notice=saved")

    @post("/{user_id:int}/password", name="users:password", status_code=200)
    async def reset_password(
        self, users: NamedDependency[UserService], user_id: FromPath[int], data: Annotated[PasswordForm, Form]
    ) -> Template | Redirect:
        user = await _found(users, user_id)
        result = await users.reset_password(user, data)
        if isinstance(result, Invalid):
            return await _edit_page(users, user, _current(user), password_errors=result)
        return Redirect(f"{self.path}/{user_id}?notice=password_reset")

    @post("/{user_id:int}/deactivate", name="users:deactivate", status_code=200)
    async def deactivate(
        self,
        request: Request[User, Any, Any],
        users: NamedDependency[UserService],
        user_id: FromPath[int],
        data: Annotated[ConfirmForm, Form],
    ) -> Template | Redirect:
        """Deactivate once the admin confirmed on the confirmation page; else show that page."""
        if not data.confirmed:
            user = await _found(users, user_id)
            return Template("accounts/users/confirm_deactivate.html", context={"user": user})
        return await self._set_active(request.user, users, user_id, active=False)

    @post("/{user_id:int}/activate", name="users:activate", status_code=200)
    async def activate(
        self, request: Request[User, Any, Any], users: NamedDependency[UserService], user_id: FromPath[int]
    ) -> Template | Redirect:
        return await self._set_active(request.user, users, user_id, active=True)

    async def _set_active(
        self, acting: User, users: UserService, user_id: int, *, active: bool
    ) -> Template | Redirect:
        user = await _found(users, user_id)
        result = await users.set_active(user, active, acting=acting)
        if isinstance(result, Invalid):
            return await _edit_page(users, user, _current(user), status_errors=result)
        return Redirect(f"{self.path}/{user_id}?notice={'activated' if active else 'deactivated'}")


class ConfirmForm(msgspec.Struct, kw_only=True):
    """The confirmation page's answer (its button posts ``confirmed=true``)."""

    confirmed: bool = False


async def _found(users: UserService, user_id: int) -> User:
    user = await users.get(user_id)
    if user is None:
        raise NotFoundException()
    return user


async def _form_context(users: UserService, form: NewUserForm | UserEditForm) -> dict[str, Any]:
    """What every user form offers: the roles and every store (admins may assign any store)."""
    return {
        "form": form,
        "roles": list(Role),
        "stores": await users.all_stores(),
        "selected": set(ticked(form.stores)),
        "min_password": MIN_PASSWORD_LENGTH,
    }


async def _new_page(users: UserService, form: NewUserForm, errors: Invalid | None = None) -> Template:
    return Template(
        "accounts/users/new.html",
        context={**await _form_context(users, form), "errors": errors.errors if errors else {}},
        status_code=400 if errors else 200,
    )


async def _edit_page(
    users: UserService,
    user: User,
    form: UserEditForm,
    *,
    notice: str = "",
    errors: Invalid | None = None,
    password_errors: Invalid | None = None,
    status_errors: Invalid | None = None,
) -> Template:
    """The edit page: profile, password and access forms, each showing only its own errors."""
    return Template(
        "accounts/users/edit.html",
        context={
            **await _form_context(users, form),
            "user": user,
            "notice": notice,
            "errors": errors.errors if errors else {},
            "password_errors": password_errors.errors if password_errors else {},
            "status_errors": status_errors.errors if status_errors else {},
        },
        status_code=400 if errors or password_errors or status_errors else 200,
    )
