"""The people a conversation can be passed to: active users who work for its store."""

from __future__ import annotations

import msgspec
import sqlalchemy as sa

from desk.accounts.models import User, user_stores
from desk.db import Work

__all__ = ["Colleague", "colleagues_for"]


class Colleague(msgspec.Struct, frozen=True):
    id: int
    name: str


async def colleagues_for(work: Work, store_id: int) -> list[Colleague]:
    """Active users assigned to ``store_id``, by name."""
    rows = await work.execute(
        sa.select(User.id, User.display_name, User.username)
        .join(user_stores, user_stores.c.user_id == User.id)
        .where(user_stores.c.store_id == store_id, User.is_active)
        .order_by(User.display_name, User.username)
    )
    return [Colleague(row.id, row.display_name or row.username) for row in rows]
