"""Numbered pages of a list (the after-sales list, order search) for pages and the JSON API.

A page is read as ``limit + 1`` rows from ``(page - 1) * limit``: the extra row only says whether
another page follows, so no list ever counts every matching row (a store has millions of orders).
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar, TypeVarTuple

import msgspec
import sqlalchemy as sa

__all__ = ["MAX_LIMIT", "MAX_PAGE", "Page", "page_of", "paged"]

MAX_LIMIT = 200
"""Rows per page at most (API callers choose up to this; pages use their own size)."""
MAX_PAGE = 10_000
"""Deeper offsets cost the database more than anyone reads: narrow the filter instead."""

RowT = TypeVar("RowT")
Columns = TypeVarTuple("Columns")


class Page(msgspec.Struct, Generic[RowT], frozen=True, kw_only=True):
    """One page of rows, and whether more follow."""

    rows: list[RowT]
    page: int
    """1-based."""
    limit: int
    has_more: bool

    @property
    def previous_page(self) -> int | None:
        return self.page - 1 if self.page > 1 else None

    @property
    def next_page(self) -> int | None:
        return self.page + 1 if self.has_more else None


def paged(stmt: sa.Select[*Columns], page: int, limit: int) -> sa.Select[*Columns]:
    """``stmt`` (already ordered) limited to page ``page`` plus one row to tell whether more follow."""
    return stmt.offset((page - 1) * limit).limit(limit + 1)


def page_of(rows: list[Any], page: int, limit: int) -> tuple[list[Any], bool]:
    """The rows of the page and whether more follow, from what :func:`paged` read."""
    return rows[:limit], len(rows) > limit
