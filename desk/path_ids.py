"""Integers in paths name rows, so one the database could never hold names a page that does not exist.

Ids are positive 64-bit integers on both databases. ``/settings/users/9223372036854775808`` would
otherwise reach the database and fail there (asyncpg and SQLite both refuse the number), which
users would see as a 500 and operators as a traceback. Litestar already answers 404 for a path
segment that is not an integer at all (5,000 digits included); this guard, set on the whole app,
does the same for integers out of range — before any handler or query runs.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException
from litestar.handlers.base import BaseRouteHandler

__all__ = ["MAX_ROW_ID", "path_ids_in_range"]

MAX_ROW_ID = 2**63 - 1


def path_ids_in_range(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Answer 404 when an integer path parameter is not a possible row id (1 … 2**63 − 1)."""
    for value in connection.path_params.values():
        if type(value) is int and not 1 <= value <= MAX_ROW_ID:
            raise NotFoundException()
