"""A store whose credentials the platform refuses: recorded once, shown, cleared once they work."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa

from desk.ingest.reconcile import Reconciler
from desk.platform.errors import CredentialError
from desk.runtime import Runtime
from desk.simulator import Simulator
from desk.stores.clients import PlatformClients
from desk.stores.models import Store
from tests.conftest import on_platform


@pytest.fixture
async def clients(runtime: Runtime) -> AsyncIterator[PlatformClients]:
    platform_clients = PlatformClients(runtime)
    yield platform_clients
    await platform_clients.aclose()


async def reread(runtime: Runtime, store: Store) -> Store:
    async with runtime.db.session() as session:
        return await session.get_one(Store, store.id)


def lines(caplog: pytest.LogCaptureFixture, logger: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == logger]


async def test_refused_credentials_are_logged_once_and_cleared_once_they_work(
    runtime: Runtime,
    clients: PlatformClients,
    make_store: Any,
    wechat: Simulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    appid = f"wxhealth{secrets.token_hex(5)}"
    on_platform(wechat, appid=appid, secret="the-secret")
    store = await make_store("旗舰店", appid=appid, appsecret="a-mistyped-secret")
    order = wechat.create_order(appid)
    caplog.set_level(logging.INFO, logger="desk.stores.health")

    for _ in range(3):  # the worker retrying, the reconciler coming round again…
        with pytest.raises(CredentialError):
            await (await clients.channels(store.id)).get_order(order.order_id)
    saved = await reread(runtime, store)
    assert saved.connection_problem is not None
    assert saved.connection_problem.key == "stores.check.invalid_secret"
    assert saved.connection_problem.params["errcode"] == 40125
    first_failure = saved.connection_error_at
    assert [r.levelname for r in lines(caplog, "desk.stores.health")] == ["WARNING"]
    assert "旗舰店" in caplog.text
    assert "platform calls fail: The platform refused the secret (errcode 40125)" in caplog.text

    # An admin fixes the secret (in another process: nothing tells this one). The refused client
    # was dropped, so the next call reads the credentials again and works.
    async with runtime.db.engine.begin() as conn:
        await conn.execute(
            sa.update(Store)
            .where(Store.id == store.id)
            .values(appsecret_enc=runtime.secrets.encrypt("the-secret"))
        )
    assert (await (await clients.channels(store.id)).get_order(order.order_id)).order_id == order.order_id
    recovered = await reread(runtime, store)
    assert (recovered.connection_error, recovered.connection_error_at) == (None, None)
    assert [r.levelname for r in lines(caplog, "desk.stores.health")] == ["WARNING", "INFO"]
    assert first_failure is not None


async def test_reconciling_a_store_with_refused_credentials_logs_no_traceback(
    runtime: Runtime,
    clients: PlatformClients,
    make_store: Any,
    wechat: Simulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    appid = f"wxhealth{secrets.token_hex(5)}"
    on_platform(wechat, appid=appid, secret="the-secret")
    await make_store("旗舰店", appid=appid, appsecret="a-mistyped-secret")
    reconciler = Reconciler(runtime.db, runtime.settings, clients)
    caplog.set_level(logging.DEBUG)
    for _ in range(3):  # three rounds (every 2 minutes in the demo)
        assert await reconciler.run_once() == []
    assert not [r for r in caplog.records if r.exc_info]
    noticed = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(noticed) == 1
    assert noticed[0].name == "desk.stores.health"
