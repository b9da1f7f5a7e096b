"""``desk stores sync`` and ``desk worker``, run as an operator runs them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from desk.cli import main
from desk.ingest.cli import parse_since
from desk.ingest.models import EventState, PlatformEvent
from desk.settings import Settings
from tests.ingest.conftest import (
    Platform,
    channels_push,
    commkf_event,
    count_by_state,
    events,
    order_event,
    store_crypt,
)
from tests.ingest.test_handlers import assert_matches_truth
from tests.ingest.test_reconcile import order_statuses


def desk_env(settings: Settings, platform: Platform) -> dict[str, str]:
    """What an operator exports to point ``desk`` at the test database and the simulator."""
    env = {
        "DESK_DATABASE_URL": settings.database_url,
        "DESK_SECRET_KEY": settings.secret_key,
        "DESK_CHANNELS_API_BASE": platform.runtime.settings.channels_api_base,
        "DESK_WECOM_API_BASE": platform.runtime.settings.wecom_api_base,
    }
    if settings.redis_url:
        env["DESK_REDIS_URL"] = settings.redis_url
    return env


async def run_cli(env: dict[str, str], *args: str) -> Result:
    # In a thread: the command runs its own event loop while this one keeps serving the simulator.
    return await asyncio.to_thread(CliRunner().invoke, main, list(args), env=env)


# -- desk stores sync ---------------------------------------------------------------------------


def test_since_accepts_days_hours_minutes() -> None:
    assert parse_since("2d").total_seconds() == 2 * 86400
    assert parse_since("12h").total_seconds() == 12 * 3600
    assert parse_since(" 30m ").total_seconds() == 30 * 60
    for bad in ("", "2", "d", "0d", "2w", "-1d", "1.5h"):
        with pytest.raises(ValueError, match="2d, 12h or 30m"):
            parse_since(bad)


async def test_sync_imports_a_store_history(runtime, settings, platform: Platform) -> None:
    sim, appid, store = platform.sim, platform.appids[1], platform.stores[1]
    sim.drop_next_pushes(10_000)  # history the desk never heard of
    for _ in range(12):
        order = sim.create_order(appid)
        sim.ship_order(appid, order.order_id)
    sim.open_aftersale(appid, order.order_id, type="RETURN", reason="QUALITY_ISSUE")
    await sim.drain()

    result = await run_cli(desk_env(settings, platform), "stores", "sync", store.appid, "--since", "2d")

    assert result.exit_code == 0, result.output
    assert "orders: 12 imported, 0 failed" in result.output
    assert "aftersales: 1 imported, 0 failed" in result.output
    truth = sim.ground_truth().stores[appid]
    assert await order_statuses(runtime, store) == {k: v.status for k, v in truth.orders.items()}
    assert await order_statuses(runtime, platform.stores[0]) == {}


async def test_sync_refuses_bad_input_in_one_line(settings, platform: Platform) -> None:
    env = desk_env(settings, platform)
    result = await run_cli(env, "stores", "sync", platform.stores[0].key, "--since", "yesterday")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "Error: --since must be a number of days, hours or minutes such as 2d, 12h or 30m, not 'yesterday'"
    ]
    result = await run_cli(env, "stores", "sync", "no-such-store")
    assert result.exit_code == 2
    assert result.output.strip() == "Error: no store with key, appid or name 'no-such-store'"


# -- desk worker: kill -9 in the middle of a burst ------------------------------------------------


@contextlib.asynccontextmanager
async def worker_process(env: dict[str, str], log: Path):
    """``desk worker`` as a real process (2 claim loops, short lease so a kill is noticed fast)."""
    tuned = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DESK_")},
        **env,
        "DESK_WORKER_LOOPS": "2",
        "DESK_WORKER_LEASE_S": "2",
        "DESK_WORKER_POLL_S": "0.05",
        "DESK_WORKER_BACKOFF_BASE_S": "0.05",
        "DESK_WORKER_BATCH": "100",
        "DESK_LOG_LEVEL": "WARNING",
    }
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from desk.cli import main; main()",
            "worker",
            "--no-reconcile",
            env=tuned,
            stdout=out,
            stderr=out,
        )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def wait_until(predicate, within: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


ORDER_EVENTS = (
    "channels_ec_order_new",
    "channels_ec_order_pay",
    "channels_ec_order_wait_shipping",
    "product_order_status_update",
)


def burst_pushes(runtime, platform: Platform, orders_per_store: int) -> list[tuple[str, str, bytes]]:
    """A live-stream burst on both stores: (store key, query, body) of every push it causes.

    The simulator records the orders and messages (its ground truth) with its own pushes turned
    off; the pushes are built here exactly as it builds them and posted in-process, which is ten
    times faster than over HTTP — the subject of this test is the worker, not the transport.
    """
    sim = platform.sim
    sim.drop_next_pushes(10**9)
    pushes = []
    for store, appid in zip(platform.stores, platform.appids, strict=True):
        crypt = store_crypt(runtime, store)
        for n in range(orders_per_store):
            order = sim.create_order(appid)
            for event in ORDER_EVENTS:
                payload = order_event(order.order_id, event, create_time=order.create_time)
                if event == "product_order_status_update":
                    payload["ProductOrderStatusUpdate"] = {"order_id": order.order_id, "status": 20}
                pushes.append((store.key, *channels_push(crypt, payload)))
            if n % 4 == 0:
                text = f"第{n}单什么时候发货"
                msg_id = sim.buyer_says(appid, order.openid, text)
                message = commkf_event(order.openid, msg_id, text, create_time=order.create_time)
                pushes.append((store.key, *channels_push(crypt, message)))
    # The platform does not keep order either: shuffle within each stretch of 40 pushes.
    shuffler = random.Random(3)
    for start in range(0, len(pushes), 40):
        stretch = pushes[start : start + 40]
        shuffler.shuffle(stretch)
        pushes[start : start + 40] = stretch
    return pushes


async def test_worker_killed_mid_burst_applies_every_event_exactly_once(
    client, runtime, settings, platform: Platform, tmp_path: Path
) -> None:
    pushes = burst_pushes(runtime, platform, orders_per_store=600)
    assert len(pushes) >= 5_000
    env = desk_env(settings, platform)
    log = tmp_path / "worker.log"
    calls = asyncio.Semaphore(64)

    async def push(key: str, query: str, body: bytes) -> None:
        async with calls:
            r = await client.post(f"/webhooks/channels/{key}?{query}", content=body)
            assert r.text == "success"

    async with worker_process(env, log) as first:
        await asyncio.gather(*(push(*p) for p in pushes[:2_500]))
        # Kill it without warning while it is busy with claimed batches.
        await wait_until(lambda: _done_at_least(runtime, 300), 60, "the first worker to apply some events")
        first.send_signal(signal.SIGKILL)
        await first.wait()
    at_kill = await count_by_state(runtime)
    assert at_kill.get(EventState.PENDING, 0) + at_kill.get(EventState.PROCESSING, 0) > 0

    await asyncio.gather(*(push(*p) for p in pushes[2_500:]))  # the rest arrives meanwhile
    await asyncio.gather(*(push(*p) for p in pushes[:500]))  # and the platform retries some
    assert sum((await count_by_state(runtime)).values()) == len(pushes)

    async with worker_process(env, log) as second:
        await wait_until(lambda: _done_at_least(runtime, len(pushes)), 120, "every event to be applied")
        second.send_signal(signal.SIGTERM)  # a graceful stop
        assert await asyncio.wait_for(second.wait(), 30) == 0, log.read_text()

    assert await count_by_state(runtime) == {EventState.DONE: len(pushes)}
    assert all(e.applied_at is not None for e in await events(runtime))
    await assert_matches_truth(runtime, platform, platform.sim.ground_truth())
    async with runtime.db.engine.connect() as conn:
        reclaimed = await conn.scalar(
            sa.select(sa.func.count()).select_from(PlatformEvent).where(PlatformEvent.attempts > 1)
        )
    # Events the killed worker held were claimed again by the second one (and applied once).
    assert reclaimed > 0


async def _done_at_least(runtime, n: int) -> bool:
    return (await count_by_state(runtime)).get(EventState.DONE, 0) >= n
