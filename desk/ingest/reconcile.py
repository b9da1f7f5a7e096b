"""Reconciliation: find what pushes missed by listing what the platform says changed.

Pushes can go missing (spec §5), so every ``reconcile_interval_s`` each active store is compared
with the platform: list the ids of orders (and after-sales) updated since the store's watermark,
fetch the ones desk has not read since they could have changed, upsert them, and move the
watermark to the moment the listing started. The listing re-covers ``reconcile_overlap_s`` before
the watermark, because the platform's update index can trail its pushes; ids from that overlap
were already fetched by the previous run (after its window ended) and cost only the listing.

A store never reconciled starts two days back; ``desk stores sync --since`` picks any start
(a first import). A run whose fetches did not all succeed leaves the watermark where it was, so
the next run covers the same window again.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from desk.aftersales.models import AfterSale
from desk.aftersales.services import save_aftersale
from desk.db import Database, utcnow
from desk.orders.models import Order
from desk.orders.services import save_order
from desk.platform.channels import ChannelsClient
from desk.platform.errors import CredentialError, PlatformError, PlatformUnavailableError
from desk.settings import Settings
from desk.stores.clients import PlatformClients
from desk.stores.models import Store

__all__ = ["FIRST_RUN_LOOKBACK", "Progress", "Reconciler", "SyncReport", "reconcile_store"]

log = logging.getLogger(__name__)

FIRST_RUN_LOOKBACK = dt.timedelta(days=2)
_CHUNK = 100  # objects fetched and written per transaction
_FIRST_RUN_DELAY_S = 30.0

Kind = Literal["orders", "aftersales"]


class Progress(Protocol):
    """Told how a reconciliation advances (the CLI draws bars from it)."""

    def listed(self, kind: Kind, total: int) -> None:
        """The ids of ``kind`` were listed: ``total`` need fetching."""

    def fetched(self, kind: Kind, count: int) -> None:
        """``count`` more objects of ``kind`` were fetched and stored (or failed)."""


@dataclass
class KindReport:
    """Orders (or after-sales) of one run: ids due for fetching, stored, failed (first errors)."""

    listed: int = 0
    fetched: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class SyncReport:
    """What one reconciliation of one store did."""

    store_id: int
    until: dt.datetime
    orders: KindReport = field(default_factory=KindReport)
    aftersales: KindReport = field(default_factory=KindReport)

    @property
    def complete(self) -> bool:
        return not (self.orders.failed or self.aftersales.failed)


@dataclass(frozen=True, slots=True)
class _Window:
    start: dt.datetime
    end: dt.datetime
    """Objects last fetched at or after this instant are already newer than anything listed."""


@dataclass(frozen=True, slots=True)
class _Kind:
    name: Kind
    model: Any
    id_column: Any
    watermark: Any
    list_ids: Callable[[ChannelsClient, int, int], AsyncIterator[str]]
    fetch: Callable[[ChannelsClient, str], Awaitable[Any]]
    save: Callable[[AsyncConnection, int, Any, dt.datetime], Awaitable[int | None]]


_KINDS = (
    _Kind(
        "orders",
        Order,
        Order.order_id,
        Store.orders_synced_until,
        lambda client, start, end: client.iter_order_ids(update_from=start, update_to=end),
        lambda client, object_id: client.get_order(object_id),
        save_order,
    ),
    _Kind(
        "aftersales",
        AfterSale,
        AfterSale.after_sale_order_id,
        Store.aftersales_synced_until,
        lambda client, start, end: client.iter_aftersale_ids(update_from=start, update_to=end),
        lambda client, object_id: client.get_aftersale(object_id),
        save_aftersale,
    ),
)


def _windows(
    watermark: dt.datetime | None, since: dt.datetime | None, now: dt.datetime, overlap: float
) -> list[_Window]:
    if since is not None:
        return [_Window(since, now)]
    if watermark is None:
        return [_Window(now - FIRST_RUN_LOOKBACK, now)]
    windows = [_Window(watermark - dt.timedelta(seconds=overlap), watermark)]
    if watermark < now:
        # Another process may have reconciled since this run read the clock (a watermark after
        # ``now``): then there is nothing newer to list.
        windows.append(_Window(watermark, now))
    return windows


async def reconcile_store(
    db: Database,
    clients: PlatformClients,
    store_id: int,
    *,
    overlap_s: float = 300.0,
    concurrency: int = 16,
    since: dt.datetime | None = None,
    progress: Progress | None = None,
) -> SyncReport:
    """Compare store ``store_id`` with the platform and store what differs (see module doc).

    Args:
        since: list from here instead of from the watermark (a first import); the watermark still
            moves forward when everything was fetched.
        progress: told about listing and fetching, for a progress bar.

    Raises:
        PlatformError, PlatformUnavailableError: when a listing fails (nothing is skipped: the
            watermark stays and the next run lists the same window).
    """
    now = utcnow()
    report = SyncReport(store_id, now)
    sync = _StoreSync(db, await clients.channels(store_id), store_id, asyncio.Semaphore(max(1, concurrency)))
    for kind in _KINDS:
        async with db.engine.connect() as conn:
            watermark = (
                await conn.execute(sa.select(kind.watermark).where(Store.id == store_id))
            ).scalar_one_or_none()
        kind_report: KindReport = getattr(report, kind.name)
        due = await sync.due_ids(kind, _windows(watermark, since, now, overlap_s))
        kind_report.listed = len(due)
        if progress:
            progress.listed(kind.name, len(due))
        for start in range(0, len(due), _CHUNK):
            chunk = due[start : start + _CHUNK]
            await sync.fetch_and_save(kind, chunk, kind_report)
            if progress:
                progress.fetched(kind.name, len(chunk))
        if not kind_report.failed and (watermark is None or watermark < now):
            async with db.engine.begin() as conn:
                await conn.execute(sa.update(Store).where(Store.id == store_id).values({kind.watermark: now}))
    return report


@dataclass(frozen=True, slots=True)
class _StoreSync:
    db: Database
    client: ChannelsClient
    store_id: int
    calls: asyncio.Semaphore
    """Bounds the platform calls in flight."""

    async def due_ids(self, kind: _Kind, windows: Sequence[_Window]) -> list[str]:
        """Ids listed in the windows, minus those fetched since their window ended."""
        fresh_after: dict[str, dt.datetime] = {}
        for window in windows:  # later windows end later: an id listed twice keeps the later end
            # Whole seconds, rounded outwards: listing ends may be exclusive (the simulator's are).
            start, end = int(window.start.timestamp()), int(window.end.timestamp()) + 1
            async for object_id in kind.list_ids(self.client, start, end):
                fresh_after[object_id] = window.end
        ids = list(fresh_after)
        fetched_at: dict[str, dt.datetime] = {}
        async with self.db.engine.connect() as conn:
            for start in range(0, len(ids), 500):
                rows = await conn.execute(
                    sa.select(kind.id_column, kind.model.fetched_at).where(
                        kind.model.store_id == self.store_id, kind.id_column.in_(ids[start : start + 500])
                    )
                )
                fetched_at.update({row[0]: row[1] for row in rows})
        return [i for i in ids if i not in fetched_at or fetched_at[i] < fresh_after[i]]

    async def fetch_and_save(self, kind: _Kind, ids: Sequence[str], report: KindReport) -> None:
        """Fetch ``ids`` concurrently and store the answers in one transaction."""

        async def fetch(object_id: str) -> tuple[str, Any, dt.datetime] | None:
            async with self.calls:
                at = utcnow()
                try:
                    return object_id, await kind.fetch(self.client, object_id), at
                except Exception as exc:  # one object's failure must not stop the others
                    _failed(report, kind, object_id, exc)
                    return None

        answers = [a for a in await asyncio.gather(*(fetch(i) for i in ids)) if a is not None]
        try:
            async with self.db.transaction() as conn:
                for _, value, at in answers:
                    await kind.save(conn, self.store_id, value, at)
            report.fetched += len(answers)
        except Exception:
            # Something in this chunk cannot be stored: store the rest one by one, report it.
            for object_id, value, at in answers:
                try:
                    async with self.db.transaction() as conn:
                        await kind.save(conn, self.store_id, value, at)
                except Exception as exc:
                    _failed(report, kind, object_id, exc)
                else:
                    report.fetched += 1


def _failed(report: KindReport, kind: _Kind, object_id: str, exc: BaseException) -> None:
    report.failed += 1
    message = f"{kind.name} {object_id}: {type(exc).__name__}: {exc}"
    if len(report.errors) < 20:
        report.errors.append(message)
    log.warning("reconciliation: %s", message)


class Reconciler:
    """Reconciles every active store every ``reconcile_interval_s`` (a background service)."""

    def __init__(self, db: Database, settings: Settings, clients: PlatformClients) -> None:
        self.db = db
        self.settings = settings
        self.clients = clients
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._loop(), name="reconciler")

    async def stop(self) -> None:
        # The flag as well as the cancellation: a cancellation that lands inside a database
        # driver's cleanup can be absorbed there, and the loop must still end (SIGTERM).
        self._stopping.set()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run_once(self) -> list[SyncReport]:
        """Reconcile each active store that is due; a failing store does not stop the others.

        A store is due when a watermark is older than half the interval: with several worker
        processes, the first to get there does the work and the others find it fresh.
        """
        due_before = utcnow() - dt.timedelta(seconds=self.settings.reconcile_interval_s / 2)
        stale = sa.or_(
            Store.orders_synced_until.is_(None),
            Store.orders_synced_until < due_before,
            Store.aftersales_synced_until.is_(None),
            Store.aftersales_synced_until < due_before,
        )
        async with self.db.engine.connect() as conn:
            store_ids = list(
                await conn.scalars(sa.select(Store.id).where(Store.is_active, stale).order_by(Store.id))
            )
        reports = []
        for store_id in store_ids:
            try:
                reports.append(
                    await reconcile_store(
                        self.db,
                        self.clients,
                        store_id,
                        overlap_s=self.settings.reconcile_overlap_s,
                        concurrency=self.settings.worker_concurrency,
                    )
                )
            except CredentialError:
                # The store's connection state records this (one log line when it starts failing).
                log.debug("reconciliation of store %d skipped: its credentials are refused", store_id)
            except (PlatformError, PlatformUnavailableError) as exc:
                log.warning("reconciliation of store %d failed: %s", store_id, exc)
            except Exception:
                log.exception("reconciliation of store %d failed", store_id)
        return reports

    async def _loop(self) -> None:
        # Not during start-up: the first run comes a little later, then one every interval.
        delay = min(_FIRST_RUN_DELAY_S, self.settings.reconcile_interval_s)
        while not await self._stopped_within(delay):
            try:
                await self.run_once()
            except Exception:  # the database is away, say: try again next time
                log.exception("reconciliation round failed")
            delay = self.settings.reconcile_interval_s

    async def _stopped_within(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()
        return self._stopping.is_set()
