"""The event worker: claims stored pushes, fetches what they are about, applies them exactly once.

One round (:meth:`Worker.run_once`):

1. claim a batch and commit the claim (see :mod:`desk.ingest.queue`);
2. fetch from the platform, concurrently (at most ``worker_concurrency`` calls in flight per
   process) and once per distinct object even if several events in the batch name it;
3. apply the whole batch in one transaction — a savepoint per event, so one failing event rolls
   back only its own effects — and mark the applied events ``done`` in that same transaction;
   failed events are scheduled for a retry with backoff, or parked after too many tries.

Several claim loops run per process; the writer wakes them when pushes were stored, otherwise
they poll. Any number of worker processes can share a PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from desk.db import Database, PostCommit, log_round_failure
from desk.ingest.handlers import HANDLERS, FetchContext, Fetched, Handler, HandlerError, WorkItem
from desk.ingest.models import EventSource, EventState
from desk.ingest.queue import ClaimedEvent, EventQueue, RetryPolicy
from desk.platform.errors import CredentialError
from desk.platform.events import EventDecodeError, decode_channels_event, decode_wecom_event
from desk.settings import Settings
from desk.stores.clients import PlatformClients

__all__ = ["BatchResult", "Worker", "worker_name"]

log = logging.getLogger(__name__)


def worker_name() -> str:
    """A name unique to this process and start: ``host:pid:random`` (fits ``claimed_by``)."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True, slots=True)
class BatchResult:
    claimed: int
    done: int
    failed: int


