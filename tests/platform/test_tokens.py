"""The token refresher: cached, refreshed early, single-flight in a process and across processes."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from redis.asyncio import Redis

from desk.platform.errors import PlatformUnavailableError
from desk.platform.tokens import CachedToken, RedisTokenStore, TokenRefresher, TokenStore, token_key
from tests.platform.conftest import REDIS_URL, FakeClock


class FakeTokenEndpoint:
    """Issues ``token-1``, ``token-2``… and records the refused token each call was given."""

    def __init__(self, expires_in: int = 7200, delay: float = 0.0) -> None:
        self.expires_in = expires_in
        self.delay = delay
        self.calls: list[str | None] = []
        self._serial = itertools.count(1)
        self.fail_with: Exception | None = None

    async def __call__(self, refused: str | None) -> tuple[str, int]:
        self.calls.append(refused)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_with is not None:
            raise self.fail_with
        return f"token-{next(self._serial)}", self.expires_in


def refresher(
    store: TokenStore, endpoint: FakeTokenEndpoint, clock: FakeClock, key: str = "channels:wx1:abc"
) -> TokenRefresher:
    return TokenRefresher(store, key, endpoint, clock=clock)


async def test_token_is_fetched_once_then_served_from_the_cache(
    token_store: TokenStore, fake_clock: FakeClock
) -> None:
    endpoint = FakeTokenEndpoint()
    tokens = refresher(token_store, endpoint, fake_clock)
    assert await tokens.get() == "token-1"
    fake_clock.advance(3600)
    assert await tokens.get() == "token-1"
    assert endpoint.calls == [None]


async def test_token_is_refreshed_a_margin_before_it_expires(
    token_store: TokenStore, fake_clock: FakeClock
) -> None:
    endpoint = FakeTokenEndpoint(expires_in=7200)
    tokens = refresher(token_store, endpoint, fake_clock)
    await tokens.get()
    fake_clock.advance(7200 - 240 - 1)
    assert await tokens.get() == "token-1"
    fake_clock.advance(2)  # inside the 4-minute margin: still valid, but due
    assert await tokens.get() == "token-2"


async def test_short_lived_tokens_are_refreshed_in_their_last_quarter(
    token_store: TokenStore, fake_clock: FakeClock
) -> None:
    # A margin longer than the token's life (the simulator may issue 60-second tokens) must not
    # make every call refresh.
    endpoint = FakeTokenEndpoint(expires_in=60)
    tokens = refresher(token_store, endpoint, fake_clock)
    await tokens.get()
    fake_clock.advance(44)
    assert await tokens.get() == "token-1"
    fake_clock.advance(2)
    assert await tokens.get() == "token-2"


async def test_fifty_concurrent_callers_share_one_fetch(
    token_store: TokenStore, fake_clock: FakeClock
) -> None:
    endpoint = FakeTokenEndpoint(delay=0.02)
    tokens = refresher(token_store, endpoint, fake_clock)
    got = await asyncio.gather(*(tokens.get() for _ in range(50)))
    assert set(got) == {"token-1"}
    assert len(endpoint.calls) == 1


async def test_callers_refused_the_same_token_share_one_forced_refresh(
    token_store: TokenStore, fake_clock: FakeClock
) -> None:
    endpoint = FakeTokenEndpoint(delay=0.01)
    tokens = refresher(token_store, endpoint, fake_clock)
    stale = await tokens.get()
    got = await asyncio.gather(*(tokens.force_refresh(stale) for _ in range(50)))
    assert set(got) == {"token-2"}
    assert endpoint.calls == [None, "token-1"]


async def test_force_refresh_of_an_old_token_does_not_refresh_again(
    token_store: TokenStore, fake_clock: FakeClock
) -> None:
    endpoint = FakeTokenEndpoint()
    tokens = refresher(token_store, endpoint, fake_clock)
    await tokens.get()
    await tokens.force_refresh("token-1")
    # A late caller still holding token-1 finds token-2 already there.
    assert await tokens.force_refresh("token-1") == "token-2"
    assert len(endpoint.calls) == 2


async def test_refreshers_of_one_app_share_the_cache(token_store: TokenStore, fake_clock: FakeClock) -> None:
    endpoint = FakeTokenEndpoint()
    first = refresher(token_store, endpoint, fake_clock)
    second = refresher(token_store, endpoint, fake_clock)
    assert await first.get() == await second.get() == "token-1"
    assert len(endpoint.calls) == 1


async def test_other_apps_have_their_own_tokens(token_store: TokenStore, fake_clock: FakeClock) -> None:
    endpoint = FakeTokenEndpoint()
    a = refresher(token_store, endpoint, fake_clock, key=token_key("channels", "wxA", "s"))
    b = refresher(token_store, endpoint, fake_clock, key=token_key("channels", "wxB", "s"))
    assert {await a.get(), await b.get()} == {"token-1", "token-2"}


def test_token_key_separates_secrets_of_one_corp_without_revealing_them() -> None:
    kf, contacts = token_key("wecom", "ww1", "kf-secret"), token_key("wecom", "ww1", "contacts-secret")
    assert kf != contacts
    assert kf.startswith("wecom:ww1:")
    assert "kf-secret" not in kf


async def test_a_failed_early_refresh_keeps_using_the_valid_token(
    token_store: TokenStore, fake_clock: FakeClock
) -> None:
    endpoint = FakeTokenEndpoint(expires_in=7200)
    tokens = refresher(token_store, endpoint, fake_clock)
    await tokens.get()
    fake_clock.advance(7000)  # due for a refresh, still valid for 200 s
    endpoint.fail_with = PlatformUnavailableError("cgi-bin/token", "timed out")
    assert await tokens.get() == "token-1"
    fake_clock.advance(300)  # now expired: there is nothing to fall back on
    with pytest.raises(PlatformUnavailableError):
        await tokens.get()


async def test_a_failed_forced_refresh_raises(token_store: TokenStore, fake_clock: FakeClock) -> None:
    endpoint = FakeTokenEndpoint()
    tokens = refresher(token_store, endpoint, fake_clock)
    await tokens.get()
    endpoint.fail_with = PlatformUnavailableError("cgi-bin/token", "timed out")
    with pytest.raises(PlatformUnavailableError):
        await tokens.force_refresh("token-1")


async def test_invalidate_forgets_the_token(token_store: TokenStore, fake_clock: FakeClock) -> None:
    endpoint = FakeTokenEndpoint()
    tokens = refresher(token_store, endpoint, fake_clock)
    await tokens.get()
    await tokens.invalidate()
    assert await tokens.get() == "token-2"


if REDIS_URL:  # the Redis-only behaviour runs on the footprint that has Redis

    async def test_redis_store_expires_keys_with_the_token(platform_redis: Redis, redis_prefix: str) -> None:
        store = RedisTokenStore(platform_redis, prefix=redis_prefix)
        await store.set("k", CachedToken(access_token="t", expires_at=2e9, refresh_at=2e9), 120.0)
        ttl_ms = await platform_redis.pttl(f"{redis_prefix}k")
        assert 110_000 < ttl_ms <= 120_000
        assert await store.get("k") == CachedToken(access_token="t", expires_at=2e9, refresh_at=2e9)
        await store.delete("k")
        assert await store.get("k") is None

    async def test_redis_store_ignores_an_unreadable_value(platform_redis: Redis, redis_prefix: str) -> None:
        await platform_redis.set(f"{redis_prefix}k", b"{not json")
        assert await RedisTokenStore(platform_redis, prefix=redis_prefix).get("k") is None

    async def test_processes_sharing_redis_refresh_once(redis_prefix: str, fake_clock: FakeClock) -> None:
        # Two "processes": separate connections and separate in-process locks; only the Redis
        # lock stands between them.
        endpoint = FakeTokenEndpoint(delay=0.05)
        clients = [Redis.from_url(REDIS_URL), Redis.from_url(REDIS_URL)]
        try:
            refreshers = [
                refresher(RedisTokenStore(client, prefix=redis_prefix), endpoint, fake_clock)
                for client in clients
            ]
            got = await asyncio.gather(*(refreshers[i % 2].get() for i in range(50)))
        finally:
            for client in clients:
                await client.aclose()
        assert set(got) == {"token-1"}
        assert len(endpoint.calls) == 1

    async def test_a_dead_refresher_holds_the_lock_only_for_its_lease(
        platform_redis: Redis, redis_prefix: str, fake_clock: FakeClock
    ) -> None:
        key = "channels:wx1:abc"
        abandoned = platform_redis.lock(f"{redis_prefix}{key}:lock", timeout=0.3)
        assert await abandoned.acquire(blocking=False)  # a process that died mid-refresh
        store = RedisTokenStore(platform_redis, prefix=redis_prefix, lock_lease=5.0, lock_wait=5.0)
        assert await refresher(store, FakeTokenEndpoint(), fake_clock, key=key).get() == "token-1"

    async def test_waiting_too_long_for_the_lock_is_unavailable(
        platform_redis: Redis, redis_prefix: str, fake_clock: FakeClock
    ) -> None:
        key = "channels:wx1:abc"
        holder = platform_redis.lock(f"{redis_prefix}{key}:lock", timeout=10)
        assert await holder.acquire(blocking=False)
        store = RedisTokenStore(platform_redis, prefix=redis_prefix, lock_wait=0.2)
        endpoint = FakeTokenEndpoint()
        try:
            with pytest.raises(PlatformUnavailableError):
                await refresher(store, endpoint, fake_clock, key=key).get()
        finally:
            await holder.release()
        assert endpoint.calls == []
