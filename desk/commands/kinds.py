"""What a kind of outbound command is: how it runs on the platform, and how its outcome is kept.

Running is split in two, like applying an event, so that no platform call happens inside a
database transaction:

* :meth:`CommandKind.run` calls the platform (outside any transaction) and returns the answer;
* :meth:`CommandKind.settle` writes what the outcome means to the desk (a reply marked sent, an
  after-sale re-read) inside the transaction that also finishes the command.

Each domain defines its kinds; :mod:`desk.background` assembles the registry the runner uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from desk.commands.models import CommandState

__all__ = ["ClaimedCommand", "CommandContext", "CommandFailedError", "CommandKind", "Outcome"]


@dataclass(frozen=True, slots=True)
class ClaimedCommand:
    """A command claimed by the runner."""

    id: int
    store_id: int
    kind: str
    idempotency_key: str
    payload: dict[str, Any]
    subject: str
    origin: str
    attempts: int
    """Tries including this one. Above 1, an earlier try may have reached the platform."""


class CommandContext(Protocol):
    """What a command needs to run: the platform clients (``desk.stores.clients.PlatformClients``)
    and the process's settings."""

    @property
    def clients(self) -> Any: ...

    @property
    def settings(self) -> Any: ...


class CommandFailedError(Exception):
    """A kind's own verdict that the command cannot be done; it is marked failed, not retried."""

    def __init__(self, message: str, *, error_code: int | None = None) -> None:
        super().__init__(message)
        self.error_code = error_code


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """How a command ended (or that it must be tried again)."""

    state: CommandState
    result: dict[str, Any] = msgspec.field(default_factory=dict)
    error_code: int | None = None
    error: str = ""


class CommandKind(Protocol):
    name: str

    async def run(self, ctx: CommandContext, command: ClaimedCommand) -> dict[str, Any]:
        """Ask the platform; return what it answered. Raise the platform client's errors.

        A kind whose platform call is not idempotent must check the platform's state first when
        ``command.attempts > 1`` (an earlier try may have worked without our hearing of it).
        """
        ...

    async def settle(self, conn: AsyncConnection, command: ClaimedCommand, outcome: Outcome) -> None:
        """Record what the outcome means for the desk's own rows (idempotent)."""
        ...
