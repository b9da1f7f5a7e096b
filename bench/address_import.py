"""Benchmark: importing a 一货一址 CSV file of 10,000 SKUs, on PostgreSQL and on SQLite.

    python bench/address_import.py [--rows 10000] [--runs 5] [--only postgresql|sqlite]

A store that has sold ``--rows`` SKUs (one order line each) and has two return addresses, in a
throwaway PostgreSQL database (the server from ``DESK_DATABASE_URL``, default
``postgresql+asyncpg://postgres@127.0.0.1:5432/…``; created and dropped here) and in a temporary
SQLite file, both built by the migrations. Each run times, in a fresh session as a request has:

- ``check``: reading the file and checking every row against the store
  (:func:`desk.aftersales.binding_import.check_file`: known SKUs, the store's return addresses);
- ``apply``: binding every row (:func:`~desk.aftersales.binding_import.apply_rows`, batched
  upserts) and committing. The first run inserts, later ones replace.

The last line is the figures as JSON (medians in milliseconds).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import create_database, drop_database, log, server_url  # noqa: E402
from desk import migrate  # noqa: E402
from desk.aftersales.binding_import import CheckedFile, apply_rows, check_file  # noqa: E402
from desk.aftersales.models import MerchantAddress  # noqa: E402
from desk.audit.service import Actor  # noqa: E402
from desk.db import Database  # noqa: E402
from desk.orders.models import Order, OrderLine  # noqa: E402
from desk.settings import Settings  # noqa: E402
from desk.stores.models import Store  # noqa: E402

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
ACTOR = Actor("bench", "bench/address_import.py")


async def _seed(db: Database, rows: int) -> int:
    async with db.session() as session:
        store_id = (
            await session.execute(
                sa.insert(Store.__table__).returning(Store.__table__.c.id),
                {
                    "key": "bench",
                    "name": "压测店铺",
                    "appid": "wxbench",
                    "appsecret_enc": "x",
                    "token_enc": "x",
                    "aes_key_enc": "x",
                    "created_at": NOW,
                    "updated_at": NOW,
                },
            )
        ).scalar_one()
        order_pk = (
            await session.execute(
                sa.insert(Order.__table__).returning(Order.__table__.c.id),
                {
                    "store_id": store_id,
                    "order_id": "3700000000000000001",
                    "create_time": NOW,
                    "update_time": NOW,
                    "fetched_at": NOW,
                    "created_at": NOW,
                    "updated_at": NOW,
                },
            )
        ).scalar_one()
        await session.execute(
            sa.insert(OrderLine.__table__),
            [
                {"order_pk": order_pk, "position": n, "product_id": str(n // 10), "sku_id": str(10**9 + n)}
                for n in range(rows)
            ],
        )
        await session.execute(
            sa.insert(MerchantAddress.__table__),
            [
                {"store_id": store_id, "address_id": a, "is_return": True, "synced_at": NOW}
                for a in ("1100000000000000001", "1100000000000000002")
            ],
        )
    return int(store_id)


def _csv(rows: int, run: int) -> bytes:
    address = ("1100000000000000001", "1100000000000000002")[run % 2]  # each run changes every row
    body = "".join(f"{10**9 + n},{address}\r\n" for n in range(rows))
    return ("sku_id,address_id\r\n" + body).encode()


async def _measure(url: str, rows: int, runs: int) -> dict[str, Any]:
    await asyncio.to_thread(migrate.upgrade, url)
    db = Database(Settings(database_url=url, secret_key="bench-" + "x" * 32))
    try:
        store_id = await _seed(db, rows)
        checks, applies = [], []
        for run in range(runs):
            data = _csv(rows, run)
            started = time.perf_counter()
            async with db.session() as session:
                checked = await check_file(session, store_id, data)
            checks.append((time.perf_counter() - started) * 1000)
            assert isinstance(checked, CheckedFile), checked
            assert not checked.problems, checked.problems[:3]
            started = time.perf_counter()
            async with db.session() as session:
                await apply_rows(session, store_id, checked.scope, checked.rows, actor=ACTOR)
            applies.append((time.perf_counter() - started) * 1000)
        return {
            "check_ms": round(statistics.median(checks), 1),
            "apply_ms": round(statistics.median(applies), 1),
        }
    finally:
        await db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", choices=["postgresql", "sqlite"])
    args = parser.parse_args()
    figures: dict[str, Any] = {"rows": args.rows, "runs": args.runs}
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            figures["sqlite"] = await _measure(f"sqlite+aiosqlite:///{tmp}/bench.db", args.rows, args.runs)
            log(f"sqlite: {figures['sqlite']}")
    if args.only in (None, "postgresql"):
        url = await create_database(server_url())
        try:
            figures["postgresql"] = await _measure(url, args.rows, args.runs)
            log(f"postgresql: {figures['postgresql']}")
        finally:
            await drop_database(url)
    print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
