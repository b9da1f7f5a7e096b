"""Password hashing with argon2id; hashing runs off the event loop (tens of ms of CPU each)."""

from __future__ import annotations

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["hash_password", "verify_password", "verify_password_or_dummy"]

_hasher = PasswordHasher()
# Verifying against this when the username is unknown makes "no such user" take as long as
# "wrong password", so response times do not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash("desk-dummy-password")


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher.hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str, password: str) -> bool:
    return await anyio.to_thread.run_sync(_verify, password_hash, password)


async def verify_password_or_dummy(password_hash: str | None, password: str) -> bool:
    """Verify against the user's hash, or spend the same time on a dummy hash and fail."""
    ok = await verify_password(password_hash or _DUMMY_HASH, password)
    return ok and password_hash is not None
