"""Fixtures of the accounts tests: a clock that moves when told, and back-off counters on every
backend the footprint has (the database always; Redis when ``DESK_REDIS_URL`` is set)."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator

import pytest

from desk.accounts.backoff import BackoffCounters
from desk.accounts.backoff_redis import RedisBackoffCounters
from desk.accounts.backoff_sql import SqlBackoffCounters
from desk.runtime import Runtime

# The database backend always; Redis on the footprint that has it.
BACKENDS = ["sql", "redis"] if os.environ.get("DESK_REDIS_URL") else ["sql"]


class FakeClock:
    """Unix seconds that move only when a test says so."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=BACKENDS)
async def counters(request: pytest.FixtureRequest, runtime: Runtime) -> AsyncIterator[BackoffCounters]:
    """Back-off counters on one backend; the Redis ones under a namespace of the test's own."""
    if request.param == "sql":
        yield SqlBackoffCounters(runtime.db)
        return
    assert runtime.redis is not None
    namespace = f"desk-test:{secrets.token_hex(6)}"
    yield RedisBackoffCounters(runtime.redis, namespace=namespace)
    keys = [key async for key in runtime.redis.scan_iter(match=f"{namespace}:*")]
    if keys:
        await runtime.redis.delete(*keys)
