"""The command runner: claims queued commands, runs them on the platform, records the outcome.

One round (:meth:`CommandRunner.run_once`):

1. claim a batch of due commands and commit the claim (:mod:`desk.leases`);
2. run them on the platform concurrently (at most ``worker_concurrency`` calls in flight);
3. settle each in its own transaction: the kind's effects, the command's new state and a
   ``CommandChanged`` event commit together, and are published after the commit.

What an outcome means:

* the platform did it → ``succeeded``;
* the platform refused (an errcode) → ``failed`` with that code, at once: repeating will not help;
* no usable answer, busy, or an unexpected error → back to ``queued`` with a growing delay, until
  ``command_max_attempts`` tries; a platform outage of a few minutes ends with every command done
  once. Kinds whose call is not idempotent look before they act on a retry (:class:`CommandKind`).

A runner that dies mid-call leaves its commands ``sending``; they are claimed again when their
lease runs out, with ``attempts`` telling the kind an earlier try may have reached the platform.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from desk.changes.events import CommandChanged
from desk.changes.record import record
from desk.commands.kinds import ClaimedCommand, CommandFailedError, CommandKind, Outcome
from desk.commands.models import CommandState, OutboundCommand
from desk.db import Database, PostCommit, log_round_failure, utcnow
from desk.leases import LeaseQueue, QueueStates, RetryPolicy
from desk.platform.errors import (
    CredentialError,
    PlatformBusyError,
    PlatformError,
    PlatformUnavailableError,
    TokenError,
)
from desk.settings import Settings
from desk.wakeup import Wakeup

__all__ = ["CommandRunner", "RoundResult"]

log = logging.getLogger(__name__)

_command = OutboundCommand.__table__
_STATES = QueueStates(
    pending=CommandState.QUEUED,
    processing=CommandState.SENDING,
    done=CommandState.SUCCEEDED,
    parked=CommandState.FAILED,
)


@dataclass(frozen=True, slots=True)
class RoundResult:
    claimed: int
    succeeded: int
    failed: int
    retrying: int


@dataclass(frozen=True, slots=True)
class _Context:
    clients: Any
    settings: Settings


class CommandRunner:
    """A background service (``start`` / ``stop``); :meth:`drain` runs everything due (tests, CLI)."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        clients: Any,
        kinds: Mapping[str, CommandKind],
        *,
        wakeup: Wakeup | None = None,
        name: str,
    ) -> None:
        self.db = db
        self.settings = settings
        self.kinds = kinds
        self.wakeup = wakeup
        self.name = name
        self.ctx = _Context(clients, settings)
        self.queue = LeaseQueue(
            _command,
            name,
            states=_STATES,
            lease_s=settings.command_lease_s,
            retry=RetryPolicy(
                max_attempts=settings.command_max_attempts,
                base_delay_s=settings.command_backoff_base_s,
                max_delay_s=settings.command_backoff_max_s,
            ),
            skip_locked=not db.is_sqlite,
            returning=[
                _command.c.id,
                _command.c.store_id,
                _command.c.kind,
                _command.c.idempotency_key,
                _command.c.payload,
                _command.c.subject,
                _command.c.origin,
                _command.c.attempts,
            ],
        )
        self._calls = asyncio.Semaphore(max(1, settings.worker_concurrency))
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._loop(), name="command-runner")

    async def stop(self) -> None:
        self._stopping.set()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        wake = self.wakeup.waiter("commands") if self.wakeup else asyncio.Event()
        try:
            while not self._stopping.is_set():
                wake.clear()
                try:
                    result = await self.run_once()
                except Exception as exc:  # the database went away, say: log, wait, try again
                    log_round_failure(log, f"command runner {self.name}", exc)
                    result = RoundResult(0, 0, 0, 0)
                if result.claimed >= self.settings.worker_batch:
                    continue
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.settings.worker_poll_s):
                        await wake.wait()
        finally:
            if self.wakeup:
                self.wakeup.forget("commands", wake)

    async def drain(self) -> RoundResult:
        """Run every command that is due now, round after round; the totals."""
        totals = [0, 0, 0, 0]
        while (result := await self.run_once()).claimed:
            for i, value in enumerate((result.claimed, result.succeeded, result.failed, result.retrying)):
                totals[i] += value
        return RoundResult(*totals)

    async def run_once(self) -> RoundResult:
        async with self.db.engine.begin() as conn:
            rows = await self.queue.claim(conn, self.settings.worker_batch)
        if not rows:
            return RoundResult(0, 0, 0, 0)
        commands = [ClaimedCommand(*row) for row in rows]
        outcomes = await asyncio.gather(*(self._run(command) for command in commands))
        states = [
            await self._settle(command, outcome) for command, outcome in zip(commands, outcomes, strict=True)
        ]
        return RoundResult(
            claimed=len(commands),
            succeeded=states.count(CommandState.SUCCEEDED),
            failed=states.count(CommandState.FAILED),
            retrying=states.count(CommandState.QUEUED),
        )

    async def _run(self, command: ClaimedCommand) -> Outcome:
        kind = self.kinds.get(command.kind)
        if kind is None:
            return Outcome(state=CommandState.FAILED, error=f"no command kind {command.kind!r} in this desk")
        async with self._calls:
            try:
                result = await kind.run(self.ctx, command)
            except Exception as exc:  # classified below; nothing a kind raises may stop the round
                return _outcome_of(command, exc)
        return Outcome(state=CommandState.SUCCEEDED, result=result)

    async def _settle(self, command: ClaimedCommand, outcome: Outcome) -> CommandState:
        async with self.db.engine.connect() as conn:
            with PostCommit.collect(conn) as pending:
                async with conn.begin():
                    if not await self.queue.hold(conn, [command.id]):
                        return CommandState.SENDING  # our lease ran out: another runner has it
                    state = await self._finish(conn, command, outcome)
            pending.run()
        return state

    async def _finish(self, conn: AsyncConnection, command: ClaimedCommand, outcome: Outcome) -> CommandState:
        state = outcome.state
        if state is CommandState.SUCCEEDED:
            await self.queue.finish(conn, [command.id], result=outcome.result, finished_at=utcnow())
        else:
            give_up = state is CommandState.FAILED
            state = CommandState(
                await self.queue.fail(
                    conn,
                    command.id,
                    command.attempts,
                    outcome.error or "failed",
                    give_up=give_up,
                    error_code=outcome.error_code,
                )
            )
            if state is CommandState.FAILED:
                await conn.execute(
                    _command.update().where(_command.c.id == command.id).values(finished_at=utcnow())
                )
            log.log(
                logging.WARNING if state is CommandState.FAILED else logging.INFO,
                "command %d (%s, try %d): %s — %s",
                command.id,
                command.kind,
                command.attempts,
                state.value,
                outcome.error,
            )
        settled = Outcome(
            state=state, result=outcome.result, error_code=outcome.error_code, error=outcome.error
        )
        kind = self.kinds.get(command.kind)
        if kind is not None and state is not CommandState.QUEUED:
            await kind.settle(conn, command, settled)
        if state is not CommandState.QUEUED or command.attempts == 1:
            # The first retry is shown (the reply now says "retrying"); later ones change nothing visible.
            await record(
                conn,
                CommandChanged(
                    store_id=command.store_id,
                    origin=command.origin,
                    command_id=command.id,
                    kind=command.kind,
                    state=state,
                    subject=command.subject,
                    # Commands about a conversation carry its id, so live pages know what to refresh.
                    conversation_id=command.payload.get("conversation_id"),
                ),
            )
        return state


def _outcome_of(command: ClaimedCommand, exc: Exception) -> Outcome:
    """What a failed try means: retry (the platform may do it later) or give up (it said no)."""
    # Credentials (an admin may fix them) or load: these may mend themselves.
    if isinstance(exc, TokenError | CredentialError | PlatformBusyError):
        return Outcome(state=CommandState.QUEUED, error_code=exc.errcode, error=str(exc))
    if isinstance(exc, PlatformError):  # the platform refused: repeating will not help
        return Outcome(state=CommandState.FAILED, error_code=exc.errcode, error=exc.errmsg or str(exc))
    if isinstance(exc, CommandFailedError):
        return Outcome(state=CommandState.FAILED, error_code=exc.error_code, error=str(exc))
    if isinstance(exc, PlatformUnavailableError):
        return Outcome(state=CommandState.QUEUED, error=str(exc))
    # A bug or the database: retried, and failed after every try.
    log.exception("command %d (%s) failed", command.id, command.kind, exc_info=exc)
    return Outcome(state=CommandState.QUEUED, error=f"{type(exc).__name__}: {exc}")
