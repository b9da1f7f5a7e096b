"""What the JSON API says about an outbound command (``/api/v1/commands``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from desk.commands.models import CommandState, OutboundCommand

__all__ = ["CommandOut"]


class CommandOut(msgspec.Struct, kw_only=True):
    """A change the desk asked of the platform (a reply, an after-sale decision) and its outcome."""

    id: int
    store_id: int
    kind: str
    """e.g. ``send_message``."""
    subject: str
    """What it acts on, e.g. ``message:12``."""
    state: CommandState
    """``queued`` (waiting for its next try), ``sending``, ``succeeded`` or ``failed`` (final)."""
    attempts: int
    error_code: int | None
    """The platform's errcode when it refused (or while a retry waits)."""
    error: str
    """What went wrong, in words: the errcode's meaning, or the reason when there is no code."""
    result: dict[str, Any]
    """What the platform answered on success, e.g. ``{"msg_id": …}``."""
    created_at: dt.datetime
    finished_at: dt.datetime | None

    @classmethod
    def of(cls, command: OutboundCommand, error: str) -> CommandOut:
        return cls(
            id=command.id,
            store_id=command.store_id,
            kind=command.kind,
            subject=command.subject,
            state=command.state,
            attempts=command.attempts,
            error_code=command.error_code,
            error=error,
            result=command.result or {},
            created_at=command.created_at,
            finished_at=command.finished_at,
        )
