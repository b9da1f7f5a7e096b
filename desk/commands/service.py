"""Storing commands and reading them back.

:func:`enqueue` is what a service calls to change something on the platform: it stores the
command in the caller's unit of work, records ``CommandChanged(queued)`` and wakes the runner
once the caller commits. The same idempotency key twice returns the first command.
"""

from __future__ import annotations

import functools
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from desk.changes.events import CommandChanged
from desk.changes.record import record
from desk.commands.models import CommandState, OutboundCommand
from desk.db import Work, dialect_name, insert_for, utcnow
from desk.wakeup import Wakeup

__all__ = ["MAX_KEY_LENGTH", "CommandRef", "command_for", "enqueue", "retry_suffix"]

_command = OutboundCommand.__table__
MAX_KEY_LENGTH = 80


class CommandRef(msgspec.Struct, frozen=True, kw_only=True):
    """A stored command as its caller sees it."""

    id: int
    kind: str
    state: CommandState
    subject: str
    created: bool
    """False when the idempotency key named an existing command (nothing new was stored)."""


@functools.cache
def _insert(dialect_name: str) -> sa.Insert:
    return (
        insert_for(dialect_name, _command)
        .on_conflict_do_nothing(index_elements=[_command.c.store_id, _command.c.idempotency_key])
        .returning(_command.c.id)
    )


async def enqueue(
    work: Work,
    wakeup: Wakeup | None,
    *,
    store_id: int,
    kind: str,
    key: str,
    payload: dict[str, Any],
    subject: str = "",
    origin: str = "system",
    created_by_id: int | None = None,
    conversation_id: int | None = None,
) -> CommandRef:
    """Store a command for the runner, unless ``key`` already names one in ``store_id``.

    Raises:
        ValueError: for an empty or over-long key (a caller's bug, not user input).
    """
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"an idempotency key of 1-{MAX_KEY_LENGTH} characters is required")
    now = utcnow()
    values = {
        "store_id": store_id,
        "kind": kind,
        "idempotency_key": key,
        "payload": payload,
        "subject": subject,
        "origin": origin[:40],
        "created_by_id": created_by_id,
        "state": CommandState.QUEUED,
        "attempts": 0,
        "next_attempt_at": now,
        "result": {},
        "created_at": now,
    }
    new_id = (await work.execute(_insert(dialect_name(work)), values)).scalar_one_or_none()
    if new_id is None:
        existing = (
            await work.execute(
                sa.select(_command.c.id, _command.c.kind, _command.c.state, _command.c.subject).where(
                    _command.c.store_id == store_id, _command.c.idempotency_key == key
                )
            )
        ).one()
        return CommandRef(
            id=existing.id, kind=existing.kind, state=existing.state, subject=existing.subject, created=False
        )
    await record(
        work,
        CommandChanged(
            store_id=store_id,
            origin=origin,
            command_id=int(new_id),
            kind=kind,
            state=CommandState.QUEUED,
            subject=subject,
            conversation_id=conversation_id,
        ),
    )
    if wakeup is not None:
        await wakeup.announce(work, "commands")
    return CommandRef(id=int(new_id), kind=kind, state=CommandState.QUEUED, subject=subject, created=True)


async def command_for(session: AsyncSession, command_id: int) -> OutboundCommand | None:
    """The command with ``command_id`` (callers check the user may see its store)."""
    return await session.get(OutboundCommand, command_id)


async def retry_suffix(work: Work, store_id: int, subject: str) -> str:
    """What to add to a default idempotency key so that asking again after a failure is a new
    command: ``""`` while nothing on ``subject`` failed, else ``":r<failures>"``.

    Keys built from what is asked (the decision and the status it was taken in) make a double
    click one command; but after the platform refused it (low balance, a stale address) the agent
    must be able to try again, and the same key would only find the failed command. Two agents
    retrying at once count the same failures, so they still make one command between them.
    """
    failures = (
        await work.execute(
            sa.select(sa.func.count())
            .select_from(_command)
            .where(
                _command.c.store_id == store_id,
                _command.c.subject == subject,
                _command.c.state == CommandState.FAILED,
            )
        )
    ).scalar_one()
    return f":r{failures}" if failures else ""
