"""Event workers for concurrency tests: each in an OS process of its own, with its own engine.

On PostgreSQL, :func:`run_workers` starts worker processes (as ``desk worker`` runs them, minus
the timers, sweeper and reconciliation the tests do not want running on the wall clock) and
waits until every stored event was applied. SQLite has a single writer, so there the same
number of workers take turns in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from multiprocessing.synchronize import Event as StopEvent

import sqlalchemy as sa

from desk.ingest.models import EventState, PlatformEvent
from desk.ingest.worker import Worker
from desk.runtime import Runtime
from desk.settings import Settings
from desk.stores.clients import PlatformClients

__all__ = ["run_workers", "unfinished_events", "worker_settings"]

DRAIN_LIMIT_S = 300.0
"""How long the workers may take before the test gives up (a hang, not a timing assertion)."""


def worker_settings(settings: Settings) -> Settings:
    """Small batches, so that the workers' batches interleave; quick retries of a batch that
    PostgreSQL aborted as a deadlock victim; room for many such retries."""
    return settings.with_changes(
        redis_url=None,
        worker="off",
        worker_batch=8,
        worker_loops=2,
        worker_poll_s=0.02,
        worker_backoff_base_s=0.01,
        worker_backoff_max_s=0.05,
        worker_max_attempts=50,
    )


def _worker_process(settings: Settings, stop: StopEvent, started: StopEvent) -> None:
    asyncio.run(_serve(settings, stop, started))


async def _serve(settings: Settings, stop: StopEvent, started: StopEvent) -> None:
    runtime = Runtime(settings)
    clients = PlatformClients(runtime)
    worker = Worker(runtime.db, settings, clients, loops=settings.worker_loops)
    await worker.start()
    started.set()
    try:
        await asyncio.to_thread(stop.wait)
    finally:
        await worker.stop()
        await clients.aclose()
        await runtime.stop()


async def unfinished_events(runtime: Runtime) -> int:
    async with runtime.db.engine.connect() as conn:
        return int(
            (
                await conn.execute(
                    sa.select(sa.func.count()).where(
                        PlatformEvent.state.in_([EventState.PENDING, EventState.PROCESSING])
                    )
                )
            ).scalar_one()
        )


@asynccontextmanager
async def run_workers(runtime: Runtime, count: int = 2) -> AsyncIterator[None]:
    """Workers running while the block pushes events; on leaving, waits until all are applied.

    PostgreSQL: ``count`` processes, started before the block so they apply events while they
    arrive. SQLite: ``count`` workers in this process, taking turns once the block has pushed.
    """
    settings = worker_settings(runtime.settings)
    if runtime.db.is_sqlite:
        yield
        workers = [Worker(runtime.db, settings, PlatformClients(runtime)) for _ in range(count)]
        try:
            while any([(await w.run_once()).claimed for w in workers]):
                pass
        finally:
            for w in workers:
                await w.clients.aclose()
        return
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited loop or pool
    stop = context.Event()
    started = [context.Event() for _ in range(count)]
    processes = [
        context.Process(target=_worker_process, args=(settings, stop, started[n]), daemon=True)
        for n in range(count)
    ]
    for process in processes:
        process.start()
    try:
        for process, ready in zip(processes, started, strict=True):
            while not ready.is_set():  # both at work before the first event arrives
                if not process.is_alive():
                    raise RuntimeError(f"worker process exited with {process.exitcode}")
                await asyncio.sleep(0.05)
        yield
        deadline = time.monotonic() + DRAIN_LIMIT_S
        while await unfinished_events(runtime):
            if time.monotonic() > deadline or not all(p.is_alive() for p in processes):
                raise AssertionError(f"events still unapplied: {await unfinished_events(runtime)}")
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        for process in processes:
            await asyncio.to_thread(process.join, 30)
            with contextlib.suppress(Exception):
                if process.is_alive():
                    process.kill()
