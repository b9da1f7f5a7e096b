"""Access tokens: one central refresher per app, with a cache every process shares.

A new ``/cgi-bin/token`` call invalidates the previous token (after ≤5 minutes' overlap, spec §1),
so refreshes must not race: two workers refreshing at once would each invalidate the other's
token. :class:`TokenRefresher` therefore refreshes *single-flight* — under the store's lock (an
asyncio lock in the process, plus a Redis lock across processes for :class:`RedisTokenStore`) it
re-reads the cache and only calls the platform if nobody else has refreshed meanwhile.

Tokens are refreshed a little before they expire (``margin``: inside the last five minutes, when
``stable_token`` hands out the next token rather than the current one again), and on demand after
the platform refused one (:meth:`TokenRefresher.force_refresh`), in which case callers that saw the
same refused token share one refresh too.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

import msgspec
from redis.asyncio import Redis
from redis.exceptions import LockError

from desk.platform.errors import PlatformBusyError, PlatformUnavailableError

__all__ = [
    "CachedToken",
    "FetchToken",
    "MemoryTokenStore",
    "RedisTokenStore",
    "TokenOutcome",
    "TokenRefresher",
    "TokenReply",
    "TokenStore",
    "token_key",
]

log = logging.getLogger(__name__)

FetchToken = Callable[[str | None], Awaitable[tuple[str, int]]]
"""Calls the platform's token endpoint → ``(access_token, expires_in)``. Its argument is the token
the platform just refused (a new one is needed even if the endpoint would return that one again),
or None for an ordinary refresh."""

Clock = Callable[[], float]

TokenOutcome = Callable[[BaseException | None], Awaitable[None]]
"""Told how each call of the token endpoint ended: None when a token came back, else the error
(:class:`~desk.platform.errors.CredentialError` when the app's credentials were refused)."""


class CachedToken(msgspec.Struct, frozen=True):
    """An access token and when to stop using it (epoch seconds)."""

    access_token: str
    expires_at: float
    """When the platform stops accepting it."""
    refresh_at: float
    """When to fetch the next one: a margin before ``expires_at``."""

    def is_fresh(self, now: float) -> bool:
        return now < self.refresh_at

    def is_valid(self, now: float) -> bool:
        return now < self.expires_at


class TokenReply(msgspec.Struct):
    """The token endpoints' reply (``cgi-bin/token``, ``stable_token``, WeCom ``gettoken``)."""

    access_token: str
    expires_in: int = 7200


def token_key(api: str, app_id: str, secret: str) -> str:
    """The cache key of one app's token: ``channels:wx…:<secret fingerprint>``.

    The fingerprint (12 hex digits of the secret's SHA-256) keeps apart two secrets of one WeCom
    corp (a kf app and the contacts secret have different tokens), and makes a changed secret miss
    the old cache entry instead of reusing a token it did not issue.
    """
    fingerprint = hashlib.sha256(secret.encode()).hexdigest()[:12]
    return f"{api}:{app_id}:{fingerprint}"


class TokenStore(Protocol):
    """Where tokens are cached, and the lock that makes their refresh single-flight."""

    async def get(self, key: str) -> CachedToken | None: ...

    async def set(self, key: str, token: CachedToken, ttl: float) -> None:
        """Cache ``token`` under ``key`` for ``ttl`` seconds (its remaining lifetime)."""
        ...

    async def delete(self, key: str) -> None: ...

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        """Held while refreshing ``key``: by one task at a time in every process sharing the store."""
        ...


class MemoryTokenStore(TokenStore):
    """Tokens in this process's memory (the embedded footprint: one process)."""

    def __init__(self) -> None:
        self._tokens: dict[str, CachedToken] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, key: str) -> CachedToken | None:
        return self._tokens.get(key)

    async def set(self, key: str, token: CachedToken, ttl: float) -> None:
        # Expiry is judged by the refresher from ``expires_at``; nothing to schedule here.
        self._tokens[key] = token

    async def delete(self, key: str) -> None:
        self._tokens.pop(key, None)

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        return _locked(self._locks.setdefault(key, asyncio.Lock()))


@asynccontextmanager
async def _locked(lock: asyncio.Lock) -> AsyncIterator[None]:
    async with lock:
        yield


