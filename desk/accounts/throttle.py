"""Login throttling that slows password guessing without letting anyone lock a user out.

The policy, as the trusted systems do it:

- **Per account, across all addresses.** After ``DESK_LOGIN_FREE_FAILURES`` (5) tries at an
  account, each further try must wait: 1 s, then 2, 4, 8 … up to ``DESK_LOGIN_BACKOFF_MAX_S``
  (300 s). Guesses spread over a botnet are slowed as much as guesses from one machine. Unknown
  usernames are counted the same way, so the answers do not tell which accounts exist.
- **Known devices are exempt from the account's back-off.** A browser where the user signed in
  before carries a signed cookie (:mod:`desk.accounts.devices`); its tries are counted on that
  device alone, with the same allowance. So a guesser can slow down sign-ins from new browsers
  but never keep the user out of the browsers they work in. A stolen device cookie buys only its
  own back-off.
- **Per address, across all usernames** (password spraying): after
  ``DESK_LOGIN_ADDRESS_FREE_FAILURES`` (30) tries from one address, its tries must wait likewise.
  IPv6 clients are counted per /64, the block one subscriber gets. Tries with a known-device
  cookie do not count here, so one noisy machine behind an office's shared address does not slow
  colleagues who work from known browsers.

Every try is counted *before* the password is checked, atomically with the check of the running
wait (:mod:`desk.accounts.backoff`), so a burst of parallel guesses is cut off at the allowance.
A sign-in that succeeds forgives its own try: the account's (or device's) count starts again, and
the address gets back the one try (not more, so an attacker cannot wash an address clean by
signing in to their own account between guesses), and with it any wait that only tries still in
flight had started: a roomful of agents signing in at once behind one address is not a spray. A
try refused because of the account still
counts for its address: an address that keeps trying accounts that are waiting is spraying too.

The client address is the one :mod:`desk.proxies` established (``X-Forwarded-For`` only from
``DESK_TRUSTED_PROXIES``), so neither a shared proxy nor a forged header decides who waits.

A signed-in user changing their password must give the current one; those checks have the
account's allowance on a counter of their own.
"""

from __future__ import annotations

import hashlib
import ipaddress
import time
from collections.abc import Callable

import msgspec

from desk.accounts.backoff import Backoff, BackoffCounters
from desk.accounts.services import normalize_username
from desk.proxies import parse_address
from desk.settings import Settings

__all__ = ["LoginThrottle", "ThrottleDecision", "address_bucket"]

_IPV6_SUBSCRIBER_PREFIX = 64


def address_bucket(address: str) -> str:
    """What an address is counted as: itself for IPv4, its /64 network for IPv6."""
    parsed = parse_address(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, _IPV6_SUBSCRIBER_PREFIX), strict=False))
    return str(parsed) if parsed is not None else address


def _key(kind: str, value: str) -> str:
    # Hashed: a username is whatever was typed, of any length; the stores want short, tidy keys.
    return f"{kind}:{hashlib.sha256(value.encode()).hexdigest()[:32]}"


class ThrottleDecision(msgspec.Struct, frozen=True):
    """Whether a try may check its password; when not, how long until it may."""

    allowed: bool
    retry_after: int = 0
    counted: tuple[str, ...] = ()
    """The counters this try was charged to."""
    forgiven_on_success: tuple[str, ...] = ()
    """The counters that start again when this try succeeds (the rest get their one try back)."""


class LoginThrottle:
    """The policy above, over counters every process shares."""

    def __init__(
        self,
        counters: BackoffCounters,
        *,
        account: Backoff,
        address: Backoff,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.counters = counters
        self.account = account
        self.address = address
        self.clock = clock

    @classmethod
    def from_settings(cls, counters: BackoffCounters, settings: Settings) -> LoginThrottle:
        return cls(
            counters,
            account=Backoff(free=settings.login_free_failures, max_s=settings.login_backoff_max_s),
            address=Backoff(free=settings.login_address_free_failures, max_s=settings.login_backoff_max_s),
        )

    async def attempt(self, username: str, address: str, device_id: str | None = None) -> ThrottleDecision:
        """Count one try at ``username`` from ``address`` (and, if the browser is known for that
        user, from ``device_id``); refuse it while a wait is running.

        Call :meth:`succeeded` with the decision when the password was right.
        """
        now = self.clock()
        username = normalize_username(username)
        if device_id is not None:
            device = _key("device", f"{username}\x00{device_id}")
            claim = await self.counters.claim(device, self.account, now)
            if not claim.admitted:
                return ThrottleDecision(allowed=False, retry_after=claim.retry_after)
            return ThrottleDecision(allowed=True, counted=(device,), forgiven_on_success=(device,))
        by_address = _key("address", address_bucket(address))
        claim = await self.counters.claim(by_address, self.address, now)
        if not claim.admitted:
            return ThrottleDecision(allowed=False, retry_after=claim.retry_after)
        account = _key("account", username)
        claim = await self.counters.claim(account, self.account, now)
        if not claim.admitted:
            return ThrottleDecision(allowed=False, retry_after=claim.retry_after)
        return ThrottleDecision(allowed=True, counted=(by_address, account), forgiven_on_success=(account,))

    async def attempt_current_password(self, user_id: int) -> ThrottleDecision:
        """Count one check of a signed-in user's current password (changing it): the account's
        allowance and back-off, on a counter of that user's own."""
        key = _key("current-password", str(user_id))
        claim = await self.counters.claim(key, self.account, self.clock())
        if not claim.admitted:
            return ThrottleDecision(allowed=False, retry_after=claim.retry_after)
        return ThrottleDecision(allowed=True, counted=(key,), forgiven_on_success=(key,))

    async def succeeded(self, decision: ThrottleDecision) -> None:
        """The try was right: forgive it (see the module docstring for what that means per counter)."""
        for key in decision.counted:
            if key in decision.forgiven_on_success:
                await self.counters.forget(key)
            else:  # only the address counter is refunded rather than forgotten
                await self.counters.refund(key, self.address)
        await self.counters.purge(self.clock())
