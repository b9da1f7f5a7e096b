"""Fixtures for the simulator's tests: a served simulator, a push receiver, a plain HTTP client.

Everything goes over real HTTP on loopback: the simulator and the receiver each run a uvicorn
server inside the test's event loop.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from desk.simulator import ManualClock, SimCorp, SimStore, Simulator, demo_corp, demo_store
from tests.simulator.support import (
    Channels,
    PushReceiver,
    QuietServer,
    WeCom,
    channels_token,
    wecom_token,
)


@pytest.fixture(scope="session")
async def receiver_server() -> AsyncIterator[tuple[PushReceiver, str]]:
    """One push receiver for the whole run (a server per test would double their time)."""
    app = PushReceiver()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    server = QuietServer(uvicorn.Config(app, log_config=None, log_level="warning", ws="none"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.01)
    yield app, f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    await task
    sock.close()


@pytest.fixture
def receiver(receiver_server: tuple[PushReceiver, str]) -> tuple[PushReceiver, str]:
    """The push receiver, emptied and answering ``success`` again, and its base URL."""
    app, url = receiver_server
    app.reset()
    return app, url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=float(int(time.time())))


@pytest.fixture
def store(receiver: tuple[PushReceiver, str]) -> SimStore:
    _, url = receiver
    made = demo_store(1)
    made.push_url = f"{url}/webhooks/channels/{made.appid}"
    return made


@pytest.fixture
def corp(receiver: tuple[PushReceiver, str]) -> SimCorp:
    _, url = receiver
    made = demo_corp(1)
    made.push_url = f"{url}/webhooks/wecom/{made.corpid}"
    return made


@pytest.fixture
def sim(clock: ManualClock, store: SimStore, corp: SimCorp) -> Simulator:
    """A simulator with one store and one corp pushing to the receiver; reactions 1000× faster."""
    simulator = Simulator(seed=7, time_scale=0.001, clock=clock, push_timeout=2.0)
    simulator.add_store(store)
    simulator.add_corp(corp)
    return simulator


@pytest.fixture
async def api(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client on the served simulator."""
    async with sim.serving() as base_url, httpx.AsyncClient(base_url=base_url, timeout=10.0) as client:
        yield client


@pytest.fixture
async def channels(api: httpx.AsyncClient, store: SimStore) -> Channels:
    return Channels(api, await channels_token(api, store))


@pytest.fixture
async def wecom(api: httpx.AsyncClient, corp: SimCorp) -> WeCom:
    return WeCom(api, await wecom_token(api, corp))
