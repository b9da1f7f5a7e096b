"""Benchmark: the live inbox — buyer message to agent, agent reply to platform, the queue page.

    python bench/realtime.py [--seconds 20] [--rate 200] [--agents 100] [--stores 10] [--conversations 100000]

Two topologies, each measured the same way:

* **production** — two ``desk serve`` processes (``DESK_WORKER=off``) and one ``desk worker`` on
  PostgreSQL + Redis (``DESK_DATABASE_URL`` / ``DESK_REDIS_URL``, default the local servers; a
  throwaway database is created and dropped). Half the stores push to one app process, half to the
  other; half the agents are connected to each, so a change applied by the worker reaches them
  through Redis;
* **embedded** — one ``desk serve`` with its worker inside, on SQLite, no Redis.

The simulator runs in this process and pushes buyer messages through the webhooks at ``--rate``
messages/s to ``--stores`` stores, whose ``--agents`` agents (logged in through the login form)
each hold one SSE stream. Measured:

1. **push → agent**: from the moment the desk acknowledged a buyer message's push to the moment
   the ``thread-<conversation>`` signal naming that message arrived on the stream of the agent the
   conversation is assigned to (target p99 ≤ 250 ms);
2. **reply → platform**: agents reply (5 per second) through the workbench's reply form; from the
   request leaving the agent to the simulator receiving ``commkf/sendmsg`` (target p99 ≤ 300 ms);
3. **queue page**: with ``--conversations`` open conversations in the agent's stores, the server
   time of the queue list (``GET /inbox/queue``, idle server, loopback; target p99 ≤ 50 ms).

Agents are given a large capacity so every conversation has an assignee to measure against.
The last line is the figures as JSON; its keys for the production topology are unprefixed.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import re
import secrets
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import _common
import httpx
import sqlalchemy as sa
from _common import create_database, drop_database, free_port, log, percentile, process, server_url

from desk import migrate
from desk.accounts.models import Role, User
from desk.accounts.passwords import hash_password
from desk.db import Database
from desk.inbox.models import AgentPresence, Conversation, Message, Presence
from desk.secret_box import SecretBox
from desk.settings import Settings
from desk.simulator import SimStore, Simulator, demo_store
from desk.stores.models import Store

SECRET_KEY = "bench-realtime-" + "k" * 40
PASSWORD = "bench-password-2026"
_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


@dataclass
class Agent:
    user_id: int
    username: str
    base_url: str
    client: httpx.AsyncClient | None = None
    arrivals: dict[str, float] = field(default_factory=dict)
    """``conversation:message`` → monotonic time the signal arrived on this agent's stream."""
    assigned: set[int] = field(default_factory=set)


# -- setup -----------------------------------------------------------------------------------------


async def seed(
    url: str, stores: int, agents: int, seed_value: int
) -> tuple[list[SimStore], list[Agent], list[int]]:
    """Stores (credentials the simulator shares), agents spread over them, all online with room."""
    db = Database(Settings(database_url=url))
    box = SecretBox(SECRET_KEY)
    configs = [demo_store(n, push_url="", seed=seed_value) for n in range(1, stores + 1)]
    password_hash = await hash_password(PASSWORD)
    store_ids: list[int] = []
    users: list[Agent] = []
    async with db.session() as session:
        rows = []
        for config in configs:
            store = Store(
                key=secrets.token_hex(8),
                name=config.name + config.appid[-4:],
                appid=config.appid,
                appsecret_enc=box.encrypt(config.secret),
                token_enc=box.encrypt(config.token),
                aes_key_enc=box.encrypt(config.aes_key),
            )
            session.add(store)
            rows.append(store)
        await session.flush()
        for store, config in zip(rows, configs, strict=True):
            config.push_url = store.key  # completed with the app's URL by the caller
            store_ids.append(store.id)
        for n in range(agents):
            user = User(
                username=f"agent{n:03d}",
                display_name=f"客服{n:03d}",
                password_hash=password_hash,
                role=Role.AGENT,
            )
            user.stores = [rows[n % len(rows)]]
            session.add(user)
            await session.flush()
            session.add(
                AgentPresence(
                    user_id=user.id,
                    status=Presence.ONLINE,
                    manual=True,
                    capacity=1_000_000,
                    last_seen_at=dt.datetime.now(dt.UTC),
                )
            )
            users.append(Agent(user.id, user.username, ""))
    await db.dispose()
    return configs, users, store_ids


