"""Access tokens shared through the database: one fetch per lifetime for every process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn

from desk.platform.errors import PlatformUnavailableError
from desk.runtime import Runtime
from desk.settings import Settings
from desk.simulator import Simulator, demo_store
from desk.stores.models import PlatformToken
from desk.stores.tokens import SqlTokenStore
from tests.platform.conftest import FakeClock
from tests.platform.test_tokens import FakeTokenEndpoint, refresher

KEY = "channels:wx1:abc"


def process_store(runtime: Runtime, clock: FakeClock, **options: float) -> SqlTokenStore:
    """The token store of one more "process": its own memory and in-process locks, the same database."""
    return SqlTokenStore(runtime.db, runtime.secrets, clock=clock, **options)


async def shared_row(runtime: Runtime) -> sa.Row:
    async with runtime.db.engine.connect() as conn:
        return (await conn.execute(sa.select(PlatformToken.__table__))).one()


async def test_processes_fetch_one_token_and_share_it(runtime: Runtime) -> None:
    clock = FakeClock()
    endpoint = FakeTokenEndpoint(delay=0.05)
    stores = [process_store(runtime, clock) for _ in range(3)]
    got = await asyncio.gather(*(refresher(stores[i % 3], endpoint, clock).get() for i in range(60)))
    assert set(got) == {"token-1"}
    assert endpoint.calls == [None]
    row = await shared_row(runtime)
    assert "token-1" not in row.token_enc  # encrypted at rest like the other credentials
    assert runtime.secrets.decrypt(row.token_enc) == "token-1"
    assert row.lock_owner is None


async def test_the_next_token_is_fetched_once_when_it_is_due(runtime: Runtime) -> None:
    clock = FakeClock()
    endpoint = FakeTokenEndpoint(expires_in=7200)
    first, second = process_store(runtime, clock), process_store(runtime, clock)
    assert await refresher(first, endpoint, clock).get() == "token-1"
    clock.advance(3600)
    assert await refresher(second, endpoint, clock).get() == "token-1"  # from the database
    clock.advance(7200 - 3600 - 200)  # inside the refresh margin
    assert await refresher(first, endpoint, clock).get() == "token-2"
    assert await refresher(second, endpoint, clock).get() == "token-2"
    assert endpoint.calls == [None, None]


async def test_a_token_refused_in_one_process_is_replaced_once_for_all(runtime: Runtime) -> None:
    clock = FakeClock()
    endpoint = FakeTokenEndpoint()
    first, second = process_store(runtime, clock), process_store(runtime, clock)
    assert await refresher(first, endpoint, clock).get() == "token-1"
    assert await refresher(second, endpoint, clock).get() == "token-1"
    assert await refresher(first, endpoint, clock).force_refresh("token-1") == "token-2"
    # The second process still holds token-1 in memory; refused, it finds token-2 in the database.
    assert await refresher(second, endpoint, clock).force_refresh("token-1") == "token-2"
    assert endpoint.calls == [None, "token-1"]


async def test_a_lease_left_by_a_dead_process_is_taken_over_once_it_runs_out(runtime: Runtime) -> None:
    clock = FakeClock()
    async with runtime.db.engine.begin() as conn:
        await conn.execute(
            sa.insert(PlatformToken.__table__).values(
                key=KEY, expires_at=0.0, refresh_at=0.0, lock_owner="dead:1", lock_until=clock() - 1
            )
        )
    assert (
        await refresher(process_store(runtime, clock), FakeTokenEndpoint(), clock, key=KEY).get() == "token-1"
    )


async def test_waiting_too_long_for_another_process_is_unavailable(runtime: Runtime) -> None:
    clock = FakeClock()
    async with runtime.db.engine.begin() as conn:
        await conn.execute(
            sa.insert(PlatformToken.__table__).values(
                key=KEY, expires_at=0.0, refresh_at=0.0, lock_owner="busy:1", lock_until=clock() + 30
            )
        )
    endpoint = FakeTokenEndpoint()
    store = process_store(runtime, clock, lock_wait=0.2)
    with pytest.raises(PlatformUnavailableError):
        await refresher(store, endpoint, clock, key=KEY).get()
    assert endpoint.calls == []


async def test_a_token_sealed_with_another_secret_key_is_fetched_again(runtime: Runtime) -> None:
    clock = FakeClock()
    async with runtime.db.engine.begin() as conn:
        await conn.execute(
            sa.insert(PlatformToken.__table__).values(
                key=KEY,
                token_enc="not-readable",
                expires_at=clock() + 7000,
                refresh_at=clock() + 6000,
                lock_until=0.0,
            )
        )
    endpoint = FakeTokenEndpoint()
    assert await refresher(process_store(runtime, clock), endpoint, clock, key=KEY).get() == "token-1"
    assert endpoint.calls == [None]


# -- desk serve beside desk worker ------------------------------------------------------------

TOKEN_TTL = 3.0
"""Simulated token lifetime: several pass within the test. The platform's 5-minute hand-over
scales to half of it, and desk refreshes a quarter of a lifetime before expiry (inside it)."""
RUN_FOR = 10.0


class CountingApp:
    """The simulator's app behind a second port, counting the requests that come in through it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.requests += 1
        await self.app(scope, receive, send)


