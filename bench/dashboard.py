"""Benchmark: the store-score figures — dashboard reads, fact writes, rebuild — on PostgreSQL.

    python bench/dashboard.py [--stores 10] [--days 30] [--messages 400000] [--full] [--runs 200]

``--full`` is the issue's size: 100 stores, 30 days, 10 M messages (a long load on this machine).
A throwaway PostgreSQL database (server from ``DESK_DATABASE_URL``, default the local one) is
built by the migrations, given ``--stores`` stores with four agents each, and loaded with the
facts ``--messages`` chat messages leave over ``--days`` days (a consultation is about four
messages: two from the buyer, an automatic and a human reply; 90% are answered), with paid
orders (one per ten messages, the evening peak heavier) and after-sales (a quarter of orders).
Facts are loaded with ``COPY`` as a restore would; then:

1. ``rebuild_s`` — ``desk metrics rebuild`` of the whole period (:func:`rollups.rebuild`);
2. ``dashboard_p99_ms`` — the server's reads for one store's dashboard: today, 7 and 30 days
   (:func:`figures.summary`, first-response percentiles included), orders by hour, and the
   per-agent table of 7 days (:func:`figures.agent_table`) — ``--runs`` times for random
   stores (target p99 ≤ 100 ms);
3. ``fact_write_ms`` — what the facts add to filing a message: :func:`note_message` for a buyer
   message and the human reply answering it, each in its own transaction as the worker and a
   request run them, per message (target ≤ 1 ms); ``statement_ms``, one trivial statement timed
   the same way, is the machine's floor to read it against.

The last line is the figures as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import time
from zoneinfo import ZoneInfo

import _common
import asyncpg
import sqlalchemy as sa
from _common import asyncpg_dsn, create_database, drop_database, log, percentile, server_url

from desk import migrate
from desk.accounts.models import Role, User
from desk.db import Database
from desk.inbox.models import Channel, Conversation, Sender
from desk.metrics import rollups
from desk.metrics.consultations import note_message
from desk.metrics.figures import Period, agent_table, orders_by_hour, summary
from desk.settings import Settings
from desk.stores.models import Store

SHANGHAI = ZoneInfo("Asia/Shanghai")
FACT_COLUMNS = [
    "key",
    "store_id",
    "kind",
    "at",
    "local_day",
    "local_hour",
    "agent_id",
    "buyer_id",
    "seconds",
    "in_window",
    "in_time",
    "automatic",
    "detail",
]
# Evening-heavy hours of the day (weights), for buyers and orders alike.
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 1, 2, 3, 5, 6, 6, 6, 5, 5, 5, 5, 6, 7, 10, 12, 12, 11, 8, 4]


async def setup(db: Database, stores: int) -> dict[int, list[int]]:
    """``stores`` stores with four agents each; returns agents by store."""
    agents: dict[int, list[int]] = {}
    async with db.session() as session:
        for n in range(stores):
            store = Store(
                key=f"bench{n}",
                name=f"店铺{n}",
                appid=f"wxbench{n:08d}",
                appsecret_enc="x",
                token_enc="x",
                aes_key_enc="x",
            )
            session.add(store)
            await session.flush()
            users = [
                User(username=f"agent{n}_{a}", display_name="", role=Role.AGENT, password_hash="x")
                for a in range(4)
            ]
            session.add_all(users)
            await session.flush()
            agents[store.id] = [u.id for u in users]
    return agents


def generated_facts(agents: dict[int, list[int]], days: int, messages: int, today: dt.date):
    """Fact rows for ``messages`` messages over ``days`` days ending ``today``, spread over stores."""
    rng = random.Random(2026)
    store_ids = list(agents)
    consultations = messages // 4
    orders = messages // 10
    hours = list(range(24))

    def instant() -> tuple[int, dt.datetime]:
        day = today - dt.timedelta(days=rng.randrange(days))
        hour = rng.choices(hours, HOUR_WEIGHTS)[0]
        local = dt.datetime.combine(day, dt.time(hour, rng.randrange(60), rng.randrange(60)), SHANGHAI)
        return rng.choice(store_ids), local

    for i in range(consultations):
        store_id, local = instant()
        at = local.astimezone(dt.UTC)
        in_window = local.hour >= 8
        yield (
            f"opened:{i}",
            store_id,
            "consultation.opened",
            at,
            local.date(),
            local.hour,
            None,
            None,
            None,
            in_window,
            False,
            False,
            "",
        )
        if rng.random() < 0.9:
            waited = int(rng.expovariate(1 / 120))
            yield (
                f"answered:{i}",
                store_id,
                "consultation.answered",
                at,
                local.date(),
                local.hour,
                rng.choice(agents[store_id]),
                None,
                waited,
                in_window,
                waited <= 180,
                False,
                "",
            )
    for i in range(orders):
        store_id, local = instant()
        at = local.astimezone(dt.UTC)
        yield (
            f"paid:{i}",
            store_id,
            "order.paid",
            at,
            local.date(),
            local.hour,
            None,
            rng.randrange(orders // 3 + 1),
            None,
            True,
            False,
            False,
            "",
        )
        if rng.random() < 0.25:
            kind = rng.choice(["REFUND", "RETURN"])
            yield (
                f"requested:{i}",
                store_id,
                "aftersale.requested",
                at,
                local.date(),
                local.hour,
                None,
                None,
                None,
                True,
                False,
                False,
                kind,
            )
            if rng.random() < 0.8:
                yield (
                    f"completed:{i}",
                    store_id,
                    "aftersale.completed",
                    at,
                    local.date(),
                    local.hour,
                    None,
                    None,
                    rng.randrange(600, 3 * 86400),
                    True,
                    False,
                    rng.random() < 0.4,
                    kind,
                )


async def load_facts(url: str, rows, batch: int = 50_000) -> int:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    loaded = 0
    try:
        chunk: list[tuple[object, ...]] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= batch:
                await conn.copy_records_to_table("metric_fact", records=chunk, columns=FACT_COLUMNS)
                loaded += len(chunk)
                chunk = []
                log(f"  {loaded:,} facts loaded")
        if chunk:
            await conn.copy_records_to_table("metric_fact", records=chunk, columns=FACT_COLUMNS)
            loaded += len(chunk)
        await conn.execute("VACUUM (ANALYZE) metric_fact")
    finally:
        await conn.close()
    return loaded


async def dashboard_ms(db: Database, agents: dict[int, list[int]], today: dt.date, runs: int) -> list[float]:
    """Server time of one store's dashboard reads, ``runs`` times."""
    rng = random.Random(7)
    periods = [
        Period.day(today),
        Period(today - dt.timedelta(days=6), today),
        Period(today - dt.timedelta(days=29), today),
    ]
    times: list[float] = []
    for _ in range(runs):
        store_id = rng.choice(list(agents))
        started = time.perf_counter()
        async with db.engine.connect() as conn:
            for period in periods:
                await summary(conn, [store_id], period)
            await orders_by_hour(conn, [store_id], periods[-1])
            await agent_table(conn, [store_id], periods[1])
        times.append((time.perf_counter() - started) * 1000)
    return times