async def login(agent: Agent) -> None:
    client = httpx.AsyncClient(base_url=agent.base_url, timeout=httpx.Timeout(30, read=None))
    page = await client.get("/login")
    token = _CSRF.search(page.text)
    form = {"username": agent.username, "password": PASSWORD, "next": "/inbox"}
    if token:
        form["_csrf_token"] = token.group(1)
    response = await client.post("/login", data=form)
    if response.status_code not in (302, 303):
        raise RuntimeError(
            f"login of {agent.username} failed: {response.status_code}"
            f" {re.sub(r'<[^>]+>', ' ', response.text).split()[-20:]}"
        )
    agent.client = client


async def listen(agent: Agent, connected: asyncio.Queue[int]) -> None:
    """Hold the agent's stream, noting when each message's signal arrives."""
    assert agent.client is not None
    async with agent.client.stream("GET", "/inbox/stream") as response:
        event, data = "", ""
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data = line[5:].strip()
            elif not line:
                now = time.monotonic()
                if event == "resync":
                    connected.put_nowait(agent.user_id)
                elif event.startswith("thread-") and data not in ("", "0"):
                    agent.arrivals.setdefault(f"{event[7:]}:{data}", now)
                elif event == "assigned":
                    agent.assigned.add(int(data))
                event, data = "", ""


async def reply(agent: Agent, conversation_id: int, text: str) -> float:
    """Post a reply as the agent; returns the wall time it was sent."""
    assert agent.client is not None
    csrf = agent.client.cookies.get("desk_csrf", "")
    began = time.time()
    response = await agent.client.post(
        f"/inbox/c/{conversation_id}/reply",
        data={"text": text, "request_id": secrets.token_hex(8), "_csrf_token": csrf},
        headers={"HX-Request": "true", "x-csrftoken": csrf},
    )
    if response.status_code >= 400:
        raise RuntimeError(f"reply failed: {response.status_code} {response.text[:300]}")
    return began


# -- one topology ----------------------------------------------------------------------------------


async def measure(
    url: str,
    app_urls: list[str],
    simulator: Simulator,
    configs: list[SimStore],
    agents: list[Agent],
    args: Any,
) -> dict[str, float]:
    for n, agent in enumerate(agents):
        agent.base_url = app_urls[n % len(app_urls)]
    await asyncio.gather(*(login(agent) for agent in agents))
    connected: asyncio.Queue[int] = asyncio.Queue()
    streams = [asyncio.create_task(listen(agent, connected)) for agent in agents]
    async with asyncio.timeout(60):
        for _ in agents:
            await connected.get()
    log(f"  {len(agents)} agents connected over SSE")

    rng = random.Random(7)
    buyers = {c.appid: [simulator.new_buyer(c.appid) for _ in range(300)] for c in configs}
    sent_at: dict[str, float] = {}
    replies: list[tuple[float, str]] = []
    stop = time.monotonic() + args.seconds

    async def talk() -> None:
        interval = 1.0 / args.rate
        next_at = time.monotonic()
        n = 0
        while time.monotonic() < stop:
            config = configs[n % len(configs)]
            openid = rng.choice(buyers[config.appid])
            simulator.buyer_says(config.appid, openid, f"第{n}个问题：什么时候发货？")
            n += 1
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def answer() -> None:
        n = 0
        while time.monotonic() < stop:
            await asyncio.sleep(0.2)
            candidates = [a for a in agents if a.assigned]
            if not candidates:
                continue
            agent = rng.choice(candidates)
            conversation_id = rng.choice(sorted(agent.assigned))
            text = f"回复{n}-{secrets.token_hex(3)}"
            n += 1
            try:
                replies.append((await reply(agent, conversation_id, text), text))
            except RuntimeError as exc:  # the platform's limits (5 replies) may refuse one: skip it
                if "422" not in str(exc):
                    raise

    await asyncio.gather(talk(), answer())
    await asyncio.sleep(3)  # let the last messages arrive
    for task in streams:
        task.cancel()
    await asyncio.gather(*streams, return_exceptions=True)
    for agent in agents:
        assert agent.client is not None
        await agent.client.aclose()

    statuses: dict[str, int] = defaultdict(int)
    for attempt in simulator.push_log:
        statuses[f"{attempt.http_status} {attempt.body[:60]}"] += 1
    log(f"  pushes: {dict(statuses)}")
    # Acknowledged pushes: platform msg_id → when the desk said "success".
    for attempt in simulator.push_log:
        if attempt.acked and attempt.event == "commkf_send_msg_to_kf":
            sent_at[str(attempt.ref)] = attempt.monotonic
    db = Database(Settings(database_url=url))
    async with db.engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(
                    Message.id, Message.platform_msg_id, Message.conversation_id, Conversation.assignee_id
                )
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(Message.platform_msg_id.is_not(None), Message.sender == "buyer")
            )
        ).all()
        events = (
            await conn.execute(
                sa.text("SELECT state, count(*), max(last_error) FROM platform_event GROUP BY state")
            )
        ).all()
    await db.dispose()
    log(f"  events: {[tuple(e) for e in events]}")
    by_user = {a.user_id: a for a in agents}
    latencies: list[float] = []
    missing = 0
    for row in rows:
        acked = sent_at.get(str(row.platform_msg_id))
        agent = by_user.get(row.assignee_id)
        if acked is None or agent is None:
            continue
        arrived = agent.arrivals.get(f"{row.conversation_id}:{row.id}")
        if arrived is None:
            missing += 1
            continue
        latencies.append((arrived - acked) * 1000)
    received = {m.content: m.create_time for c in configs for m in simulator.sent_messages(c.appid)}
    reply_latencies = [(received[text] - began) * 1000 for began, text in replies if text in received]
    return {
        "messages": len(rows),
        "push_to_agent_p50_ms": percentile(latencies, 0.50),
        "push_to_agent_p99_ms": percentile(latencies, 0.99),
        "push_to_agent_measured": len(latencies),
        "push_to_agent_missing": missing,
        "replies": len(reply_latencies),
        "reply_to_platform_p50_ms": percentile(reply_latencies, 0.50),
        "reply_to_platform_p99_ms": percentile(reply_latencies, 0.99),
    }


