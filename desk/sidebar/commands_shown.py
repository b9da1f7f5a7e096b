"""Where the latest action asked through the desk on an order or after-sale stands, for the sidebar."""

from __future__ import annotations

import msgspec
import sqlalchemy as sa

from desk.accounts.models import User
from desk.commands.errors import describe_error
from desk.commands.models import CommandState, OutboundCommand
from desk.db import Work
from desk.i18n import Message

__all__ = ["CommandView", "command_views"]

_command = OutboundCommand.__table__


class CommandView(msgspec.Struct, frozen=True, kw_only=True):
    """The latest action asked through the desk on an order or after-sale, and where it stands."""

    kind: str
    state: CommandState
    by: str
    error: Message | None = None
    """For a failed one: the platform errcode's meaning."""
    error_code: int | None = None


async def command_views(work: Work, store_subjects: list[tuple[int, str]]) -> dict[str, CommandView]:
    """The latest command per subject (``order:<id>``, ``aftersale:<id>``), with who asked it."""
    if not store_subjects:
        return {}
    subjects = {subject for _, subject in store_subjects}
    stores = {store_id for store_id, _ in store_subjects}
    latest = (
        sa.select(sa.func.max(_command.c.id))
        .where(_command.c.subject.in_(subjects), _command.c.store_id.in_(stores))
        .group_by(_command.c.store_id, _command.c.subject)
    )
    rows = await work.execute(
        sa.select(
            _command.c.subject,
            _command.c.kind,
            _command.c.state,
            _command.c.error_code,
            _command.c.last_error,
            _command.c.origin,
            User.display_name,
            User.username,
        )
        .outerjoin(User, User.id == _command.c.created_by_id)
        .where(_command.c.id.in_(latest))
    )
    return {
        row.subject: CommandView(
            kind=row.kind,
            state=row.state,
            by=str(row.display_name or row.username or row.origin),
            error=describe_error(row.error_code, row.last_error or "")
            if row.state == CommandState.FAILED
            else None,
            error_code=row.error_code if row.state == CommandState.FAILED else None,
        )
        for row in rows
    }
