"""Fixtures of the platform tests: a token store on each footprint, a fake clock, a Redis prefix.

The Redis store is exercised when ``DESK_REDIS_URL`` is set (the PostgreSQL + Redis footprint);
its keys live under a prefix unique to the test, and only those keys are deleted afterwards.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from redis.asyncio import Redis

from desk.platform.tokens import MemoryTokenStore, RedisTokenStore, TokenStore

REDIS_URL = os.environ.get("DESK_REDIS_URL", "")
STORE_KINDS = ["memory", "redis"] if REDIS_URL else ["memory"]


class FakeClock:
    """Epoch seconds that move only when a test says so."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def platform_redis() -> AsyncIterator[Redis]:
    """A Redis client on the footprint's database (only with ``DESK_REDIS_URL``)."""
    if not REDIS_URL:
        pytest.fail("this test needs DESK_REDIS_URL")
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@asynccontextmanager
async def own_prefix(redis: Redis) -> AsyncIterator[str]:
    """A key prefix of the caller's own; its keys are deleted afterwards (nothing else is)."""
    prefix = f"desk-test:{secrets.token_hex(6)}:"
    try:
        yield prefix
    finally:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis.delete(*keys)


@pytest.fixture
async def redis_prefix(platform_redis: Redis) -> AsyncIterator[str]:
    async with own_prefix(platform_redis) as prefix:
        yield prefix


@pytest.fixture(params=STORE_KINDS)
async def token_store(request: pytest.FixtureRequest) -> AsyncIterator[TokenStore]:
    """Each token store this footprint has: memory always, Redis with ``DESK_REDIS_URL``."""
    if request.param == "memory":
        yield MemoryTokenStore()
        return
    client = Redis.from_url(REDIS_URL)
    try:
        async with own_prefix(client) as prefix:
            yield RedisTokenStore(client, prefix=prefix)
    finally:
        await client.aclose()