async def seed_open_conversations(url: str, store_ids: list[int], count: int) -> None:
    """``count`` open conversations (each with a buyer message) spread over the stores, a third waiting."""
    db = Database(Settings(database_url=url))
    now = dt.datetime.now(dt.UTC)
    conversation, message = Conversation.__table__, Message.__table__
    batch = 5000
    async with db.engine.begin() as conn:
        for start in range(0, count, batch):
            rows = []
            for n in range(start, min(count, start + batch)):
                at = now - dt.timedelta(seconds=n)
                waiting = n % 3 == 0
                rows.append(
                    {
                        "store_id": store_ids[n % len(store_ids)],
                        "channel": "commkf",
                        "peer_id": f"o_seed_{n}",
                        "last_message_at": at,
                        "last_buyer_message_at": at,
                        "waiting_since": at if waiting else None,
                        "deadline_at": at + dt.timedelta(seconds=180) if waiting else None,
                        "status": "open",
                        "created_at": at,
                        "updated_at": at,
                    }
                )
            inserted = (
                await conn.execute(
                    sa.insert(conversation).returning(
                        conversation.c.id, conversation.c.store_id, conversation.c.last_message_at
                    ),
                    rows,
                )
            ).all()
            messages = [
                {
                    "conversation_id": row.id,
                    "store_id": row.store_id,
                    "sender": "buyer",
                    "platform_msg_id": f"seed{row.id}",
                    "msg_type": "text",
                    "text": "在吗？这件衣服有现货吗",
                    "payload": {},
                    "sent_at": row.last_message_at,
                    "created_at": row.last_message_at,
                }
                for row in inserted
            ]
            await conn.execute(sa.insert(message), messages)
    if not db.is_sqlite:
        async with db.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(sa.text("ANALYZE"))
    await db.dispose()


async def measure_queue(app_url: str, agent: Agent, requests: int = 200) -> dict[str, float]:
    await login(agent)
    assert agent.client is not None
    timings: list[float] = []
    for n in range(requests):
        whose = ("all", "mine", "unassigned")[n % 3]
        began = time.perf_counter()
        response = await agent.client.get(
            f"/inbox/queue?whose={whose}&status=open", headers={"HX-Request": "true"}
        )
        timings.append((time.perf_counter() - began) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"queue page answered {response.status_code}")
    await agent.client.aclose()
    return {"queue_page_p50_ms": percentile(timings, 0.5), "queue_page_p99_ms": percentile(timings, 0.99)}


