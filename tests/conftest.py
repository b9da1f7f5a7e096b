"""Fixtures shared by every test: a migrated database on the footprint CI asks for.

By default tests run on a fresh SQLite file with in-memory stores. With ``DESK_DATABASE_URL``
pointing at PostgreSQL (and ``DESK_REDIS_URL`` at Redis) the same tests run there: a throwaway
database is created for the run and dropped after it. The schema is always built by running the
migrations, so they are tested too.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import msgspec
import pytest
import sqlalchemy as sa
from litestar import Litestar
from sqlalchemy.engine import make_url

from desk import migrate
from desk.accounts.auth import SESSION_EPOCH_KEY, SESSION_USER_KEY
from desk.accounts.models import Role, User
from desk.accounts.passwords import hash_password
from desk.app import SESSION_COOKIE, create_app, metadata
from desk.runtime import Runtime
from desk.settings import Settings
from desk.simulator import SimCorp, SimStore, Simulator
from desk.stores.models import Store

TEST_PASSWORD = "correct horse battery staple"
# A valid EncodingAESKey (43 characters of base64 of 32 bytes) for test stores.
TEST_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def _pg_admin_dsn(url: str) -> tuple[str, str]:
    parsed = make_url(url)
    dsn = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    return dsn, parsed.database or "desk"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty database for this test run."""
    configured = os.environ.get("DESK_DATABASE_URL", "")
    if not configured.startswith("postgresql"):  # the embedded default
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'desk.db'}"
        migrate.upgrade(url)
        yield url
        return
    admin_dsn, base_name = _pg_admin_dsn(configured)
    name = f"{base_name}_test_{secrets.token_hex(4)}"

    async def create() -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    async def drop() -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(create())
    url = make_url(configured).set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        asyncio.run(drop())


@pytest.fixture(scope="session")
async def wechat() -> AsyncIterator[Simulator]:
    """The WeChat platform the run's desk calls (simulated): saving a store tests its credentials
    here. It knows no store until a test says so (:func:`on_platform`)."""
    simulator = Simulator(seed=secrets.randbelow(1_000_000), time_scale=0)
    async with simulator.serving():
        yield simulator


@pytest.fixture(scope="session")
def settings(database_url: str, wechat: Simulator) -> Settings:
    """Settings for tests: the run's database, Redis if CI gives one, no embedded worker, the
    simulated platform instead of WeChat's API, and no default rules (a test that wants rules
    installs them, so that no welcome reply or tag appears where a test does not expect it)."""
    assert wechat.base_url is not None
    return Settings(
        database_url=database_url,
        redis_url=os.environ.get("DESK_REDIS_URL") or None,
        secret_key="test-secret-key-" + "x" * 32,
        worker="off",
        rules_load_defaults=False,
        channels_api_base=wechat.base_url,
        wecom_api_base=wechat.base_url,
    )


def on_platform(sim: Simulator, *, appid: str = "", corpid: str = "", secret: str) -> None:
    """Make the simulated platform accept ``appid`` (a store) or ``corpid`` (a WeCom corp) with
    ``secret``, as if it existed on WeChat with that secret."""
    if appid:
        if appid in sim.world.stores:
            sim.world.stores[appid].config.secret = secret
        else:
            sim.add_store(SimStore(appid=appid, secret=secret, token="pushtoken", aes_key=TEST_AES_KEY))
    if corpid:
        if corpid in sim.world.corps:
            sim.world.corps[corpid].config.secret = secret
        else:
            sim.add_corp(SimCorp(corpid=corpid, secret=secret, token="pushtoken", aes_key=TEST_AES_KEY))


@pytest.fixture(scope="session")
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """The process-wide services over the test database (background services not started)."""
    rt = Runtime(settings)
    await rt.check_database()
    if rt.redis is not None:
        await rt.redis.flushdb()
    await rt.start_core()
    yield rt
    await rt.stop()


