"""Users: who may log in, with which role and stores. Shared by the admin pages and the CLI.

Every change is validated as a whole before anything is written: a refused form returns
:class:`~desk.errors.Invalid` with a message per field and leaves the database untouched.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.models import Role, User, store_entity
from desk.accounts.passwords import hash_password, verify_password, verify_password_or_dummy
from desk.accounts.tokens import revoke_user_tokens
from desk.errors import Invalid
from desk.i18n import Message

if TYPE_CHECKING:
    from desk.accounts.throttle import LoginThrottle
    from desk.stores.models import Store  # annotations only: accounts does not import stores

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "ChangePasswordForm",
    "NewUserForm",
    "PasswordForm",
    "UserEditForm",
    "UserService",
    "check_password",
    "check_username",
    "normalize_username",
    "ticked",
]

MIN_PASSWORD_LENGTH = 10
# argon2 hashes any length, but a megabyte "password" is only a way to burn our CPU.
MAX_PASSWORD_LENGTH = 256
MAX_DISPLAY_NAME = 64
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,31}", re.ASCII)

StoreChoice = str | list[str]
"""Checked store boxes as a form posts them: one value arrives as a string, several as a list."""


def ticked(choice: StoreChoice) -> list[str]:
    """The values of the ticked boxes, however many there were."""
    return [choice] if isinstance(choice, str) else choice


class NewUserForm(msgspec.Struct, kw_only=True):
    username: str = ""
    display_name: str = ""
    role: str = ""
    stores: StoreChoice = msgspec.field(default_factory=list)
    password: str = ""


class UserEditForm(msgspec.Struct, kw_only=True):
    display_name: str = ""
    role: str = ""
    stores: StoreChoice = msgspec.field(default_factory=list)


class PasswordForm(msgspec.Struct, kw_only=True):
    password: str = ""


class ChangePasswordForm(msgspec.Struct, kw_only=True):
    """A user changing their own password."""

    current_password: str = ""
    new_password: str = ""
    confirm_password: str = ""


def normalize_username(username: str) -> str:
    """Usernames are compared case-insensitively: ``Alice`` and ``alice`` are one account."""
    return username.strip().lower()


def check_username(username: str) -> Message | None:
    """2–32 of lower-case letters, digits, ``.``, ``_`` and ``-``, starting with a letter or digit."""
    if not username:
        return Message("form.required")
    if not _USERNAME.fullmatch(username):
        return Message("users.error.username_shape")
    return None


def check_password(password: str) -> Message | None:
    """At least :data:`MIN_PASSWORD_LENGTH` characters (and at most :data:`MAX_PASSWORD_LENGTH`)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return Message("users.error.password_short", {"min": MIN_PASSWORD_LENGTH})
    if len(password) > MAX_PASSWORD_LENGTH:
        return Message("users.error.password_long", {"max": MAX_PASSWORD_LENGTH})
    return None


def _parse_role(value: str) -> Role | None:
    try:
        return Role(value)
    except ValueError:
        return None


def _check_display_name(display_name: str) -> Message | None:
    if len(display_name) > MAX_DISPLAY_NAME:
        return Message("form.too_long", {"max": MAX_DISPLAY_NAME})
    return None


