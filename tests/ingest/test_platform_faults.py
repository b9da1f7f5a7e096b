"""The desk against a platform that fails on purpose (the simulator's fault controls, set over HTTP):
events wait, are retried and parked while nothing can be fetched, and nothing is lost once it recovers."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa

from desk.ingest.models import EventState, PlatformEvent
from desk.ingest.services import replay_parked
from desk.orders.models import Order
from tests.ingest.conftest import Platform, count_by_state, events
from tests.ingest.test_handlers import assert_matches_truth


async def set_faults(platform: Platform, **settings: Any) -> dict[str, Any]:
    """Change the platform's faults the way a person would from a script: its HTTP API."""
    assert platform.sim.base_url is not None
    async with httpx.AsyncClient(base_url=platform.sim.base_url) as api:
        reply = await api.post("/sim/api/faults", json=settings)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


async def test_failing_token_calls_park_events_until_the_platform_recovers(
    runtime, platform: Platform
) -> None:
    sim, appid = platform.sim, platform.appids[0]
    await set_faults(platform, token_calls_fail=True)
    sim.create_order(appid)
    sim.create_order(platform.appids[1])

    await platform.settle(platform.worker(worker_max_attempts=2))

    parked = await events(runtime, PlatformEvent.state == EventState.PARKED)
    assert parked  # every event that needs a fetch
    assert all(e.attempts == 2 for e in parked)
    assert all("errcode -1" in (e.last_error or "") for e in parked)
    async with runtime.db.engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(Order)) == 0
    status = await set_faults(platform, token_calls_fail=False)
    token_calls = sim.api.calls_by_path["token"] + sim.api.calls_by_path["stable_token"]
    assert status["injected"]["token"] == token_calls > 0  # every token call failed

    async with platform.runtime.db.session() as session:
        assert await replay_parked(session) == len(parked)
    await platform.settle()

    assert EventState.PARKED not in await count_by_state(runtime)
    await assert_matches_truth(runtime, platform, sim.ground_truth())
