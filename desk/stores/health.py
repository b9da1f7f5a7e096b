"""Whether the platform accepts each store's and corp's credentials, as last seen.

Every token fetch tells (see :class:`~desk.stores.clients.PlatformClients`), and so does the
connection test when an admin saves. The state lives on the account's row, so every process and
page sees the same: empty while calls work, else the problem and since when. Changes are written
with a conditional update, and only the process whose update changed the state logs it — one line
when a store starts failing and one when it works again, however many processes and retries there
are in between.
"""

from __future__ import annotations

import logging

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from desk.db import utcnow
from desk.i18n import Message
from desk.stores.models import Store, WeComCorp

__all__ = ["encode_problem", "record_connection"]

log = logging.getLogger(__name__)

Account = type[Store] | type[WeComCorp]


def encode_problem(problem: Message) -> str:
    """A problem as ``connection_error`` stores it."""
    return msgspec.json.encode(problem).decode()


async def record_connection(
    conn: AsyncConnection, model: Account, account_id: int, problem: Message | None
) -> bool:
    """Record that the account's credentials work (``problem`` None) or what fails; returns whether
    that changed its state.

    A new problem while one is already recorded replaces its text but keeps the time it started
    failing (the pages say "since"), and logs nothing: it is the same outage.
    """
    table = model.__table__
    what = "store" if model is Store else "WeCom corp"
    if problem is None:
        result = await conn.execute(
            sa.update(table)
            .where(table.c.id == account_id, table.c.connection_error.is_not(None))
            .values(connection_error=None, connection_error_at=None)
            .returning(table.c.name)
        )
        name = result.scalar_one_or_none()
        if name is not None:
            log.info("%s %d (%s): the platform accepts its credentials again", what, account_id, name)
        return name is not None
    encoded = encode_problem(problem)
    started = await conn.execute(
        sa.update(table)
        .where(table.c.id == account_id, table.c.connection_error.is_(None))
        .values(connection_error=encoded, connection_error_at=utcnow())
        .returning(table.c.name)
    )
    name = started.scalar_one_or_none()
    if name is not None:
        log.warning("%s %d (%s): platform calls fail: %s", what, account_id, name, problem.render("en"))
        return True
    await conn.execute(
        sa.update(table)
        .where(table.c.id == account_id, table.c.connection_error != encoded)
        .values(connection_error=encoded)
    )
    return False