class RedisTokenStore(TokenStore):
    """Tokens in Redis, shared by every app and worker process.

    Keys are ``<prefix><key>`` and expire with the token. The refresh lock is a Redis lock
    (``<prefix><key>:lock``) with a lease, so a process that dies while refreshing cannot block
    the others for longer than ``lock_lease`` seconds.
    """

    def __init__(
        self,
        redis: Redis,
        prefix: str = "desk:token:",
        *,
        lock_lease: float = 30.0,
        lock_wait: float = 45.0,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.lock_lease = lock_lease
        self.lock_wait = lock_wait
        self._local_locks: dict[str, asyncio.Lock] = {}
        self._decoder = msgspec.json.Decoder(CachedToken)

    async def get(self, key: str) -> CachedToken | None:
        raw = await self.redis.get(self.prefix + key)
        if raw is None:
            return None
        try:
            return self._decoder.decode(raw)
        except msgspec.DecodeError:
            log.warning("ignoring an unreadable cached token under %s%s", self.prefix, key)
            return None

    async def set(self, key: str, token: CachedToken, ttl: float) -> None:
        ttl_ms = max(1, int(ttl * 1000))
        await self.redis.set(self.prefix + key, msgspec.json.encode(token), px=ttl_ms)

    async def delete(self, key: str) -> None:
        await self.redis.delete(self.prefix + key)

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        return self._lock(key)

    @asynccontextmanager
    async def _lock(self, key: str) -> AsyncIterator[None]:
        # The local lock first: tasks of this process queue here instead of polling Redis.
        async with self._local_locks.setdefault(key, asyncio.Lock()):
            lock = self.redis.lock(
                f"{self.prefix}{key}:lock",
                timeout=self.lock_lease,
                blocking_timeout=self.lock_wait,
                sleep=0.05,
            )
            if not await lock.acquire():
                raise PlatformUnavailableError("token", "timed out waiting for another process's refresh")
            try:
                yield
            finally:
                try:
                    await lock.release()
                except LockError:  # the lease ran out during a slow refresh; nothing left to free
                    log.warning("token refresh of %s outlived its lock lease", key)


class TokenRefresher:
    """The access token of one app: cached in a :class:`TokenStore`, refreshed single-flight.

    Args:
        store: the shared cache (and lock).
        key: this app's key in the store (see :func:`token_key`).
        fetch: calls the platform's token endpoint.
        margin: refresh this many seconds before the token expires (at most a quarter of its
            lifetime). Four minutes: late enough that ``stable_token``, which renews its token in
            the last five, answers with the next token instead of the same one again.
        clock: the current epoch time; tests pass their own.
        on_fetch: told how each token fetch ended (the desk records whether an app's credentials
            work); its own errors are not the caller's concern and are only logged.
    """

    def __init__(
        self,
        store: TokenStore,
        key: str,
        fetch: FetchToken,
        *,
        margin: float = 240.0,
        clock: Clock = time.time,
        on_fetch: TokenOutcome | None = None,
    ) -> None:
        self.store = store
        self.key = key
        self._fetch = fetch
        self.margin = margin
        self._clock = clock
        self._on_fetch = on_fetch

    async def get(self) -> str:
        """A token to call the platform with, from the cache unless it is due for a refresh."""
        cached = await self.store.get(self.key)
        if cached is not None and cached.is_fresh(self._clock()):
            return cached.access_token
        return await self._refresh(stale=None)

    async def force_refresh(self, stale: str) -> str:
        """A new token after the platform refused ``stale``.

        Callers that saw the same refused token share one refresh: whoever comes second finds a
        different token in the cache and uses it.
        """
        return await self._refresh(stale=stale)

    async def verify(self) -> str:
        """Ask the token endpoint now, whatever the cache holds, and keep what it answers.

        Proves that the app's credentials work (raising the endpoint's error when they do not).
        With ``stable_token`` this hands back the current token; with ``/cgi-bin/token`` the
        new token replaces the previous one, here and in every process sharing the store.
        """
        async with self.store.lock(self.key):
            return await self._fetch_and_keep(None)

    async def invalidate(self) -> None:
        """Forget the cached token (e.g. after the app's secret changed)."""
        await self.store.delete(self.key)

    async def _observe(self, outcome: BaseException | None) -> None:
        if self._on_fetch is None:
            return
        try:
            await self._on_fetch(outcome)
        except Exception:  # recording the outcome must never fail the platform call itself
            log.exception("could not record the outcome of a token fetch for %s", self.key)

    async def _fetch_and_keep(self, stale: str | None) -> str:
        try:
            access_token, expires_in = await self._fetch(stale)
        except Exception as exc:
            await self._observe(exc)
            raise
        await self._observe(None)
        now = self._clock()
        lifetime = max(float(expires_in), 1.0)
        token = CachedToken(
            access_token=access_token,
            expires_at=now + lifetime,
            refresh_at=now + lifetime - min(self.margin, lifetime / 4),
        )
        await self.store.set(self.key, token, lifetime)
        return access_token

    async def _refresh(self, *, stale: str | None) -> str:
        async with self.store.lock(self.key):
            cached = await self.store.get(self.key)
            now = self._clock()
            if cached is not None and (
                cached.is_fresh(now)
                if stale is None
                else cached.access_token != stale and cached.is_valid(now)
            ):
                return cached.access_token
            try:
                return await self._fetch_and_keep(stale)
            except (PlatformUnavailableError, PlatformBusyError):
                # Refreshing early failed but the current token still works: keep using it.
                if stale is None and cached is not None and cached.is_valid(self._clock()):
                    log.warning(
                        "token refresh for %s failed; using the current token until it expires", self.key
                    )
                    return cached.access_token
                raise
