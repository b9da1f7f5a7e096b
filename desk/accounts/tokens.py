"""Personal API tokens for the JSON API (``Authorization: Bearer desk_…``)."""

from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.models import ApiToken, User
from desk.db import rows_matched, utcnow

__all__ = [
    "TOKEN_PREFIX",
    "authenticate_token",
    "hash_token",
    "issue_token",
    "list_tokens",
    "revoke_token",
    "revoke_user_tokens",
]

TOKEN_PREFIX = "desk_"  # noqa: S105 - a public prefix, not a secret


def hash_token(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough (no dictionary to guess from).
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_token(session: AsyncSession, user: User, name: str) -> tuple[str, ApiToken]:
    """A new token for ``user``: the plaintext (shown once, never stored) and its row.

    The token acts as its user, with that user's role and store scope; only admins issue them
    (today through ``desk tokens create``, run by whoever operates the server).
    """
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, token_hash=hash_token(token), prefix=token[:12])
    session.add(row)
    await session.flush()
    return token, row


async def authenticate_token(session: AsyncSession, token: str) -> User | None:
    """The active user a live token belongs to, or None; records when the token was last used."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = await session.scalar(
        sa.select(ApiToken).where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
    )
    if row is None or not row.user.is_active:
        return None
    row.last_used_at = utcnow()
    return row.user


async def list_tokens(session: AsyncSession) -> list[ApiToken]:
    """Every token, newest first (revoked ones included, so the list doubles as a record)."""
    return list(await session.scalars(sa.select(ApiToken).order_by(ApiToken.id.desc())))


async def revoke_token(session: AsyncSession, ref: str) -> ApiToken | None:
    """Revoke the live token whose id or shown prefix is ``ref``; None when there is no such token."""
    by_id = ref.isascii() and ref.isdigit() and len(ref) < 19
    where = ApiToken.id == int(ref) if by_id else ApiToken.prefix == ref
    row = await session.scalar(sa.select(ApiToken).where(where, ApiToken.revoked_at.is_(None)))
    if row is not None:
        row.revoked_at = utcnow()
    return row


async def revoke_user_tokens(session: AsyncSession, user_id: int) -> int:
    """Revoke every live token of a user (their password was reset or they were deactivated:
    whatever their credentials let someone take, goes). Returns how many were revoked."""
    result = await session.execute(
        sa.update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return rows_matched(result)
