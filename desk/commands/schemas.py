"""What the JSON API says about an outbound command (``/api/v1/commands``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec

from desk.commands.models import CommandState, OutboundCommand
from desk.commands.replay import Accepted

__all__ = ["AcceptedOut", "CommandOut", "RequestId"]

RequestId = Annotated[
    str,
    msgspec.Meta(
        max_length=64,
        pattern=r"^[A-Za-z0-9._:-]*$",
        description="Your id for this request (letters, digits, `.` `_` `:` `-`; at most 64): "
        "sending the same id again returns the first request's command instead of acting twice. "
        "Per store. Empty: the desk's own key (the subject, the action and its state).",
    ),
]


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


class AcceptedOut(msgspec.Struct, kw_only=True):
    """An action taken: the command that carries it to the platform (follow it at
    ``/api/v1/commands/{command_id}``)."""

    command_id: int
    state: CommandState
    """``queued`` until a worker runs it; then ``sending``, ``succeeded`` or ``failed``."""
    created: bool
    """False: this repeated an earlier request (same `request_id`, or a colleague's same
    decision); nothing new was sent."""
    handled_by: str = ""
    """Who asked first, when `created` is false because a colleague's same decision came first."""
    address_id: str = ""
    """For an approved return: the return address used (bound to the SKU unless one was given)."""

    @classmethod
    def of(cls, accepted: Accepted) -> AcceptedOut:
        return cls(
            command_id=accepted.command_id,
            state=accepted.state,
            created=accepted.created,
            handled_by=accepted.handled_by,
            address_id=accepted.address_id,
        )
