"""A panel of a page: the newest rows of one kind, and how many there are in all.

The store page shows three (latest conversations, orders, after-sales), each asked of the domain
that owns the rows; the helpers here are the scoping and counting they share: one query per
panel, its newest rows and, in a subquery, the total.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar, TypeVarTuple

import msgspec
import sqlalchemy as sa

from desk.accounts.models import User
from desk.accounts.scoping import scoped

__all__ = ["LIMIT", "Panel", "in_scope", "total_in_scope", "total_of"]

LIMIT = 20
"""Rows per panel: enough to watch a burst arrive, few enough to re-poll every 5 s."""

RowT = TypeVar("RowT")


class Panel(msgspec.Struct, Generic[RowT], frozen=True):
    """The newest rows of one panel and how many rows there are in all."""

    rows: list[RowT]
    total: int


Columns = TypeVarTuple("Columns")


def in_scope(stmt: sa.Select[*Columns], column: Any, user: User, store_id: int | None) -> sa.Select[*Columns]:
    """``stmt`` limited to ``user``'s stores, and to ``store_id`` when one is given."""
    stmt = scoped(stmt, column, user)
    return stmt if store_id is None else stmt.where(column == store_id)


def total_in_scope(model: type[Any], column: Any, user: User, store_id: int | None) -> sa.ScalarSelect[int]:
    """How many ``model`` rows the panel covers, as a subquery its row query selects."""
    # Uncorrelated, so the database counts once per query; a window count(*) over () would make it
    # read every row of the store instead of just the newest ones.
    stmt = sa.select(sa.func.count()).select_from(model)
    return in_scope(stmt, column, user, store_id).correlate(None).scalar_subquery()


def total_of(rows: list[Any]) -> int:
    """The total a panel's rows carry (0 when none matched)."""
    # Every row carries the same count; no row means nothing matched.
    return int(rows[0].total) if rows else 0
