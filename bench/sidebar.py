"""Benchmark: the order sidebar's server time on PostgreSQL, for a buyer with 50 orders.

    python bench/sidebar.py [--orders 1000000] [--buyers 200000] [--runs 200]

Builds, in a throwaway PostgreSQL database (created and dropped here; the server from
``DESK_DATABASE_URL``, default the local one), 5 stores, ``--buyers`` buyers and ``--orders``
orders with a line each, a quarter of them with an after-sale request; 200 of the buyers are
regulars with 50 orders each (a quarter of them under an after-sale, some returns awaiting
review with a SKU-bound return address), each with a conversation. The schema is built by the
migrations, the rows loaded with ``COPY`` and analysed, as a restored database would be.

Then it times :func:`desk.sidebar.view.read_sidebar` — the server's work to draw the sidebar
(its queries and the views it builds), each in a fresh session as a request has — for an agent
who sees every store, ``--runs`` times over the regulars. Target (issue #8): p99 ≤ 30 ms. The
last line is the figures as JSON (``sidebar_p99_ms``).

The issue's other two figures (the warehouse scan lookup, approve → ``acceptapply``) belong to
the scan page and to the command runner's latency, built and measured elsewhere.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import asyncpg_dsn, create_database, drop_database, server_url  # noqa: E402
from desk import migrate  # noqa: E402
from desk.accounts.models import Role, User  # noqa: E402
from desk.aftersales.models import AfterSale, MerchantAddress, ReturnAddressBinding  # noqa: E402
from desk.db import Database, redact_url  # noqa: E402
from desk.inbox.models import Conversation  # noqa: E402
from desk.orders.models import Buyer, Order, OrderLine  # noqa: E402
from desk.settings import Settings  # noqa: E402
from desk.sidebar.view import read_sidebar  # noqa: E402
from desk.stores.models import Store  # noqa: E402

STORES = 5
REGULARS = 200
REGULAR_ORDERS = 50
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
SPAN = dt.timedelta(days=330)
STATUSES = ["MERCHANT_PROCESSING", "USER_WAIT_RETURN", "MERCHANT_REFUND_SUCCESS", "USER_CANCELD"]


def _defaults(table: sa.Table) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for column in table.columns:
        default = column.default
        if default is None:
            values[column.name] = None
        elif default.is_scalar:
            values[column.name] = default.arg  # type: ignore[attr-defined]
        else:
            values[column.name] = default.arg(None)  # type: ignore[attr-defined]
    return values


def _copy_value(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, dict | list) else value


class Loader:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def copy(self, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        names = [column.name for column in table.columns]
        records = [tuple(_copy_value(row[name]) for name in names) for row in rows]
        await self.conn.copy_records_to_table(table.name, records=records, columns=names)


async def load(url: str, orders: int, buyers: int) -> None:
    rng = random.Random(8)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    loader = Loader(conn)
    try:
        store = _defaults(Store.__table__)
        await loader.copy(
            Store.__table__,
            [
                {
                    **store,
                    "id": n,
                    "key": f"benchsidebar{n:04d}",
                    "name": f"压测店铺{n}",
                    "appid": f"wxbenchsidebar{n:04d}",
                    "appsecret_enc": "-",
                    "token_enc": "-",
                    "aes_key_enc": "-",
                }
                for n in range(1, STORES + 1)
            ],
        )
        address = _defaults(MerchantAddress.__table__)
        await loader.copy(
            MerchantAddress.__table__,
            [
                {
                    **address,
                    "id": n * 10 + k,
                    "store_id": n,
                    "address_id": f"{n}{k:03d}",
                    "name": f"退货仓{k}",
                    "region": "浙江省 杭州市 余杭区",
                    "detail": f"仓储路 {k} 号",
                    "is_return": True,
                }
                for n in range(1, STORES + 1)
                for k in range(1, 4)
            ],
        )
        buyer = _defaults(Buyer.__table__)
        await loader.copy(
            Buyer.__table__,
            [
                {
                    **buyer,
                    "id": n,
                    "store_id": 1 + n % STORES,
                    "openid": f"o_bench_{n:07d}",
                    "nickname": f"买家{n}",
                }
                for n in range(1, buyers + 1)
            ],
        )
        conversation = _defaults(Conversation.__table__)
        await loader.copy(
            Conversation.__table__,
            [
                {
                    **conversation,
                    "id": n,
                    "store_id": 1 + n % STORES,
                    "buyer_id": n,
                    "channel": "commkf",
                    "peer_id": f"o_bench_{n:07d}",
                    "last_message_at": START + SPAN,
                    "status": "open",
                }
                for n in range(1, REGULARS + 1)
            ],
        )
        order, line, aftersale = (
            _defaults(Order.__table__),
            _defaults(OrderLine.__table__),
            _defaults(AfterSale.__table__),
        )
        bindings: list[dict[str, Any]] = []
        batch_orders: list[dict[str, Any]] = []
        batch_lines: list[dict[str, Any]] = []
        batch_aftersales: list[dict[str, Any]] = []
        regular_orders = REGULARS * REGULAR_ORDERS
        for n in range(1, orders + 1):
            # The first orders are the regulars' (50 each); the rest go to anyone.
            owner = 1 + (n - 1) % REGULARS if n <= regular_orders else rng.randint(1, buyers)
            store_id = 1 + owner % STORES
            created = START + SPAN * rng.random()
            sku = f"sku{rng.randint(1, 5000)}"
            batch_orders.append(
                {
                    **order,
                    "id": n,
                    "store_id": store_id,
                    "order_id": f"37{n:017d}",
                    "buyer_id": owner,
                    "openid": f"o_bench_{owner:07d}",
                    "status": rng.choice([20, 30, 100]),
                    "create_time": created,
                    "update_time": created,
                    "fetched_at": created,
                    "order_price": 6900,
                    "receiver_name": "王*",
                    "receiver_tel_masked": f"138****{n % 10000:04d}",
                    "province": "浙江省",
                    "city": "杭州市",
                    "address_detail_masked": "****",
                    "deliveries": [{"waybill_id": f"SF{n}", "delivery_id": "SF", "delivery_name": "顺丰"}],
                }
            )
            batch_lines.append(
                {
                    **line,
                    "id": n,
                    "order_pk": n,
                    "position": 0,
                    "product_id": "p1",
                    "sku_id": sku,
                    "title": "真丝衬衫",
                    "sale_price": 6900,
                    "real_price": 6900,
                }
            )
            if rng.random() < 0.25:
                status = rng.choice(STATUSES)
                batch_aftersales.append(
                    {
                        **aftersale,
                        "id": n,
                        "store_id": store_id,
                        "after_sale_order_id": f"19{n:015d}",
                        "order_id": f"37{n:017d}",
                        "buyer_id": owner,
                        "status": status,
                        "type": rng.choice(["REFUND", "RETURN", "EXCHANGE"]),
                        "product_id": "p1",
                        "sku_id": sku,
                        "refund_amount": 6900,
                        "description": "尺码偏小",
                        "media_ids": [],
                        "merchant_deadline": created + dt.timedelta(days=2)
                        if status == "MERCHANT_PROCESSING"
                        else None,
                        "create_time": created,
                        "update_time": created,
                        "fetched_at": created,
                    }
                )
                if n <= regular_orders and len(bindings) < 2000:
                    bindings.append(
                        {"store_id": store_id, "scope": "sku", "ref": sku, "address_id": f"{store_id}001"}
                    )
            if len(batch_orders) == 50_000:
                await loader.copy(Order.__table__, batch_orders)
                await loader.copy(OrderLine.__table__, batch_lines)
                await loader.copy(AfterSale.__table__, batch_aftersales)
                batch_orders, batch_lines, batch_aftersales = [], [], []
                print(f"  {n:,} orders", flush=True)
        await loader.copy(Order.__table__, batch_orders)
        await loader.copy(OrderLine.__table__, batch_lines)
        await loader.copy(AfterSale.__table__, batch_aftersales)
        binding = _defaults(ReturnAddressBinding.__table__)
        unique = {(b["store_id"], b["ref"]): b for b in bindings}
        await loader.copy(
            ReturnAddressBinding.__table__,
            [{**binding, **b, "id": i} for i, b in enumerate(unique.values(), start=1)],
        )
        for table in ("store", "buyer", "store_order", "order_line", "aftersale", "conversation"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        await conn.execute("VACUUM (ANALYZE)")
    finally:
        await conn.close()


def admin() -> User:
    return User(id=1, username="bench", role=Role.ADMIN)


async def measure(url: str, runs: int) -> list[float]:
    db = Database(Settings(database_url=url))
    user = admin()
    rng = random.Random(9)
    conversations = [rng.randint(1, REGULARS) for _ in range(runs)]
    for conversation_id in conversations[:20]:  # warm the caches a running desk has warm
        async with db.session() as session:
            await read_sidebar(session, user, conversation_id)
    times = []
    shown = 0
    for conversation_id in conversations:
        async with db.session() as session:
            started = time.perf_counter()
            view = await read_sidebar(session, user, conversation_id)
            times.append((time.perf_counter() - started) * 1000)
        shown += len(view.orders)
    await db.dispose()
    print(f"  orders shown per sidebar: {shown / len(conversations):.0f}")
    return times


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--buyers", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    url = await create_database(server_url())
    started = time.monotonic()
    try:
        await migrate.upgrade_async(url)
        print(f"loading {args.orders:,} orders, {args.buyers:,} buyers…", flush=True)
        await load(url, args.orders, args.buyers)
        print(f"  loaded in {time.monotonic() - started:.0f} s", flush=True)
        times = await measure(url, args.runs)
    finally:
        await drop_database(url)
    result = {
        "bench": "sidebar",
        "database": redact_url(server_url()),
        "orders": args.orders,
        "buyers": args.buyers,
        "runs": args.runs,
        "sidebar_p50_ms": round(statistics.median(times), 1),
        "sidebar_p99_ms": round(percentile(times, 99), 1),
        "sidebar_max_ms": round(max(times), 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(f"sidebar server time: p50 {result['sidebar_p50_ms']} ms, p99 {result['sidebar_p99_ms']} ms")
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
