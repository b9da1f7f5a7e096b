"""The rollup applier of worker processes adds facts to the rollups moments after they are written."""

from __future__ import annotations

import asyncio
import datetime as dt

import sqlalchemy as sa

from desk.metrics.applier import RollupApplier
from desk.metrics.facts import Fact, FactKind
from desk.metrics.models import MetricFactPending, MetricRollup
from desk.metrics.record import write_fact
from desk.runtime import Runtime


async def test_a_running_applier_adds_facts_written_after_it_started(runtime: Runtime, make_store) -> None:
    store = await make_store()
    applier = RollupApplier(runtime.db, interval_s=0.01, batch=2)
    await applier.start()
    try:
        async with runtime.db.transaction() as conn:
            for n in range(5):
                at = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)
                paid = Fact(
                    key=f"paid:{n}",
                    store_id=store.id,
                    kind=FactKind.ORDER_PAID,
                    at=at,
                    local_day=at.date(),
                    local_hour=20,
                )
                assert await write_fact(conn, paid)
        orders = None
        for _ in range(500):  # polled: when exactly does not matter, only that it comes
            async with runtime.db.engine.connect() as conn:
                orders = (await conn.execute(sa.select(sa.func.sum(MetricRollup.orders)))).scalar()
                pending = (
                    await conn.execute(sa.select(sa.func.count()).select_from(MetricFactPending))
                ).scalar()
            if orders == 5 and pending == 0:
                break
            await asyncio.sleep(0.02)
        assert (orders, pending) == (5, 0)
    finally:
        await applier.stop()
