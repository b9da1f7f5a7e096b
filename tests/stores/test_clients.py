"""Platform clients per store: built from the stored credentials, with the store's token API."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest

from desk.runtime import Runtime
from desk.settings import Settings
from desk.simulator import Simulator, demo_store
from desk.stores.clients import PlatformClients
from desk.stores.models import TokenApi


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    simulator = Simulator(seed=secrets.randbelow(1_000_000), time_scale=0)
    async with simulator.serving():
        yield simulator


@pytest.fixture
async def clients(sim: Simulator, settings: Settings) -> AsyncIterator[PlatformClients]:
    assert sim.base_url is not None
    runtime = Runtime(settings.with_changes(channels_api_base=sim.base_url, wecom_api_base=sim.base_url))
    platform_clients = PlatformClients(runtime)
    yield platform_clients
    await platform_clients.aclose()
    await runtime.stop()


@pytest.mark.parametrize(
    ("token_api", "endpoint"), [(TokenApi.STABLE, "stable_token"), (TokenApi.CLASSIC, "token")]
)
async def test_each_store_fetches_tokens_from_the_api_it_was_set_up_with(
    sim: Simulator, clients: PlatformClients, make_store: Any, token_api: TokenApi, endpoint: str
) -> None:
    config = sim.add_store(demo_store(1, seed=sim.seed))
    store = await make_store(appid=config.appid, appsecret=config.secret, token_api=token_api.value)
    order = sim.create_order(config.appid)
    client = await clients.channels(store.id)
    assert (await client.get_order(order.order_id)).order_id == order.order_id
    assert dict(sim.tokens.calls) == {(endpoint, config.appid): 1}