class UserService:
    """Create, change and authenticate users within one database session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_users(self) -> list[User]:
        """Every user, active first, then by username."""
        result = await self.session.scalars(sa.select(User).order_by(User.is_active.desc(), User.username))
        return list(result)

    async def get(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def by_username(self, username: str) -> User | None:
        return await self.session.scalar(sa.select(User).where(User.username == normalize_username(username)))

    async def authenticate(self, username: str, password: str) -> User | None:
        """The active user with this username and password, else None.

        Unknown users, wrong passwords and deactivated accounts are indistinguishable to the
        caller, and take the same time, so the login page cannot be used to find accounts.
        """
        user = await self.by_username(username)
        ok = await verify_password_or_dummy(user.password_hash if user else None, password)
        if not ok or user is None or not user.is_active:
            return None
        return user

    async def create(self, form: NewUserForm) -> User | Invalid:
        """Add a user. Usernames are unique (case-insensitively); passwords have a minimum length."""
        username = normalize_username(form.username)
        display_name = form.display_name.strip()
        errors: dict[str, Message] = {}
        if problem := check_username(username):
            errors["username"] = problem
        elif await self.by_username(username) is not None:
            errors["username"] = Message("users.error.username_taken")
        if problem := _check_display_name(display_name):
            errors["display_name"] = problem
        role = _parse_role(form.role)
        if role is None:
            errors["role"] = Message("users.error.role")
        stores = await self._stores(form.stores, errors)
        if problem := check_password(form.password):
            errors["password"] = problem
        if errors or role is None:
            return Invalid(errors)
        user = User(
            username=username,
            display_name=display_name or username,
            password_hash=await hash_password(form.password),
            role=role,
        )
        user.stores = stores
        self.session.add(user)
        await self.session.flush()
        return user

    async def update(self, user: User, form: UserEditForm, *, acting: User) -> User | Invalid:
        """Change a user's display name, role and stores.

        An admin cannot take the admin role from themselves or from the last active admin:
        either would leave nobody able to manage the desk.
        """
        display_name = form.display_name.strip()
        errors: dict[str, Message] = {}
        if problem := _check_display_name(display_name):
            errors["display_name"] = problem
        role = _parse_role(form.role)
        if role is None:
            errors["role"] = Message("users.error.role")
        elif user.role is Role.ADMIN and role is not Role.ADMIN:
            if user.id == acting.id:
                errors["role"] = Message("users.error.demote_self")
            elif user.is_active and await self._active_admins() <= 1:
                errors["role"] = Message("users.error.last_admin")
        stores = await self._stores(form.stores, errors)
        if errors or role is None:
            return Invalid(errors)
        if role is not user.role:
            # What the user may do changed: they sign in again (their API tokens keep working and
            # act with the new role, as tokens always act with their user's current role).
            user.session_epoch += 1
        user.display_name = display_name or user.username
        user.role = role
        user.stores = stores
        await self.session.flush()
        return user

    async def reset_password(self, user: User, form: PasswordForm) -> User | Invalid:
        """Give a user a new password (they are told it by the admin, out of band).

        A reset is what an admin does when the password may be known to someone else, so
        everything the old one let in ends: every session of the user and every API token.
        """
        if problem := check_password(form.password):
            return Invalid({"password": problem})
        user.password_hash = await hash_password(form.password)
        user.session_epoch += 1
        await revoke_user_tokens(self.session, user.id)
        await self.session.flush()
        return user

    async def change_own_password(
        self, user: User, form: ChangePasswordForm, *, throttle: LoginThrottle
    ) -> User | Invalid:
        """A user changes their own password.

        The current password is required, so a screen left unlocked is not enough to take the
        account over, and wrong ones are throttled like sign-ins (on a counter of this user's
        own, so strangers failing to sign in as them do not block it). The new password follows
        the usual rules, is typed twice, and differs from the current one. Every other session of
        the user ends; the caller starts a fresh one for this browser. API tokens are kept: the
        user changed a password they knew, nothing suggests the tokens leaked.
        """
        errors: dict[str, Message] = {}
        if problem := check_password(form.new_password):
            errors["new_password"] = problem
        elif form.confirm_password != form.new_password:
            errors["confirm_password"] = Message("account.error.mismatch")
        elif form.new_password == form.current_password:
            errors["new_password"] = Message("account.error.same")
        decision = await throttle.attempt_current_password(user.id)
        if not decision.allowed:
            errors["current_password"] = Message("account.error.throttled", {"seconds": decision.retry_after})
        elif not await verify_password(user.password_hash, form.current_password):
            errors["current_password"] = Message("account.error.current_wrong")
        else:
            await throttle.succeeded(decision)
        if errors:
            return Invalid(errors)
        user.password_hash = await hash_password(form.new_password)
        user.session_epoch += 1
        await self.session.flush()
        return user

    async def set_active(self, user: User, active: bool, *, acting: User) -> User | Invalid:
        """Deactivate (or reactivate) a user. Admins cannot deactivate themselves.

        Deactivating ends every session of the user and revokes their API tokens at once.
        Reactivating lets them sign in again, but revives neither: the epoch moves on both ways,
        so no session from before comes back.
        """
        if not active and user.id == acting.id:
            return Invalid({"is_active": Message("users.error.deactivate_self")})
        if active == user.is_active:
            return user
        user.is_active = active
        user.session_epoch += 1
        if not active:
            await revoke_user_tokens(self.session, user.id)
        await self.session.flush()
        return user

    async def _active_admins(self) -> int:
        count = await self.session.scalar(
            sa.select(sa.func.count()).select_from(User).where(User.role == Role.ADMIN, User.is_active)
        )
        return count or 0

    async def all_stores(self) -> list[Store]:
        """Every store, active first, then by name (what a user form offers an admin)."""
        store = store_entity()
        return list(await self.session.scalars(sa.select(store).order_by(store.is_active.desc(), store.name)))

    async def find_store(self, ref: str) -> Store | None:
        """The store whose push key or name is ``ref`` (how the CLI names stores); the key wins."""
        store = store_entity()
        found: Store | None = await self.session.scalar(
            sa.select(store)
            .where(sa.or_(store.key == ref, store.name == ref))
            .order_by((store.key == ref).desc(), store.id)
            .limit(1)
        )
        return found

    async def _stores(self, choice: StoreChoice, errors: dict[str, Message]) -> list[Store]:
        """The stores a form ticked; an unknown id is a field error (the form was tampered with)."""
        values = ticked(choice)
        ids = {int(v) for v in values if v.isascii() and v.isdigit() and len(v) < 19}
        if len(ids) != len(set(values)):
            errors["stores"] = Message("users.error.stores")
            return []
        if not ids:
            return []
        store = store_entity()
        stores = list(
            await self.session.scalars(sa.select(store).where(store.id.in_(ids)).order_by(store.id))
        )
        if len(stores) != len(ids):
            errors["stores"] = Message("users.error.stores")
        return stores