@asynccontextmanager
async def second_port(sim: Simulator) -> AsyncIterator[tuple[str, CountingApp]]:
    counting = CountingApp(sim.app)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(counting, lifespan="off", log_config=None, log_level="warning"))
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign] - the test keeps its signals
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", counting
    finally:
        server.should_exit = True
        await task
        sock.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def start(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-X",
        "faulthandler",  # a process that hangs can be made to say where
        "-m",
        "desk",
        *args,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def stop(proc: asyncio.subprocess.Process) -> str:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
    communicating = asyncio.ensure_future(proc.communicate())
    try:
        _, err = await asyncio.wait_for(asyncio.shield(communicating), timeout=60)
    except TimeoutError:
        proc.send_signal(signal.SIGABRT)  # -X faulthandler prints where every thread was
        _, err = await communicating
        raise AssertionError(f"a desk process did not stop on SIGTERM:\n{err.decode()}") from None
    return err.decode()


async def test_serve_and_worker_processes_fetch_one_token_per_lifetime_per_store(
    settings: Settings, make_store: Any
) -> None:
    if settings.is_sqlite:
        # A separate `desk worker` is the PostgreSQL footprint's (README). On one SQLite file, two
        # processes each running every background writer (events, commands, rules, rollups) turn
        # SQLite's deferred transactions into "database is locked" answers and 503s to pushes;
        # the embedded footprint runs its worker inside `desk serve` instead.
        pytest.skip("a separate desk worker beside desk serve is the PostgreSQL footprint")
    seed = secrets.randbelow(1_000_000)  # fresh appids: no token cached by another test applies
    sim = Simulator(seed=seed, time_scale=0.001, token_ttl=TOKEN_TTL, token_overlap=TOKEN_TTL / 2)
    port = free_port()
    appids = []
    for n in (1, 2):
        key = secrets.token_hex(8)
        config = sim.add_store(
            demo_store(n, seed=seed, push_url=f"http://127.0.0.1:{port}/webhooks/channels/{key}")
        )
        await make_store(
            config.name,
            key=key,
            appid=config.appid,
            appsecret=config.secret,
            token=config.token,
            aes_key=config.aes_key,
        )
        appids.append(config.appid)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env.update(
        DESK_DATABASE_URL=settings.database_url,
        DESK_SECRET_KEY=settings.secret_key,
        DESK_LOG_LEVEL="WARNING",
        DESK_RECONCILE_INTERVAL_S="1",
        DESK_WORKER_POLL_S="0.05",
        DESK_WORKER_BATCH="4",
    )
    if settings.redis_url:
        env["DESK_REDIS_URL"] = settings.redis_url
    async with sim.serving() as serve_api, second_port(sim) as (worker_api, worker_door):
        # The web process runs its embedded worker and reconciler (DESK_WORKER's default) beside a
        # separate `desk worker`: two processes that both need every store's token. The worker
        # leaves reconciling to the web process, so that both are sure to call the platform.
        web = await start(
            "serve",
            "--port",
            str(port),
            "--no-access-log",
            env={**env, "DESK_CHANNELS_API_BASE": serve_api, "DESK_WECOM_API_BASE": serve_api},
        )
        worker = await start(
            "worker",
            "--loops",
            "2",
            "--no-reconcile",
            env={**env, "DESK_CHANNELS_API_BASE": worker_api, "DESK_WECOM_API_BASE": worker_api},
        )
        try:
            async with httpx.AsyncClient() as http:
                for _ in range(300):
                    with contextlib.suppress(httpx.HTTPError):
                        if (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                            break
                    await asyncio.sleep(0.05)
                else:
                    raise AssertionError("desk serve did not start")
            started = time.monotonic()
            while time.monotonic() - started < RUN_FOR:
                for appid in appids:
                    for _ in range(3):
                        sim.create_order(appid)
                await asyncio.sleep(0.25)
            elapsed = time.monotonic() - started
        finally:
            logs = dict(zip(("serve", "worker"), await asyncio.gather(stop(web), stop(worker)), strict=True))
    for name, log in logs.items():
        assert "Traceback" not in log, f"desk {name}:\n{log}"
    total_requests = sim.api.calls
    assert worker_door.requests > 20, "desk worker made no platform calls"
    assert total_requests - worker_door.requests > 20, "desk serve made no platform calls"
    # A token is due a quarter of its life before it expires: one fetch per 3/4 lifetime per
    # store, plus the first. Processes each fetching their own would need twice as many.
    allowed = 1 + int(elapsed / (TOKEN_TTL * 3 / 4)) + 1
    for appid in appids:
        fetched = sim.tokens.calls["stable_token", appid]
        assert 3 <= fetched <= allowed, (appid, fetched, allowed)
    assert sum(n for (endpoint, _), n in sim.tokens.calls.items() if endpoint == "token") == 0
