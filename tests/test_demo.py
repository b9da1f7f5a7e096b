"""``desk demo``'s seed data and ``desk simulate`` driving a desk that runs elsewhere."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from typing import Any

import httpx
import sqlalchemy as sa
from litestar import Litestar

from desk.accounts.models import Role, User
from desk.demo import DEMO_QUICK_REPLIES, DEMO_STORES, DEMO_USERS, seed_demo
from desk.inbox.quick_replies import ReplySet, list_replies
from desk.ingest.models import PlatformEvent
from desk.runtime import Runtime
from desk.settings import Settings
from desk.stores.models import Store, WeComCorp
from tests.ingest.conftest import serve_app


async def test_demo_seed_creates_stores_corp_and_scoped_users_once(runtime: Runtime) -> None:
    assert await seed_demo(runtime) is True
    assert await seed_demo(runtime) is False  # a restarted demo keeps its data
    async with runtime.db.session() as session:
        stores = {s.id: s.name for s in await session.scalars(sa.select(Store))}
        users = {u.username: u for u in await session.scalars(sa.select(User))}
        corp = (await session.scalars(sa.select(WeComCorp))).one()
    assert sorted(stores.values()) == sorted(DEMO_STORES)
    assert corp.default_store_id in stores
    assert {u.username for u in DEMO_USERS} == users.keys()
    assert users["admin"].role is Role.ADMIN
    agent1 = {s.name for s in users["agent1"].stores}
    agent2 = {s.name for s in users["agent2"].stores}
    assert agent1
    assert agent2
    assert not agent1 & agent2  # the two agents work for different stores


async def test_demo_stores_come_with_shared_quick_replies_using_variables(runtime: Runtime) -> None:
    await seed_demo(runtime)
    async with runtime.db.session() as session:
        stores = list(await session.scalars(sa.select(Store)))
        sets = {s.name: await list_replies(session, ReplySet.shared(s.id)) for s in stores}
    for name, replies in sets.items():
        titles = {r.title for r in replies}
        assert {title for title, _ in DEMO_QUICK_REPLIES} | {"尺码建议"} == titles, name
    size_guides = {next(r.text for r in replies if r.title == "尺码建议") for replies in sets.values()}
    assert len(size_guides) == len(DEMO_STORES)  # each store its own
    assert any("{物流单号}" in r.text for r in sets[DEMO_STORES[0]])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env.update(
        DESK_DATABASE_URL=settings.database_url,
        DESK_SECRET_KEY=settings.secret_key,
    )
    return env


async def test_simulate_pushes_the_desks_stores_events_to_the_target(
    app: Litestar, runtime: Runtime, settings: Settings, make_store: Any
) -> None:
    store = await make_store("模拟店铺", appsecret="sim-secret-1")
    port = _free_port()
    async with serve_app(app) as desk_url:
        command = [sys.executable, "-m", "desk", "simulate", "--target", desk_url, "--port", str(port)]
        command += ["--scenario", "live-burst", "--duration", "20", "--orders-per-minute", "600", "--once"]
        proc = await asyncio.create_subprocess_exec(
            *command, env=_env(settings), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        try:
            stored = 0
            for _ in range(300):
                await asyncio.sleep(0.1)
                async with runtime.db.session() as session:
                    stored = await session.scalar(
                        sa.select(sa.func.count()).where(PlatformEvent.store_id == store.id)
                    )
                if stored:
                    break
            assert stored, "no push from `desk simulate` reached the desk"
            # The desk can call the simulator back with the store's own credentials.
            async with httpx.AsyncClient() as http:
                token = await http.get(
                    f"http://127.0.0.1:{port}/cgi-bin/token",
                    params={
                        "grant_type": "client_credential",
                        "appid": store.appid,
                        "secret": "sim-secret-1",
                    },
                )
            assert token.json()["access_token"]
        finally:
            proc.terminate()
            out, _ = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert f"DESK_CHANNELS_API_BASE=http://127.0.0.1:{port}" in out.decode()


def test_simulate_without_stores_says_what_to_do(settings: Settings) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "desk", "simulate", "--target", "http://127.0.0.1:9"],
        env=_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "no active stores: add one with `desk stores add` first" in result.stderr
