"""Benchmark: inbox search at a million messages, on PostgreSQL and on SQLite.

    python bench/search.py [--messages 1000000] [--runs 100] [--only postgresql|sqlite]

Builds a store group the size of a busy merchant's year — 5 stores, 40,000 buyers with Chinese
nicknames, one conversation each, 100,000 orders and ``--messages`` chat messages in customer-
service Chinese — in a throwaway PostgreSQL database (created and dropped here; the server from
``DESK_DATABASE_URL``, default ``postgresql+asyncpg://postgres@127.0.0.1:5432/…``) and in a
temporary SQLite file, both at once. Both schemas are built by the migrations, then loaded in
bulk as a restore would: ``COPY`` on PostgreSQL with the trigram indexes built after the load
(as the migration defines them), then ``VACUUM (ANALYZE)`` as autovacuum would; large
``executemany`` batches on SQLite with the FTS index built in one ``rebuild`` (as the migration
does), and no ``ANALYZE``, as the embedded desk runs.

Then it times :func:`desk.inbox.search.search` — the server's work for one search: its queries
and the hits it builds, each in a fresh session as a request has — for an agent who sees two of
the five stores, ``--runs`` times for each realistic kind of query, the kinds interleaved:

- a 2-character Chinese word (退款, 发货 …: too short for a trigram index; the recent window),
- a 4-character phrase (什么时候, 还没到账 …),
- an order id (a whole id, pasted),
- a nickname (one of the buyers').

It also times the slowest case, a 2-character word found nowhere (the whole recent window is
read), shown apart. Target (issue #7): p99 < 200 ms. The last line is the figures as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import asyncpg_dsn, create_database, drop_database, server_url  # noqa: E402
from desk import migrate  # noqa: E402
from desk.accounts.models import Role, User  # noqa: E402
from desk.db import Database, redact_url  # noqa: E402
from desk.inbox.models import Conversation, Message  # noqa: E402
from desk.inbox.search import search  # noqa: E402
from desk.orders.models import Buyer, Order  # noqa: E402
from desk.settings import Settings  # noqa: E402
from desk.stores.models import Store  # noqa: E402

STORES = 5
BUYERS = 40_000
ORDERS = 100_000
BATCH = 50_000
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
SPAN = dt.timedelta(days=330)

# -- customer-service Chinese ---------------------------------------------------------------------

PRODUCTS = [
    "连衣裙", "羽绒服", "T恤", "运动鞋", "面膜", "口红", "保温杯", "蓝牙耳机", "牛仔裤", "卫衣",
    "四件套", "零食礼包", "洗发水", "行李箱", "儿童书包", "电饭煲", "猫粮", "手机壳", "围巾", "茶叶",
]  # fmt: skip
BUYER_LINES = [
    "什么时候发货", "退款怎么还没到账", "我要退货退款", "尺码偏大还是偏小", "地址填错了能改吗",
    "快递到哪了", "能便宜点吗", "有没有优惠券", "这个是正品吗", "{p}还有货吗", "订单号{o}",
    "收到的{p}有破损", "颜色和图片不一样", "可以开发票吗", "退款申请了怎么没反应", "物流三天没动了",
    "能不能帮我催一下", "为什么取消了我的订单", "我买了两件只收到一件", "{p}怎么洗", "在吗",
    "拍错了能换吗", "七天无理由可以退吗", "运费谁出", "少发了一个{p}", "主播说的赠品没有",
    "直播间说{n}元的", "已经退回去了，单号{o}", "好的谢谢", "还是没收到", "什么时候到",
]  # fmt: skip
AGENT_LINES = [
    "亲，您好，请问有什么可以帮您", "已经为您催促仓库，今天会安排发货", "退款已处理，1-3个工作日原路退回",
    "麻烦提供一下订单号哦", "这款尺码标准，按平时穿的选就可以", "地址已经为您修改好了",
    "非常抱歉给您带来不便，马上为您补发", "亲，支持七天无理由退货的", "快递显示明天送达，请留意电话",
    "{p}目前有货，拍下48小时内发出", "已为您备注，请放心", "运费险会自动理赔的",
]  # fmt: skip
NAME_CHARS = "小大阿明丽华芳伟娜静敏强磊军洋勇艳杰娟涛超秀霞平刚桂英玲红兰云飞雪晨宇轩梓涵欣怡子浩佳琪晓梦"
NAME_TAILS = ["", "", "", "酱", "妈妈", "爸爸", "同学", "的店", "🌸", "_01", "Lily", "Amy"]
TWO_CHAR_WORDS = ["退款", "发货", "尺码", "快递", "地址", "优惠", "破损", "发票", "赠品", "运费"]
PHRASES = ["什么时候", "还没到账", "地址填错", "七天无理", "能不能帮", "原路退回", "催促仓库", "图片不一"]
MISSING_WORDS = ["鳄鱼", "火箭", "钢琴", "熊猫", "潜艇"]


def nickname(rng: random.Random) -> str:
    name = "".join(rng.choice(NAME_CHARS) for _ in range(rng.randint(2, 3)))
    return name + rng.choice(NAME_TAILS)


def order_id(n: int) -> str:
    # Channels order ids: 19 digits that grow with time.
    return str(3_705_000_000_000_000_000 + n * 7_919_113)


def line(rng: random.Random, lines: list[str]) -> str:
    return rng.choice(lines).format(
        p=rng.choice(PRODUCTS), o=order_id(rng.randrange(ORDERS)), n=rng.randint(9, 399)
    )


# -- rows ------------------------------------------------------------------------------------------


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


def stores() -> list[dict[str, Any]]:
    base = _defaults(Store.__table__)
    return [
        {
            **base,
            "id": n,
            "key": f"benchsearch{n:04d}",
            "name": f"压测店铺{n}",
            "appid": f"wxbenchsearch{n:05d}",
            "appsecret_enc": "-",
            "token_enc": "-",
            "aes_key_enc": "-",
        }
        for n in range(1, STORES + 1)
    ]


def buyers(rng: random.Random) -> list[dict[str, Any]]:
    base = _defaults(Buyer.__table__)
    return [
        {**base, "id": n, "store_id": 1 + n % STORES, "openid": f"o_bench_{n:06d}", "nickname": nickname(rng)}
        for n in range(1, BUYERS + 1)
    ]


def conversations(rng: random.Random) -> list[dict[str, Any]]:
    base = _defaults(Conversation.__table__)
    return [
        {
            **base,
            "id": n,
            "store_id": 1 + n % STORES,
            "buyer_id": n,
            "channel": "commkf",
            "peer_id": f"o_bench_{n:06d}",
            "last_message_at": START + SPAN * rng.random(),
            "status": "open",
        }
        for n in range(1, BUYERS + 1)
    ]


def orders(rng: random.Random) -> list[dict[str, Any]]:
    base = _defaults(Order.__table__)
    rows = []
    for n in range(1, ORDERS + 1):
        buyer = rng.randint(1, BUYERS)
        created = START + SPAN * (n / ORDERS)
        rows.append(
            {
                **base,
                "id": n,
                "store_id": 1 + buyer % STORES,
                "order_id": order_id(n),
                "buyer_id": buyer,
                "openid": f"o_bench_{buyer:06d}",
                "create_time": created,
                "update_time": created,
                "fetched_at": created,
                "receiver_name": "王*",
                "deliveries": [],
            }
        )
    return rows


def messages(rng: random.Random, count: int) -> Iterator[list[dict[str, Any]]]:
    """``count`` messages in batches, oldest first, 60% from buyers."""
    base = _defaults(Message.__table__)
    batch: list[dict[str, Any]] = []
    for n in range(1, count + 1):
        conversation = rng.randint(1, BUYERS)
        from_buyer = rng.random() < 0.6
        sent = START + SPAN * (n / count)
        batch.append(
            {
                **base,
                "id": n,
                "conversation_id": conversation,
                "store_id": 1 + conversation % STORES,
                "sender": "buyer" if from_buyer else "agent",
                "platform_msg_id": f"bench{n}" if from_buyer else None,
                "text": line(rng, BUYER_LINES if from_buyer else AGENT_LINES),
                "payload": {},
                "sent_at": sent,
                "created_at": sent,
            }
        )
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


# -- loading ----------------------------------------------------------------------------------------


def _copy_value(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, dict | list) else value


async def load_postgresql(url: str, count: int) -> None:
    """Load the rows with ``COPY``; the trigram indexes are dropped first and built again after,
    exactly as the migration defined them, as a restore does (far faster than row by row)."""
    rng = random.Random(7)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:

        async def copy(table: sa.Table, rows: list[dict[str, Any]]) -> None:
            names = [column.name for column in table.columns]
            records = [tuple(_copy_value(row[name]) for name in names) for row in rows]
            await conn.copy_records_to_table(table.name, records=records, columns=names)

        trigram = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE '%\\_trgm'"
        )
        for index in trigram:
            await conn.execute(f'DROP INDEX "{index["indexname"]}"')
        await copy(Store.__table__, stores())
        await copy(Buyer.__table__, buyers(rng))
        await copy(Conversation.__table__, conversations(rng))
        await copy(Order.__table__, orders(rng))
        loaded = 0
        for batch in messages(rng, count):
            await copy(Message.__table__, batch)
            loaded += len(batch)
            progress("postgresql", loaded)
        await conn.execute("SET maintenance_work_mem = '512MB'")
        for index in trigram:
            await conn.execute(index["indexdef"])
        # What autovacuum does after a load: statistics, and the visibility map index-only scans use.
        await conn.execute("VACUUM (ANALYZE)")
    finally:
        await conn.close()


def load_sqlite(path: str, count: int) -> None:
    """Load the rows in large batches; the FTS insert trigger is set aside meanwhile and the
    index built in one pass (the migration's ``rebuild``), then the trigger put back as it was."""
    rng = random.Random(7)
    engine = sa.create_engine(f"sqlite:///{path}")

    @sa.event.listens_for(engine, "connect")
    def fast_load(dbapi_connection: Any, _record: Any) -> None:
        # Loading only: a crash mid-load just means running the benchmark again.
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA synchronous=OFF")
        dbapi_connection.execute("PRAGMA cache_size=-262144")

    with engine.begin() as conn:
        trigger = conn.execute(
            sa.text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'message_fts_insert'")
        ).scalar_one()
        conn.execute(sa.text("DROP TRIGGER message_fts_insert"))
        for table, rows in (
            (Store.__table__, stores()),
            (Buyer.__table__, buyers(rng)),
            (Conversation.__table__, conversations(rng)),
            (Order.__table__, orders(rng)),
        ):
            conn.execute(sa.insert(table), rows)
    loaded = 0
    for batch in messages(rng, count):
        with engine.begin() as conn:
            conn.execute(sa.insert(Message.__table__), batch)
        loaded += len(batch)
        progress("sqlite", loaded)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO message_fts (message_fts) VALUES ('rebuild')"))
        conn.execute(sa.text(trigger))
    engine.dispose()


def progress(name: str, loaded: int) -> None:
    if loaded % 200_000 == 0:
        print(f"  {name}: {loaded:,} messages loaded", flush=True)


# -- measuring --------------------------------------------------------------------------------------


def agent() -> User:
    """An agent of stores 1 and 2 (a detached user, as the request's authentication gives one)."""
    user = User(id=1, username="bench", role=Role.AGENT)
    user.stores = [Store(id=1), Store(id=2)]
    return user


def query_kinds(rng: random.Random, runs: int, names: list[str]) -> dict[str, list[str]]:
    return {
        "2-char word": [rng.choice(TWO_CHAR_WORDS) for _ in range(runs)],
        "4-char phrase": [rng.choice(PHRASES) for _ in range(runs)],
        "order id": [order_id(rng.randint(1, ORDERS)) for _ in range(runs)],
        "nickname": [rng.choice(names) for _ in range(runs)],
        "2-char word, no match (worst case)": [rng.choice(MISSING_WORDS) for _ in range(runs)],
    }


REALISTIC = ("2-char word", "4-char phrase", "order id", "nickname")


async def measure(url: str, runs: int) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """Figures per kind of query, and p50 / p99 over all realistic queries together."""
    db = Database(Settings(database_url=url))
    user = agent()
    rng = random.Random(11)
    # Nicknames of buyers the agent may see (stores 1 and 2), typed whole as agents do.
    async with db.session() as session:
        names = list(
            await session.scalars(
                sa.select(Buyer.nickname).where(Buyer.store_id.in_([1, 2])).order_by(Buyer.id).limit(5000)
            )
        )
    queries = [(kind, q) for kind, qs in query_kinds(rng, runs, names).items() for q in qs]
    for _kind, q in queries[::50]:  # warm the caches a running desk has warm
        async with db.session() as session:
            await search(session, user, q)
    # Kinds interleaved, as agents' searches come: no kind runs alone on caches the last one warmed.
    rng.shuffle(queries)
    times: dict[str, list[float]] = {}
    found: dict[str, int] = {}
    for kind, q in queries:
        async with db.session() as session:
            started = time.perf_counter()
            hits = await search(session, user, q)
            times.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
        found[kind] = found.get(kind, 0) + (len(hits) if isinstance(hits, list) else 0)
    await db.dispose()
    figures = {
        kind: {
            "p50_ms": round(statistics.median(samples), 1),
            "p99_ms": round(percentile(samples, 99), 1),
            "max_ms": round(max(samples), 1),
            "hits_per_query": round(found[kind] / len(samples), 1),
        }
        for kind, samples in times.items()
    }
    pooled = [sample for kind in REALISTIC for sample in times[kind]]
    return figures, {
        "p50_ms": round(statistics.median(pooled), 1),
        "p99_ms": round(percentile(pooled, 99), 1),
    }


def percentile(values: list[float], pct: float) -> float:
    """The nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def report(name: str, figures: dict[str, dict[str, float]], pooled: dict[str, float]) -> None:
    print(f"\n{name}: search server time per query kind (ms)")
    print(f"  {'query':<38}{'p50':>8}{'p99':>8}{'max':>8}{'hits':>7}")
    for kind, row in figures.items():
        print(f"  {kind:<38}{row['p50_ms']:>8}{row['p99_ms']:>8}{row['max_ms']:>8}{row['hits_per_query']:>7}")
    print(f"  {'all realistic queries':<38}{pooled['p50_ms']:>8}{pooled['p99_ms']:>8}")


async def build_postgresql(url: str, count: int) -> None:
    started = time.monotonic()
    await load_postgresql(url, count)
    print(f"  postgresql: loaded in {time.monotonic() - started:.0f} s", flush=True)


async def build_sqlite(path: str, count: int) -> None:
    started = time.monotonic()
    await asyncio.to_thread(load_sqlite, path, count)
    print(f"  sqlite: loaded in {time.monotonic() - started:.0f} s", flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=100, help="searches per kind of query")
    parser.add_argument("--only", choices=["postgresql", "sqlite"])
    args = parser.parse_args()
    result: dict[str, Any] = {"bench": "search", "messages": args.messages}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="desk-bench-search-") as tmp:
        sqlite_path = os.path.join(tmp, "desk.db")
        pg_url = await create_database(server_url()) if args.only != "sqlite" else ""
        try:
            # The two builds overlap (one waits on the server while the other works here); the
            # measurements then run one after the other, alone.
            print(f"building {args.messages:,} messages…", flush=True)
            builds = []
            # Alembic's context is process-global: migrate one database after the other.
            if pg_url:
                await migrate.upgrade_async(pg_url)
                builds.append(build_postgresql(pg_url, args.messages))
            if args.only != "postgresql":
                await migrate.upgrade_async(f"sqlite+aiosqlite:///{sqlite_path}")
                builds.append(build_sqlite(sqlite_path, args.messages))
            await asyncio.gather(*builds)
            if pg_url:
                figures, pooled = await measure(pg_url, args.runs)
                report(f"PostgreSQL ({redact_url(server_url())})", figures, pooled)
                result["search_p50_ms"], result["search_p99_ms"] = pooled["p50_ms"], pooled["p99_ms"]
                result["postgresql"] = figures
            if args.only != "postgresql":
                figures, pooled = await measure(f"sqlite+aiosqlite:///{sqlite_path}", args.runs)
                report(f"SQLite {sqlite3.sqlite_version}", figures, pooled)
                result["sqlite_search_p50_ms"] = pooled["p50_ms"]
                result["sqlite_search_p99_ms"] = pooled["p99_ms"]
                result["sqlite"] = figures
        finally:
            if pg_url:
                await drop_database(pg_url)
    # Shared machines: the load average says how much of the time was spent waiting for a CPU.
    result["load_average"] = round(os.getloadavg()[0], 1)
    result["seconds"] = round(time.monotonic() - started)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