class Worker:
    """Applies stored events; a :class:`~desk.runtime.BackgroundService` (``start`` / ``stop``).

    Args:
        db: the database.
        settings: batch size, concurrency, lease, retry and poll settings.
        clients: platform clients (shared HTTP pool and token cache).
        loops: claim loops to run concurrently.
        wake: set by the ingest writer after storing pushes (same process only).
        handlers: the registry (tests may pass their own).
        name: this worker's ``claimed_by`` (default: host, pid and a random part).
    """

    def __init__(
        self,
        db: Database,
        settings: Settings,
        clients: PlatformClients,
        *,
        loops: int = 1,
        wake: asyncio.Event | None = None,
        handlers: Mapping[str, Handler] = HANDLERS,
        name: str | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clients = clients
        self.name = name or worker_name()
        self.queue = EventQueue(
            self.name,
            lease_s=settings.worker_lease_s,
            retry=RetryPolicy(
                max_attempts=settings.worker_max_attempts,
                base_delay_s=settings.worker_backoff_base_s,
                max_delay_s=settings.worker_backoff_max_s,
            ),
            skip_locked=not db.is_sqlite,
        )
        self.handlers = handlers
        self._loops = max(1, loops)
        self._wake = wake or asyncio.Event()
        self._calls = asyncio.Semaphore(max(1, settings.worker_concurrency))
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()

    # -- service ----------------------------------------------------------------------------------

    async def start(self) -> None:
        self._stopping.clear()
        self._tasks = [
            asyncio.create_task(self._loop(), name=f"ingest-worker-{n}") for n in range(self._loops)
        ]
        log.info("event worker %s started with %d loop(s)", self.name, self._loops)

    async def stop(self) -> None:
        """Finish the batches in hand, then stop (unfinished claims expire with their lease)."""
        self._stopping.set()
        self._wake.set()
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            # Cleared before the round: pushes stored while it runs set it again, so the wait
            # below ends at once instead of sleeping through them.
            self._wake.clear()
            try:
                result = await self.run_once()
            except Exception as exc:  # the database went away, say: log, wait, try again
                log_round_failure(log, f"event worker {self.name}", exc)
                result = BatchResult(0, 0, 0)
            if result.claimed >= self.settings.worker_batch or self._stopping.is_set():
                continue  # a full batch: there is probably more waiting
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.worker_poll_s):
                    await self._wake.wait()

    # -- one round --------------------------------------------------------------------------------

    async def run_once(self) -> BatchResult:
        """Claim one batch and apply it; returns how many events were claimed, done and failed."""
        async with self.db.engine.begin() as conn:
            claimed = await self.queue.claim(conn, self.settings.worker_batch)
        if not claimed:
            return BatchResult(0, 0, 0)
        items, failures = self._decode(claimed)
        fetched = await self._fetch_all(items)
        done, failed = await self._apply(claimed, items, fetched, failures)
        return BatchResult(len(claimed), done, failed)

    async def drain(self) -> int:
        """Apply everything that is due now; returns the number of events applied (tests, CLI)."""
        total = 0
        while (result := await self.run_once()).claimed:
            total += result.done
        return total

    def _decode(self, claimed: Sequence[ClaimedEvent]) -> tuple[list[WorkItem], dict[int, str]]:
        items: list[WorkItem] = []
        failures: dict[int, str] = {}
        for event in claimed:
            try:
                payload = event.payload.encode()
                typed = (
                    decode_channels_event(payload)
                    if event.source is EventSource.CHANNELS
                    else decode_wecom_event(payload)
                )
            except EventDecodeError as exc:  # it decoded when it arrived; only a bug gets here
                failures[event.id] = f"cannot decode the stored payload: {exc}"
                continue
            items.append(WorkItem(event, typed))
        return items, failures

    def _fetch_key(self, item: WorkItem) -> Hashable | None:
        try:
            return self._handler(item).fetch_key(item)
        except HandlerError:
            return None

    def _handler(self, item: WorkItem) -> Handler:
        handler = self.handlers.get(item.event.kind)
        if handler is None:
            raise HandlerError(f"no handler for events of kind {item.event.kind!r}")
        return handler

    async def _fetch_all(self, items: Sequence[WorkItem]) -> dict[Hashable, Fetched | BaseException]:
        groups: dict[Hashable, list[WorkItem]] = defaultdict(list)
        for item in items:
            key = self._fetch_key(item)  # an event without a handler fails when applied
            if key is not None:
                groups[key].append(item)
        ctx = FetchContext(self.clients, self.db)

        async def fetch(key: Hashable, group: list[WorkItem]) -> tuple[Hashable, Fetched | BaseException]:
            async with self._calls:
                try:
                    return key, await self._handler(group[0]).fetch(ctx, group)
                except Exception as exc:  # every failure becomes the events' last_error
                    return key, exc

        return dict(await asyncio.gather(*(fetch(key, group) for key, group in groups.items())))

    async def _apply(
        self,
        claimed: Sequence[ClaimedEvent],
        items: Sequence[WorkItem],
        fetched: Mapping[Hashable, Fetched | BaseException],
        failures: dict[int, str],
    ) -> tuple[int, int]:
        async with self.db.engine.connect() as conn:
            with PostCommit.collect(conn) as pending:
                async with conn.begin():
                    held = await self.queue.hold(conn, [event.id for event in claimed])
                    refused: set[int] = set()  # failed because the store's credentials are refused
                    done = await self._apply_held(
                        conn,
                        pending=pending,
                        held=held,
                        items=items,
                        fetched=fetched,
                        failures=failures,
                        refused=refused,
                    )
                    await self.queue.finish(conn, done)
                    failed = [event for event in claimed if event.id in failures and event.id in held]
                    for event in failed:
                        state = await self.queue.fail(conn, event, failures[event.id])
                        log.log(
                            _failure_level(state, credentials_refused=event.id in refused),
                            "event %d (%s, try %d) failed, now %s: %s",
                            event.id,
                            event.event_type,
                            event.attempts,
                            state.value,
                            failures[event.id],
                        )
            pending.run()  # the batch committed: publish its change events
        return len(done), len(failed)

    async def _apply_held(
        self,
        conn: AsyncConnection,
        *,
        pending: PostCommit,
        held: set[int],
        items: Sequence[WorkItem],
        fetched: Mapping[Hashable, Fetched | BaseException],
        failures: dict[int, str],
        refused: set[int],
    ) -> list[int]:
        """Apply each held event in a savepoint of its own; the ids applied (failures go into
        ``failures``, and those caused by refused store credentials also into ``refused``)."""
        done: list[int] = []
        applied_keys: set[Hashable] = set()
        for item in sorted(items, key=lambda item: _lock_order(item, self._fetch_key(item))):
            event_id = item.claimed.id
            if event_id not in held:
                continue  # our lease ran out and another worker took the event over
            mark = pending.mark()
            try:
                handler = self._handler(item)
                key = handler.fetch_key(item)
                result = fetched.get(key) if key is not None else None
                if isinstance(result, BaseException):
                    raise result
                if key is None or key not in applied_keys:
                    async with conn.begin_nested():
                        await handler.apply(conn, item, result)
                # else: an earlier event of this batch already wrote the same answer.
            except Exception as exc:  # one event's failure must not stop the batch
                pending.rollback_to(mark)  # its change events were rolled back with it
                failures[event_id] = _describe(exc)
                if isinstance(exc, CredentialError):
                    refused.add(event_id)
                continue
            done.append(event_id)
            if key is not None:
                applied_keys.add(key)
        return done


def _failure_level(state: EventState, *, credentials_refused: bool) -> int:
    if state is EventState.PARKED:
        return logging.ERROR
    # Refused credentials fail every event of the store until an admin fixes them; the store's
    # connection state logs that once (desk.stores.health), not once per event and retry.
    return logging.DEBUG if credentials_refused else logging.WARNING


def _lock_order(item: WorkItem, key: Hashable | None) -> tuple[int, str, int]:
    # Workers write the rows of one object in the same relative order — by store, then object
    # (order, after-sale, buyer) — so two batches touching the same objects wait for each other
    # instead of deadlocking (PostgreSQL would abort one after deadlock_timeout).
    owner = item.claimed.store_id or item.claimed.corp_id or 0
    return (
        owner,
        repr(key) if key is not None else str(getattr(item.event, "FromUserName", "")),
        item.claimed.id,
    )


def _describe(exc: BaseException) -> str:
    """An error as admins read it in ``last_error``: its type and message, without SQL or data."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:  # not the statement and its parameters
        exc = exc.orig
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:1000] if text else type(exc).__name__
