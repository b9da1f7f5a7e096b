"""Login throttling: a few failed logins per account and IP address per minute, then 429.

The counts live in the ``throttle`` key-value store (memory, or Redis shared by every app process),
so an attacker cannot spread guesses over processes. The key is the account *and* the address:
a guesser elsewhere cannot lock a colleague out of their own desk, and a successful login clears
only its own address's count.
"""

from __future__ import annotations

import hashlib
import math
import time

import msgspec
from litestar.stores.base import Store as KeyValueStore

__all__ = ["LoginThrottle", "ThrottleDecision"]

WINDOW_SECONDS = 60


class _Window(msgspec.Struct):
    attempts: int
    resets_at: float
    """Unix time at which the window (opened by its first failure) ends."""


class ThrottleDecision(msgspec.Struct, frozen=True):
    allowed: bool
    retry_after: int = 0
    """Seconds until the account may be tried again from this address (when not allowed)."""


class LoginThrottle:
    """At most ``max_failures`` failed logins per account and IP address in a fixed one-minute window.

    Each attempt is counted *before* the password is checked and the count is cleared when it
    succeeds. Counting first means a burst of parallel guesses is cut off at the limit instead of
    all being checked while the count is still low (argon2 takes tens of milliseconds each).
    """

    def __init__(self, store: KeyValueStore, max_failures: int, window: int = WINDOW_SECONDS) -> None:
        self.store = store
        self.max_failures = max_failures
        self.window = window

    @staticmethod
    def key(username: str, ip: str) -> str:
        # Hashed: the username is whatever was typed, of any length; the store wants a tidy key.
        return hashlib.sha256(f"{username.strip().lower()}\x00{ip}".encode()).hexdigest()[:32]

    async def attempt(self, username: str, ip: str) -> ThrottleDecision:
        """Count one login attempt; refuse it when the window's failures are used up."""
        key = self.key(username, ip)
        now = time.time()
        raw = await self.store.get(key)
        window = msgspec.json.decode(raw, type=_Window) if raw else None
        if window is None or window.resets_at <= now:
            window = _Window(attempts=0, resets_at=now + self.window)
        retry_after = max(1, math.ceil(window.resets_at - now))
        if window.attempts >= self.max_failures:
            return ThrottleDecision(allowed=False, retry_after=retry_after)
        window.attempts += 1
        await self.store.set(key, msgspec.json.encode(window), expires_in=retry_after)
        return ThrottleDecision(allowed=True)

    async def succeeded(self, username: str, ip: str) -> None:
        """The attempt was right: forget this address's failures for the account."""
        await self.store.delete(self.key(username, ip))
