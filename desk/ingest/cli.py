"""``desk worker`` (apply stored events) and ``desk stores sync`` (import a store's history).

Production runs ``desk serve`` with ``DESK_WORKER=off`` and any number of ``desk worker``
processes beside it; they share the queue in PostgreSQL (claims skip each other's rows).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import signal
from types import TracebackType

import click
import sqlalchemy as sa
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn

from desk.cli_base import check_ready, fail, load_cli_settings, main, open_runtime, run
from desk.gc_tuning import tune_for_service
from desk.ingest.reconcile import Kind, SyncReport, reconcile_store
from desk.settings import Settings
from desk.stores.cli import stores
from desk.stores.clients import PlatformClients
from desk.stores.models import Store

__all__ = ["parse_since", "stores_sync", "worker"]

_SINCE = re.compile(r"^\s*(\d+)\s*([dhm])\s*$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}
_LABELS: dict[Kind, str] = {"orders": "orders", "aftersales": "after-sales"}


@main.command()
@click.option(
    "--loops", type=int, default=None, help="Claim loops in this process (default: DESK_WORKER_LOOPS)."
)
@click.option("--no-reconcile", is_flag=True, help="Do not run the periodic reconciliation in this process.")
def worker(loops: int | None, no_reconcile: bool) -> None:
    """Apply stored platform events until stopped (SIGTERM or Ctrl-C finish the batch in hand)."""
    settings = load_cli_settings()
    if loops is not None and loops < 1:
        raise fail("--loops must be at least 1")
    check_ready(settings)
    run(_work(settings, loops or settings.worker_loops, reconcile=not no_reconcile))


async def _work(settings: Settings, loops: int, *, reconcile: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    from desk.background import Background  # it knows every domain: imported when working only

    async with open_runtime(settings) as runtime:
        await runtime.start_core()
        background = Background(runtime, loops=loops, reconcile=reconcile)
        await background.start()
        tune_for_service()
        click.echo(f"desk worker {background.name}: {loops} loop(s); stop with Ctrl-C", err=True)
        try:
            await stop.wait()
        finally:
            await background.stop()


def parse_since(value: str) -> dt.timedelta:
    """``2d``, ``12h`` or ``30m`` as a duration.

    Raises:
        ValueError: for anything else, with a message saying what is expected.
    """
    match = _SINCE.match(value)
    if not match or int(match.group(1)) == 0:
        raise ValueError(
            f"--since must be a number of days, hours or minutes such as 2d, 12h or 30m, not {value!r}"
        )
    return dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


@stores.command("sync")
@click.argument("store")
@click.option("--since", "since", default="2d", show_default=True, help="How far back: 2d, 12h, 30m…")
def stores_sync(store: str, since: str) -> None:
    """Import STORE's orders and after-sales updated in the last --since (STORE: key, appid or name)."""
    try:
        lookback = parse_since(since)
    except ValueError as exc:
        raise fail(str(exc)) from None
    settings = load_cli_settings()
    check_ready(settings)
    report = run(_sync(settings, store, lookback))
    for kind in ("orders", "aftersales"):
        part = getattr(report, kind)
        click.echo(f"{kind}: {part.fetched} imported, {part.failed} failed")
        for error in part.errors:
            click.echo(f"  {error}", err=True)
    if not report.complete:
        raise fail("some objects could not be fetched; run the command again to retry them", code=1)


async def _sync(settings: Settings, ref: str, lookback: dt.timedelta) -> SyncReport:
    async with open_runtime(settings) as runtime:
        async with runtime.db.engine.connect() as conn:
            store_id = (
                await conn.execute(
                    sa.select(Store.id)
                    .where(sa.or_(Store.key == ref, Store.appid == ref, Store.name == ref))
                    .order_by((Store.key == ref).desc(), (Store.appid == ref).desc(), Store.id)
                    .limit(1)
                )
            ).scalar_one_or_none()
        if store_id is None:
            raise fail(f"no store with key, appid or name {ref!r}")
        clients = PlatformClients(runtime)
        try:
            with _Bars() as bars:
                return await reconcile_store(
                    runtime.db,
                    clients,
                    store_id,
                    overlap_s=settings.reconcile_overlap_s,
                    concurrency=settings.worker_concurrency,
                    since=dt.datetime.now(dt.UTC) - lookback,
                    progress=bars,
                )
        finally:
            await clients.aclose()


class _Bars:
    """A :class:`~desk.ingest.reconcile.Progress` drawn with rich: one bar per kind of object."""

    def __init__(self) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            transient=False,
        )
        self._tasks: dict[Kind, TaskID] = {}

    def __enter__(self) -> _Bars:
        self._progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.stop()

    def listed(self, kind: Kind, total: int) -> None:
        self._tasks[kind] = self._progress.add_task(f"{_LABELS[kind]:<12}", total=total)

    def fetched(self, kind: Kind, count: int) -> None:
        self._progress.advance(self._tasks[kind], count)