async def run_topology(url: str, production: bool, args: Any) -> dict[str, float]:
    seed_value = secrets.randbelow(1_000_000)
    await migrate.upgrade_async(url)
    configs, agents, store_ids = await seed(url, args.stores, args.agents, seed_value)
    simulator = Simulator(seed=seed_value, push_concurrency=64)
    async with simulator.serving() as sim_url:
        apps = 2 if production else 1
        ports = [free_port() for _ in range(apps)]
        app_urls = [f"http://127.0.0.1:{p}" for p in ports]
        for n, config in enumerate(configs):
            key = config.push_url
            config.push_url = f"{app_urls[n % apps]}/webhooks/channels/{key}"
            simulator.add_store(config)
        common = {
            "DESK_CHANNELS_API_BASE": sim_url,
            "DESK_WECOM_API_BASE": sim_url,
            "DESK_WORKER_POLL_S": "0.5",
            "DESK_DB_POOL_SIZE": "20",
            # Every agent signs in from 127.0.0.1 at once: more sign-ins in flight than the
            # per-address allowance (30) would be throttled as if they were a password spray.
            "DESK_LOGIN_ADDRESS_FREE_FAILURES": "100000",
        }
        with ExitStack() as stack:
            env = _common.desk_env(url, SECRET_KEY, **common)
            if not production:
                env.pop("DESK_REDIS_URL", None)
            for n, port in enumerate(ports):
                app_env = dict(env, DESK_WORKER="off" if production else "embedded")
                cmd = [sys.executable, "-m", "desk", "serve", "--port", str(port), "--no-access-log"]
                stack.enter_context(process(cmd, app_env, port, f"desk serve #{n + 1}"))
            if production:
                stack.enter_context(
                    process(
                        [sys.executable, "-m", "desk", "worker", "--loops", "2", "--no-reconcile"],
                        env,
                        None,
                        "desk worker",
                    )
                )
            shape = "+ 1 worker" if production else "(worker embedded)"
            log(f"  {apps} app process(es) {shape}, simulator at {sim_url}")
            figures = await measure(url, app_urls, simulator, configs, agents, args)
            log(f"  seeding {args.conversations:,} open conversations for the queue page …")
            await seed_open_conversations(url, store_ids, args.conversations)
            queue_agent = Agent(agents[0].user_id, agents[0].username, app_urls[0])
            figures |= await measure_queue(app_urls[0], queue_agent)
    return figures


def report(name: str, figures: dict[str, float]) -> None:
    f = figures
    log(
        f"  {name}: {f['messages']:,.0f} buyer messages; push → agent p50 {f['push_to_agent_p50_ms']:.1f} ms,"
        f" p99 {f['push_to_agent_p99_ms']:.1f} ms (target ≤ 250; {f['push_to_agent_measured']:,.0f}"
        f" measured, {f['push_to_agent_missing']:,.0f} missing)"
    )
    log(
        f"  {name}: reply → platform p50 {figures['reply_to_platform_p50_ms']:.1f} ms, p99"
        f" {figures['reply_to_platform_p99_ms']:.1f} ms (target ≤ 300; {figures['replies']:,.0f} replies)"
    )
    log(
        f"  {name}: queue page p50 {f['queue_page_p50_ms']:.1f} ms, p99 {f['queue_page_p99_ms']:.1f} ms"
        " (target ≤ 50)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of the message load")
    parser.add_argument("--rate", type=float, default=200.0, help="buyer messages per second")
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--stores", type=int, default=10)
    parser.add_argument(
        "--conversations", type=int, default=100_000, help="open conversations for the queue page"
    )
    parser.add_argument("--skip-embedded", action="store_true")
    args = parser.parse_args()

    result: dict[str, Any] = {"bench": "realtime", "rate_per_s": args.rate, "agents": args.agents}
    base = server_url()
    url = asyncio.run(create_database(base))
    log("production topology: PostgreSQL + Redis, 2 × desk serve + desk worker")
    try:
        production = asyncio.run(run_topology(url, True, args))
    finally:
        asyncio.run(drop_database(url))
    report("production", production)
    result |= {k: round(v, 2) for k, v in production.items()}
    if not args.skip_embedded:
        log("embedded topology: SQLite, one desk serve with its worker")
        with tempfile.TemporaryDirectory(prefix="desk-bench-") as folder:
            sqlite = f"sqlite+aiosqlite:///{folder}/bench.db"
            embedded = asyncio.run(run_topology(sqlite, False, args))
        report("embedded", embedded)
        result |= {f"embedded_{k}": round(v, 2) for k, v in embedded.items()}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
