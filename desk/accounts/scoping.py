"""Store scoping: the one place that decides which stores' data a user may see.

Every query for store-owned rows (orders, after-sales, conversations, events…) goes through
:func:`scoped` or :func:`get_scoped`. Admins see every store; agents and managers only the stores
they are assigned. Rows of other stores are "not found" (404), not "forbidden", so their existence
is not revealed.
"""

from __future__ import annotations

from typing import Any, TypeVar, TypeVarTuple

import sqlalchemy as sa
from litestar.exceptions import NotFoundException
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.models import Role, User

__all__ = ["get_scoped", "scoped", "store_ids_for"]

T = TypeVar("T")
Columns = TypeVarTuple("Columns")


def store_ids_for(user: User) -> set[int] | None:
    """The ids of the stores ``user`` may see, or None for all stores (admins)."""
    if user.role is Role.ADMIN:
        return None
    return {store.id for store in user.stores}


def scoped(stmt: sa.Select[*Columns], store_id_column: Any, user: User) -> sa.Select[*Columns]:
    """``stmt`` restricted to the stores ``user`` may see.

    Args:
        stmt: any SELECT.
        store_id_column: the column holding the owning store's id (e.g. ``Order.store_id``).
        user: the authenticated user.
    """
    allowed = store_ids_for(user)
    if allowed is None:
        return stmt
    return stmt.where(store_id_column.in_(allowed))


async def get_scoped(
    session: AsyncSession, model: type[T], user: User, *where: Any, scope_column: Any = None
) -> T:
    """The single ``model`` row matching ``where`` in the user's stores, else 404.

    Rows are scoped by their ``store_id`` column; a model whose store is named otherwise (the
    store itself: its ``id``) says which column with ``scope_column``.
    """
    column = scope_column if scope_column is not None else model.store_id  # type: ignore[attr-defined]  # store-owned models have store_id
    row: T | None = await session.scalar(scoped(sa.select(model).where(*where), column, user).limit(1))
    if row is None:
        raise NotFoundException()
    return row
