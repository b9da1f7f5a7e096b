"""Signing in: the throttle first, then the password; and the throttle each process builds.

:func:`sign_in` is the whole rule of the login form, so the controller only parses the form,
calls it, and sets the session and the known-device cookie.
"""

from __future__ import annotations

import msgspec

from desk.accounts.backoff import BackoffCounters
from desk.accounts.backoff_redis import RedisBackoffCounters
from desk.accounts.backoff_sql import SqlBackoffCounters
from desk.accounts.models import User
from desk.accounts.services import UserService
from desk.accounts.throttle import LoginThrottle
from desk.i18n import Message
from desk.runtime import Runtime
from desk.settings import Settings

__all__ = ["SignInRefused", "build_login_throttle", "sign_in"]


class SignInRefused(msgspec.Struct, frozen=True):
    """Why a sign-in did not happen, as the login page says it."""

    message: Message
    status_code: int
    retry_after: int = 0


def build_login_throttle(runtime: Runtime, settings: Settings) -> LoginThrottle:
    """The login throttle over Redis when configured (shared by every process), else over the
    database (shared by every process using the same file or server)."""
    counters: BackoffCounters = (
        RedisBackoffCounters(runtime.redis) if runtime.redis is not None else SqlBackoffCounters(runtime.db)
    )
    return LoginThrottle.from_settings(counters, settings)


async def sign_in(
    users: UserService,
    throttle: LoginThrottle,
    *,
    username: str,
    password: str,
    address: str,
    device_id: str | None,
) -> User | SignInRefused:
    """The active user with these credentials, or why not.

    The try is counted by the throttle before the password is checked (see
    :mod:`desk.accounts.throttle`); while a wait runs the password is not even checked, and the
    answer is 429 with the wait, whether or not it was right. Unknown users, wrong passwords and
    deactivated accounts get one and the same answer.
    """
    decision = await throttle.attempt(username, address, device_id)
    if not decision.allowed:
        message = Message("login.throttled", {"seconds": decision.retry_after})
        return SignInRefused(message, status_code=429, retry_after=decision.retry_after)
    user = await users.authenticate(username, password)
    if user is None:
        return SignInRefused(Message("login.invalid"), status_code=400)
    await throttle.succeeded(decision)
    return user
