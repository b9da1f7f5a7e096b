"""Where the latest command about each subject stands, for pages that show an action's progress.

A page lists orders and after-sales with their buttons; beside each it shows the last thing the
desk asked the platform about it: still under way (the page keeps polling), or failed — with the
platform's errcode explained — so the agent can try again or choose another way.
"""

from __future__ import annotations

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from desk.commands.errors import describe_error
from desk.commands.models import CommandState, OutboundCommand
from desk.i18n import Message

__all__ = ["LatestCommand", "latest_commands"]

_command = OutboundCommand.__table__


class LatestCommand(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    kind: str
    state: CommandState
    error_code: int | None
    error: Message | None
    """What went wrong, when it failed."""

    @property
    def under_way(self) -> bool:
        return self.state in (CommandState.QUEUED, CommandState.SENDING)


async def latest_commands(
    session: AsyncSession, store_id: int, subjects: list[str]
) -> dict[str, LatestCommand]:
    """The newest command of ``store_id`` about each of ``subjects`` (those with none are absent)."""
    if not subjects:
        return {}
    newest = (
        sa.select(sa.func.max(_command.c.id))
        .where(_command.c.store_id == store_id, _command.c.subject.in_(subjects))
        .group_by(_command.c.subject)
    )
    rows = await session.execute(
        sa.select(
            _command.c.id,
            _command.c.kind,
            _command.c.subject,
            _command.c.state,
            _command.c.error_code,
            _command.c.last_error,
        ).where(_command.c.id.in_(newest))
    )
    return {
        row.subject: LatestCommand(
            id=row.id,
            kind=row.kind,
            state=row.state,
            error_code=row.error_code,
            error=describe_error(row.error_code, row.last_error or "")
            if row.state is CommandState.FAILED
            else None,
        )
        for row in rows
    }
