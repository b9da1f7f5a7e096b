"""Benchmark (issue #8): the order sidebar, the warehouse scan and approve → platform, on PostgreSQL.

    python bench/sidebar.py [--orders 1000000] [--buyers 200000] [--runs 200] [--scans 2000]
                            [--approvals 300] [--rate 20]

Builds, in a throwaway PostgreSQL database (created and dropped here; the server from
``DESK_DATABASE_URL``, default the local one), 5 stores, ``--buyers`` buyers and ``--orders``
orders with a line each, a quarter of them with an after-sale request; 200 of the buyers are
regulars with 50 orders each (a quarter of them under an after-sale, some returns awaiting
review with a SKU-bound return address), each with a conversation. Half the returns carry the
buyer's return waybill, some still awaiting the parcel (``MERCHANT_WAIT_RECEIPT``), the others
refunded. The schema is built by the migrations, the rows loaded with ``COPY`` and analysed, as
a restored database would be. On that one dataset it measures the issue's three figures:

1. ``sidebar``: :func:`desk.sidebar.view.read_sidebar` — the server's work to draw the sidebar
   (its queries and the views it builds), each in a fresh session as a request has — for an
   agent who sees every store, ``--runs`` times over the regulars. Target p99 ≤ 30 ms.
2. ``scan``: :func:`desk.aftersales.scan.parcels_with_waybill`, the lookup behind every scan of
   the /warehouse page, as a warehouse user of two of the five stores, ``--scans`` waybills (one in
   ten unknown: a misread label), timed by ``bench/scan.py``'s own function. Target p99 ≤ 20 ms.
3. ``approve_to_platform``: the simulator (:class:`desk.simulator.Simulator`, served on loopback
   in this process) knows the five stores and ``--approvals`` refund requests in
   ``MERCHANT_PROCESSING``, which the desk has too; a ``desk worker`` process runs the outbound
   commands against it. An agent approves them at ``--rate`` per second through the sidebar's own
   service (:func:`desk.sidebar.actions.decide_from_form`, committed, with the wake-up the app
   sends); measured from that commit to the simulator receiving ``aftersale/acceptapply`` for the
   after-sale (the simulator's state is polled every millisecond). Target p99 ≤ 300 ms. The run
   also checks the simulator saw exactly one ``acceptapply`` per approval.

Each figure is printed with its target and the ratio figure / target; the last line is the
figures as JSON (``sidebar_p99_ms``, ``scan_p99_ms``, ``approve_to_platform_p99_ms`` and their p50s).
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

from bench._common import desk_env, log, percentile, process  # noqa: E402
from bench.ingest import asyncpg_dsn, create_database, drop_database, server_url  # noqa: E402
from bench.scan import make_packer, time_lookups, waybill  # noqa: E402
from desk import migrate  # noqa: E402
from desk.accounts.models import Role, User  # noqa: E402
from desk.aftersales.models import AfterSale, MerchantAddress, ReturnAddressBinding  # noqa: E402
from desk.aftersales.status import AfterSaleAction  # noqa: E402
from desk.db import Database, redact_url  # noqa: E402
from desk.inbox.models import Conversation  # noqa: E402
from desk.orders.models import Buyer, Order, OrderLine  # noqa: E402
from desk.secret_box import SecretBox  # noqa: E402
from desk.settings import Settings  # noqa: E402
from desk.sidebar.actions import DecideForm, decide_from_form  # noqa: E402
from desk.sidebar.view import read_sidebar  # noqa: E402
from desk.simulator import SimStore, Simulator, demo_store  # noqa: E402
from desk.stores.models import Store  # noqa: E402
from desk.wakeup import Wakeup  # noqa: E402

STORES = 5
WAREHOUSE_STORES = [1, 2]
SECRET_KEY = "bench-sidebar-" + "k" * 40
SEED = 8
ACCEPT = "aftersale/acceptapply"
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


async def load(url: str, orders: int, buyers: int, configs: list[SimStore]) -> list[int]:
    """Load the dataset; the numbers ``n`` of the after-sales of ``WAREHOUSE_STORES`` whose return
    waybill is ``waybill(n)`` (other stores' parcels have theirs too).

    The stores hold ``configs``' credentials (encrypted as the desk stores them) so the worker can
    call the simulator as them."""
    rng = random.Random(8)
    box = SecretBox(SECRET_KEY)
    waybilled: list[int] = []
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
                    "appid": config.appid,
                    "appsecret_enc": box.encrypt(config.secret),
                    "token_enc": box.encrypt(config.token),
                    "aes_key_enc": box.encrypt(config.aes_key),
                }
                for n, config in enumerate(configs, start=1)
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
                kind = rng.choice(["REFUND", "RETURN", "EXCHANGE"])
                parcel = ""
                if kind == "RETURN" and rng.random() < 0.5:  # the buyer has posted it back
                    status = "MERCHANT_WAIT_RECEIPT" if rng.random() < 0.3 else "MERCHANT_REFUND_SUCCESS"
                    parcel = waybill(n)
                    if store_id in WAREHOUSE_STORES:  # the parcels the warehouse user may scan
                        waybilled.append(n)
                batch_aftersales.append(
                    {
                        **aftersale,
                        "id": n,
                        "store_id": store_id,
                        "after_sale_order_id": f"19{n:015d}",
                        "order_id": f"37{n:017d}",
                        "buyer_id": owner,
                        "status": status,
                        "type": kind,
                        "return_waybill_id": parcel,
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
    return waybilled


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
    log(f"  orders shown per sidebar: {shown / len(conversations):.0f}")
    return times


async def measure_scan(url: str, waybilled: list[int], scans: int) -> tuple[list[float], int]:
    """The scan lookup's milliseconds for ``scans`` waybills of the warehouse user's stores (one in
    ten unknown); how many found."""
    db = Database(Settings(database_url=url))
    try:
        packer_id = await make_packer(db, WAREHOUSE_STORES)
        rng = random.Random(10)
        codes = [
            waybill(rng.choice(waybilled)) if rng.random() < 0.9 else f"ZZ{rng.randrange(10**12):012d}"
            for _ in range(scans + 20)
        ]
        await time_lookups(db, packer_id, codes[:20])  # warm the caches a running desk has warm
        return await time_lookups(db, packer_id, codes[20:])
    finally:
        await db.dispose()


async def _approvable(db: Database, simulator: Simulator, configs: list[SimStore], count: int) -> list[str]:
    """``count`` refund requests in ``MERCHANT_PROCESSING`` on the platform and in the desk (as the
    desk has them once their push is handled), spread over the stores; their ids."""
    ids: list[str] = []
    now = dt.datetime.now(dt.UTC)
    async with db.session() as session:
        for k in range(count):
            store_id = 1 + k % len(configs)
            appid = configs[store_id - 1].appid
            order = simulator.create_order(appid)
            sale = simulator.open_aftersale(appid, order.order_id, "REFUND")
            session.add(
                AfterSale(
                    store_id=store_id,
                    after_sale_order_id=sale.after_sale_order_id,
                    order_id=sale.order_id,
                    openid=sale.openid,
                    status=sale.status,
                    type=sale.type,
                    product_id=sale.product_id,
                    sku_id=sale.sku_id,
                    count=sale.count,
                    refund_amount=sale.amount,
                    merchant_deadline=now + dt.timedelta(days=2),
                    create_time=now,
                    update_time=now,
                    fetched_at=now,
                )
            )
            ids.append(sale.after_sale_order_id)
        agent = User(username="bench-agent", display_name="客服 小陈", password_hash="x", role=Role.AGENT)
        agent.stores = [await session.get_one(Store, n) for n in range(1, len(configs) + 1)]
        session.add(agent)
    return ids


async def measure_approve(url: str, configs: list[SimStore], approvals: int, rate: float) -> list[float]:
    """Milliseconds from each approve's commit to the simulator receiving its ``acceptapply``."""
    simulator = Simulator(seed=SEED)
    for config in configs:
        simulator.add_store(config)
    db = Database(Settings(database_url=url))
    wakeup = Wakeup(db)  # announces with NOTIFY, as the app's does; this process listens to nothing
    warmup = 10
    ids = await _approvable(db, simulator, configs, warmup + approvals)
    async with db.session() as session:
        agent_id = (
            await session.execute(sa.select(User.id).where(User.username == "bench-agent"))
        ).scalar_one()
    by_id = {sale_id: configs[k % len(configs)].appid for k, sale_id in enumerate(ids)}
    committed: dict[str, float] = {}
    received: dict[str, float] = {}
    waiting: set[str] = set()  # committed, not yet received: all the poll looks at

    async def watch() -> None:
        # The simulator answers in this event loop, so a 1 ms poll of its state sees the call
        # within a millisecond of it being handled. Only the few in flight are looked at: this
        # loop also serves the simulator, which a busier poll would slow down.
        while True:
            for sale_id in list(waiting):
                if simulator.aftersale(by_id[sale_id], sale_id).status != "MERCHANT_PROCESSING":
                    received[sale_id] = time.perf_counter()
                    waiting.discard(sale_id)
            await asyncio.sleep(0.001)

    async def approve(sale_id: str) -> None:
        async with db.session() as session:
            user = await session.get_one(User, agent_id)
            result = await decide_from_form(
                session,
                wakeup,
                user=user,
                after_sale_order_id=sale_id,
                action=AfterSaleAction.APPROVE,
                form=DecideForm(),
                now=dt.datetime.now(dt.UTC),
            )
            if not hasattr(result, "notice"):
                raise RuntimeError(f"approve of {sale_id} refused: {result}")
        committed[sale_id] = time.perf_counter()  # the session committed on leaving the block
        waiting.add(sale_id)

    async def until_received(sale_ids: list[str], seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while any(s not in received for s in sale_ids):
            if time.monotonic() > deadline:
                missing = [s for s in sale_ids if s not in received]
                raise RuntimeError(f"{len(missing)} approvals never reached the simulator")
            await asyncio.sleep(0.05)

    async with simulator.serving() as sim_url:
        env = desk_env(url, SECRET_KEY, DESK_CHANNELS_API_BASE=sim_url, DESK_WECOM_API_BASE=sim_url)
        worker = [sys.executable, "-m", "desk", "worker", "--loops", "2", "--no-reconcile"]
        watcher = asyncio.create_task(watch())
        try:
            with process(worker, env, None, "desk worker") as proc:
                # The first approvals wait for the worker to start (and fetch tokens): not measured.
                for sale_id in ids[:warmup]:
                    await approve(sale_id)
                await until_received(ids[:warmup], 120)
                log(f"  worker ready; approving {approvals} after-sales at {rate:g}/s …")
                worker_cpu, own_cpu = _cpu_seconds(proc.pid), time.process_time()
                interval = 1.0 / rate
                next_at = time.monotonic()
                pending: list[asyncio.Task[None]] = []
                for sale_id in ids[warmup:]:
                    pending.append(asyncio.create_task(approve(sale_id)))
                    next_at += interval
                    await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                await asyncio.gather(*pending)
                await until_received(ids[warmup:], 60)
                # CPU per approval, to tell a slow path from a starved one on a shared machine.
                worker_ms = (_cpu_seconds(proc.pid) - worker_cpu) * 1000 / approvals
                own_ms = (time.process_time() - own_cpu) * 1000 / approvals
                log(
                    f"  CPU per approval: desk worker {worker_ms:.1f} ms, this process (the"
                    f" simulator, the approves, the poll) {own_ms:.1f} ms;"
                    f" load average {os.getloadavg()[0]:.1f}"
                )
                await asyncio.sleep(1)  # a second call would come now, if any
        finally:
            watcher.cancel()
            await db.dispose()
    calls = simulator.api.calls_by_path[ACCEPT]
    if calls != len(ids):
        raise RuntimeError(f"{len(ids)} approvals made {calls} acceptapply calls")
    times = [(received[s] - committed[s]) * 1000 for s in ids[warmup:]]
    # A worker that cannot keep up shows as latencies growing through the run; spikes as a
    # few slow ones anywhere: the median of each tenth of the run tells them apart.
    tenth = max(1, len(times) // 10)
    medians = [statistics.median(times[i : i + tenth]) for i in range(0, len(times), tenth)]
    log(f"  approve → acceptapply, median of each tenth of the run (ms): {[round(m) for m in medians]}")
    log(f"  acceptapply calls: {calls} for {len(ids)} approvals ({warmup} to warm up)")
    return times


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def figure(name: str, times: list[float], target: float) -> dict[str, float]:
    p50, p99 = percentile(times, 0.5), percentile(times, 0.99)
    log(
        f"{name}: p50 {p50:.1f} ms, p99 {p99:.1f} ms; target p99 ≤ {target:g} ms,"
        f" ratio {p99 / target:.2f} ({len(times)} measured)"
    )
    return {
        f"{name}_p50_ms": round(p50, 1),
        f"{name}_p99_ms": round(p99, 1),
        f"{name}_max_ms": round(max(times), 1),
        f"{name}_ratio": round(p99 / target, 2),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--buyers", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=200, help="sidebars drawn")
    parser.add_argument("--scans", type=int, default=2000, help="waybills looked up")
    parser.add_argument("--approvals", type=int, default=300)
    parser.add_argument("--rate", type=float, default=20, help="approvals per second")
    args = parser.parse_args()
    if args.orders < REGULARS * REGULAR_ORDERS or args.buyers < REGULARS:
        parser.error(
            f"--orders must be at least {REGULARS * REGULAR_ORDERS:,} and --buyers at least {REGULARS}"
        )
    configs = [demo_store(n, seed=SEED) for n in range(1, STORES + 1)]
    url = await create_database(server_url())
    started = time.monotonic()
    try:
        await migrate.upgrade_async(url)
        log(f"loading {args.orders:,} orders, {args.buyers:,} buyers…")
        waybilled = await load(url, args.orders, args.buyers, configs)
        log(f"  loaded in {time.monotonic() - started:.0f} s")
        sidebar = await measure(url, args.runs)
        scans, found = await measure_scan(url, waybilled, args.scans)
        log(f"  scans: {found} of {len(scans)} found a parcel in the warehouse user's stores")
        approvals = await measure_approve(url, configs, args.approvals, args.rate)
    finally:
        await drop_database(url)
    result: dict[str, Any] = {
        "bench": "sidebar",
        "database": redact_url(server_url()),
        "redis": bool(os.environ.get("DESK_REDIS_URL")),
        "orders": args.orders,
        "buyers": args.buyers,
        "runs": args.runs,
        "scans": args.scans,
        "approvals": args.approvals,
        "rate": args.rate,
    }
    result |= figure("sidebar", sidebar, 30)
    result |= figure("scan", scans, 20)
    result |= figure("approve_to_platform", approvals, 300)
    result["total_s"] = round(time.monotonic() - started)
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
