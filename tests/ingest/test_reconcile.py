"""Reconciliation finds what lost pushes would have said, and re-reads only what may have changed."""

from __future__ import annotations

import asyncio
import datetime as dt

import sqlalchemy as sa

from desk.db import utcnow
from desk.ingest.reconcile import Reconciler, reconcile_store
from desk.orders.models import Order
from desk.stores.models import Store
from tests.ingest.conftest import Platform, events
from tests.ingest.test_handlers import assert_matches_truth


async def order_statuses(runtime, store) -> dict[str, int]:
    async with runtime.db.engine.connect() as conn:
        rows = await conn.execute(sa.select(Order.order_id, Order.status).where(Order.store_id == store.id))
        return dict(rows.all())


async def test_missed_pushes_are_recovered_and_the_watermark_moves(runtime, platform: Platform) -> None:
    sim, appid, store = platform.sim, platform.appids[0], platform.stores[0]
    sim.drop_next_pushes(10_000)  # every push of this test is lost
    first, second = sim.create_order(appid), sim.create_order(appid)
    sim.open_aftersale(appid, first.order_id, type="REFUND")
    await sim.drain()
    assert await events(runtime) == []
    # Listings are in whole seconds: objects updated in the second a run starts are listed again
    # by the next run (to be safe). Start in a later second so that the second run lists nothing.
    await asyncio.sleep(1.05)

    report = await reconcile_store(platform.runtime.db, platform.clients, store.id)

    assert report.complete
    assert (report.orders.fetched, report.aftersales.fetched) == (2, 1)
    truth = sim.ground_truth().stores[appid]
    assert await order_statuses(runtime, store) == {k: v.status for k, v in truth.orders.items()}
    async with runtime.db.session() as session:
        saved = await session.get_one(Store, store.id)
    assert saved.orders_synced_until == report.until
    assert saved.aftersales_synced_until == report.until

    # Nothing changed since: the next run lists the overlap again but fetches nothing.
    again = await reconcile_store(platform.runtime.db, platform.clients, store.id)
    assert (again.orders.listed, again.aftersales.listed) == (0, 0)

    # A change whose push is lost is found by the next run.
    sim.ship_order(appid, second.order_id)
    await sim.drain()
    third = await reconcile_store(platform.runtime.db, platform.clients, store.id)
    # (The first order may be read again too: this run's overlap reaches back past the first run.)
    assert third.complete
    assert (await order_statuses(runtime, store))[second.order_id] == 30


async def test_reconciler_covers_every_active_store(runtime, platform: Platform) -> None:
    sim = platform.sim
    sim.drop_next_pushes(10_000)
    for appid in platform.appids:
        sim.create_order(appid)
    sim.buyer_says(platform.appids[1], sim.new_buyer(platform.appids[1]), "你好")  # lost too: not an order
    await sim.drain()

    reports = await Reconciler(platform.runtime.db, platform.runtime.settings, platform.clients).run_once()

    assert sorted(r.store_id for r in reports) == sorted(s.id for s in platform.stores)
    truth = sim.ground_truth()
    for store, appid in zip(platform.stores, platform.appids, strict=True):
        assert set(await order_statuses(runtime, store)) == set(truth.stores[appid].orders)
    # Fresh watermarks: a second process arriving now finds nothing due.
    assert await Reconciler(platform.runtime.db, platform.runtime.settings, platform.clients).run_once() == []


async def test_a_run_overtaken_by_another_process_lists_nothing_new_and_keeps_the_watermark(
    runtime, platform: Platform
) -> None:
    store = platform.stores[0]
    ahead = utcnow() + dt.timedelta(seconds=30)  # another process finished a run after this one began
    async with runtime.db.engine.begin() as conn:
        await conn.execute(
            sa.update(Store)
            .where(Store.id == store.id)
            .values(orders_synced_until=ahead, aftersales_synced_until=ahead)
        )
    report = await reconcile_store(platform.runtime.db, platform.clients, store.id)
    assert report.complete
    async with runtime.db.session() as session:
        saved = await session.get_one(Store, store.id)
    assert (saved.orders_synced_until, saved.aftersales_synced_until) == (ahead, ahead)


async def test_pushed_and_reconciled_data_agree(runtime, platform: Platform) -> None:
    sim, [a, b] = platform.sim, platform.appids
    for n in range(6):
        order = sim.create_order(a if n % 2 else b)
        if n == 2:
            sim.drop_next_pushes(3)
        if n % 3 == 0:
            sim.ship_order(a if n % 2 else b, order.order_id)
            sim.open_aftersale(a if n % 2 else b, order.order_id, type="RETURN", reason="QUALITY_ISSUE")
    await platform.settle()
    for store in platform.stores:
        await reconcile_store(platform.runtime.db, platform.clients, store.id)
    await assert_matches_truth(runtime, platform, sim.ground_truth())
