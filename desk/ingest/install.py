"""Wiring: what a web process needs to receive pushes, and the processing that applies them.

* :class:`Ingest` — the receiving side of one web app: credential cache, group-commit writer and
  receiver. The app's lifespan runs the writer, whoever owns the runtime.
* :class:`EventProcessing` — the worker, the reconciler and the retention purge over one set of
  platform clients; a background service of the runtime (``desk worker``, or inside the app when
  ``DESK_WORKER`` is ``embedded``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from desk.ingest.credentials import CredentialCache
from desk.ingest.receiver import PushReceiver
from desk.ingest.reconcile import Reconciler
from desk.ingest.retention import RetentionJob
from desk.ingest.worker import Worker
from desk.ingest.writer import EventWriter
from desk.runtime import Runtime
from desk.stores.clients import PlatformClients

__all__ = ["EventProcessing", "Ingest", "install_ingest"]


class Ingest:
    """Receiving pushes in a web process. Each committed batch wakes the event worker loops: this
    process's at once, other processes' through the wake-ups (``NOTIFY`` in the batch)."""

    def __init__(self, runtime: Runtime) -> None:
        settings = runtime.settings
        self.credentials = CredentialCache(runtime.db, runtime.secrets)
        runtime.add_credential_cache(self.credentials.clear)
        self.writer = EventWriter(
            runtime.db,
            batch_max=settings.ingest_batch_max,
            batch_wait_ms=settings.ingest_batch_wait_ms,
            on_commit=lambda: runtime.wakeup.wake("events"),
            notify=runtime.wakeup.notify_statement,
        )
        self.receiver = PushReceiver(
            self.credentials,
            self.writer,
            max_skew_s=settings.push_max_skew,
            # A push's timestamp is checked against the runtime's clock (tests move it).
            clock=lambda: runtime.clock.now().timestamp(),
        )

    @asynccontextmanager
    async def lifespan(self, _app: Any) -> AsyncIterator[None]:
        """Run the writer for the life of the app (pushes answer 503 outside it)."""
        await self.writer.start()
        try:
            yield
        finally:
            await self.writer.stop()


class EventProcessing:
    """The worker and the reconciler, sharing one HTTP pool and token cache (a background service)."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        loops: int = 1,
        wake: asyncio.Event | None = None,
        reconcile: bool = True,
    ) -> None:
        self.clients = PlatformClients(runtime)
        self.worker = Worker(runtime.db, runtime.settings, self.clients, loops=loops, wake=wake)
        self.reconciler = Reconciler(runtime.db, runtime.settings, self.clients) if reconcile else None
        self.retention = RetentionJob(runtime.db, runtime.settings.event_retention_days)

    async def start(self) -> None:
        await self.worker.start()
        await self.retention.start()
        if self.reconciler is not None:
            await self.reconciler.start()

    async def stop(self) -> None:
        if self.reconciler is not None:
            await self.reconciler.stop()
        await self.retention.stop()
        await self.worker.stop()
        await self.clients.aclose()


def install_ingest(runtime: Runtime) -> Ingest:
    """The push receiver for an app over ``runtime``."""
    return Ingest(runtime)