async def fact_write_ms(db: Database, agents: dict[int, list[int]], samples: int) -> list[float]:
    """Per message, what :func:`note_message` adds inside the message's own transaction."""
    store_id = next(iter(agents))
    agent_id = agents[store_id][0]
    now = dt.datetime.now(dt.UTC)
    async with db.session() as session:
        conversations = [
            Conversation(store_id=store_id, channel=Channel.COMMKF, peer_id=f"bench-peer-{n}")
            for n in range(samples)
        ]
        session.add_all(conversations)
        await session.flush()
        ids = [c.id for c in conversations]
    times: list[float] = []
    for n, conversation_id in enumerate(ids):
        for sender, author, offset in ((Sender.BUYER, None, 0), (Sender.AGENT, agent_id, 60)):
            async with db.transaction() as conn:
                started = time.perf_counter()
                await note_message(
                    conn,
                    store_id=store_id,
                    conversation_id=conversation_id,
                    message_id=10_000_000 + 2 * n + offset,
                    sender=sender,
                    author_id=author,
                    sent_at=now + dt.timedelta(seconds=offset),
                )
                times.append((time.perf_counter() - started) * 1000)
    return times


async def statement_ms(db: Database, samples: int) -> float:
    """The machine's floor: one trivial statement in its own transaction (a loaded machine shows here)."""
    times: list[float] = []
    for _ in range(samples):
        async with db.transaction() as conn:
            started = time.perf_counter()
            await conn.execute(sa.text("SELECT 1"))
            times.append((time.perf_counter() - started) * 1000)
    return sum(times) / len(times)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stores", type=int, default=10)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--messages", type=int, default=400_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--writes", type=int, default=500, help="messages whose fact writes are timed")
    parser.add_argument("--full", action="store_true", help="the issue's size: 100 stores, 10 M messages")
    args = parser.parse_args()
    if args.full:
        args.stores, args.messages = 100, 10_000_000
    url = await create_database(server_url())
    size = f"{args.stores} stores, {args.days} days, {args.messages:,} messages"
    log(f"database {url.rsplit('/', 1)[-1]}: {size}")
    db = None
    try:
        await migrate.upgrade_async(url)
        db = Database(Settings(database_url=url, secret_key="bench-dashboard-" + "k" * 32, db_pool_size=5))
        agents = await setup(db, args.stores)
        today = dt.datetime.now(SHANGHAI).date()
        started = time.monotonic()
        facts = await load_facts(url, generated_facts(agents, args.days, args.messages, today))
        log(f"  {facts:,} facts loaded in {time.monotonic() - started:.0f} s")

        started = time.monotonic()
        async with db.transaction() as conn:
            await rollups.rebuild(conn, today - dt.timedelta(days=args.days))
        rebuild_s = time.monotonic() - started
        async with db.engine.connect() as conn:
            rows = (await conn.execute(sa.text("SELECT count(*) FROM metric_rollup"))).scalar_one()
            await conn.execute(sa.text("ANALYZE metric_rollup"))
        log(f"rebuild: {facts:,} facts → {rows:,} rollup rows in {rebuild_s:.1f} s")

        reads = await dashboard_ms(db, agents, today, args.runs)
        log(f"dashboard reads: p50 {percentile(reads, 0.5):.1f} ms, p99 {percentile(reads, 0.99):.1f} ms")
        writes = await fact_write_ms(db, agents, args.writes)
        mean = sum(writes) / len(writes)
        floor = await statement_ms(db, args.writes)
        log(f"one trivial statement: {floor:.2f} ms (fact writes take four statements)")
        log(f"fact writes per message: mean {mean:.2f} ms, p99 {percentile(writes, 0.99):.2f} ms")
        print(
            json.dumps(
                {
                    "stores": args.stores,
                    "days": args.days,
                    "messages": args.messages,
                    "facts": facts,
                    "rollup_rows": rows,
                    "dashboard_p50_ms": round(percentile(reads, 0.5), 1),
                    "dashboard_p99_ms": round(percentile(reads, 0.99), 1),
                    "fact_write_ms": round(mean, 3),
                    "fact_write_p99_ms": round(percentile(writes, 0.99), 3),
                    "statement_ms": round(floor, 3),
                    "rebuild_s": round(rebuild_s, 1),
                }
            ),
            flush=True,
        )
    finally:
        if db is not None:
            await db.dispose()
        await drop_database(url)


if __name__ == "__main__":
    assert _common.ROOT
    asyncio.run(main())