@pytest.fixture(autouse=True)
async def _clean_state(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Empty every table and key-value store after each test that touched them."""
    yield
    if "runtime" not in request.fixturenames:
        return
    rt: Runtime = request.getfixturevalue("runtime")
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    async with rt.db.engine.begin() as conn:
        # DELETE, not TRUNCATE: a test leaves a few rows, and PostgreSQL's TRUNCATE of every table
        # (new files for each) took 100–600 ms per test, minutes of the suite.
        for table in tables:
            await conn.execute(sa.text(f'DELETE FROM "{table}"'))
        if not rt.db.is_sqlite:  # ids start at 1 again, as they do in an emptied SQLite table
            await conn.execute(
                sa.text("SELECT setval(c.oid, 1, false) FROM pg_class c WHERE c.relkind = 'S'")
            )
    for store in rt._kv.values():
        await store.delete_all()
    rt.changes.reset()
    if rt.redis is not None:
        # Every desk key, including those other runtimes wrote (an e2e server's caches, keyed by
        # store ids that start at 1 again in the next test) and the login throttle's counters.
        keys = [key async for key in rt.redis.scan_iter(match="desk:*")]
        if keys:
            await rt.redis.delete(*keys)


@pytest.fixture
def app(runtime: Runtime) -> Litestar:
    return create_app(runtime=runtime)


@pytest.fixture
def make_app(runtime: Runtime) -> Any:
    """An app over the test runtime with some settings changed: ``make_app(trusted_proxies="…")``."""

    def factory(**changes: Any) -> Litestar:
        return create_app(runtime.settings.with_changes(**changes), runtime=runtime)

    return factory


def client_for(
    app: Litestar, peer: str = "127.0.0.1", base_url: str = "http://testserver"
) -> httpx.AsyncClient:
    """A client calling ``app`` in-process from the address ``peer`` (run inside ``app_lifespan``)."""
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    return httpx.AsyncClient(transport=transport, base_url=base_url)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client calling the app in-process, on the test's own event loop.

    (Litestar's AsyncTestClient runs the app on a second loop, which an engine pool shared with
    the test cannot cross.)
    """
    async with (
        app_lifespan(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c,
    ):
        yield c


@asynccontextmanager
async def app_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Run the app's start-up and shutdown in one task of their own.

    pytest-asyncio sets fixtures up and tears them down in different tasks, and the anyio task
    group inside Litestar's lifespan must be entered and exited by the same task.
    """
    started, stop = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(hold())
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()  # start-up failed: raise its error here
    try:
        yield
    finally:
        stop.set()
        await task


# -- factories --------------------------------------------------------------------------------


@pytest.fixture
def make_store(runtime: Runtime) -> Any:
    """Create a store with encrypted test credentials: ``await make_store(name="…")``.

    ``box=SecretBox("other key")`` seals its secrets with another key, as a process configured with
    a different ``DESK_SECRET_KEY`` would have.
    """
    counter = iter(range(1, 10_000))

    async def factory(name: str | None = None, **fields: Any) -> Store:
        n = next(counter)
        box = fields.pop("box", runtime.secrets)
        values: dict[str, Any] = {
            "key": fields.pop("key", secrets.token_hex(8)),
            "name": name or f"测试店铺{n}",
            "appid": fields.pop("appid", f"wxtest{n:010d}"),
            "appsecret_enc": box.encrypt(fields.pop("appsecret", f"secret-{n}")),
            "token_enc": box.encrypt(fields.pop("token", f"token{n}")),
            "aes_key_enc": box.encrypt(fields.pop("aes_key", TEST_AES_KEY)),
            **fields,
        }
        async with runtime.db.session() as session:
            store = Store(**values)
            session.add(store)
        return store

    return factory


@pytest.fixture
def make_user(runtime: Runtime) -> Any:
    """Create a user: ``await make_user("alice", Role.AGENT, stores=[store])``."""

    async def factory(
        username: str,
        role: Role = Role.AGENT,
        stores: list[Store] | None = None,
        password: str = TEST_PASSWORD,
    ) -> User:
        async with runtime.db.session() as session:
            user = User(
                username=username,
                display_name=username,
                password_hash=await hash_password(password),
                role=role,
            )
            user.stores = [await session.get_one(Store, s.id) for s in stores or []]
            session.add(user)
        return user

    return factory


async def login(client: httpx.AsyncClient, app: Litestar, user: User) -> None:
    """Give ``client`` a logged-in session for ``user`` without going through the form."""
    session_id = secrets.token_hex(32)
    data = {SESSION_USER_KEY: user.id, SESSION_EPOCH_KEY: user.session_epoch}
    await app.state.runtime.kv("sessions").set(session_id, msgspec.json.encode(data))
    client.cookies.set(SESSION_COOKIE, session_id)


def csrf_headers(client: httpx.AsyncClient) -> dict[str, str]:
    """The header htmx sends with unsafe requests (fetch a page first to get the cookie)."""
    return {"x-csrftoken": client.cookies.get("desk_csrf", "")}
