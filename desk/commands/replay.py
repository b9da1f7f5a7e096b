"""Answering a repeated request with the command it already made.

Integrations retry: a timeout, a crash before reading the answer. A caller who gives the same key
again must get the first command back (one platform call), even when the first one has already
run and the after-sale or order moved on — so the key is looked up before the action is checked
against the current status. A key already used for something else is the caller's mistake.
"""

from __future__ import annotations

import msgspec
import sqlalchemy as sa

from desk.commands.models import CommandState, OutboundCommand
from desk.commands.service import CommandRef
from desk.db import Work
from desk.errors import Invalid
from desk.i18n import Message as Text

__all__ = ["Accepted", "command_ref", "replayed"]

_command = OutboundCommand.__table__


class Accepted(msgspec.Struct, frozen=True, kw_only=True):
    """An action taken as a stored command: which one, where it stands, and whether it is new."""

    command_id: int
    state: CommandState
    created: bool
    """False: the same request was made before (same key, or a colleague's same decision)."""
    handled_by: str = ""
    """Who made the first request, when this one was a repeat."""
    address_id: str = ""
    """A return's address, as chosen (一货一址) or given."""


async def command_ref(work: Work, command_id: int) -> CommandRef:
    """The command ``command_id`` as it stands now (``created`` False: the caller says if it was new)."""
    row = (
        await work.execute(
            sa.select(_command.c.id, _command.c.kind, _command.c.state, _command.c.subject).where(
                _command.c.id == command_id
            )
        )
    ).one()
    return CommandRef(id=row.id, kind=row.kind, state=row.state, subject=row.subject, created=False)


async def replayed(
    work: Work, *, store_id: int, key: str, subject: str, kinds: frozenset[str]
) -> CommandRef | Invalid | None:
    """The command a caller's earlier request with ``key`` made in ``store_id``, or None if none did.

    Refused when that command acted on another subject or was another kind of action: one key,
    one request.
    """
    row = (
        await work.execute(
            sa.select(_command.c.id, _command.c.kind, _command.c.state, _command.c.subject).where(
                _command.c.store_id == store_id, _command.c.idempotency_key == key
            )
        )
    ).first()
    if row is None:
        return None
    if row.subject != subject or row.kind not in kinds:
        return Invalid({"request_id": Text("orders.api.request_key_used", {"subject": row.subject})})
    return CommandRef(id=row.id, kind=row.kind, state=row.state, subject=row.subject, created=False)
