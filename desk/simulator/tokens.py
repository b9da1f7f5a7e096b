"""Access tokens as the platform hands them out and checks them (spec §1, §6B).

Channels ``/cgi-bin/token``: every call issues a new token (≥ 512 characters, 7200 s) and the
previous one keeps working only for a short overlap — hence "one central refresher".

``/cgi-bin/stable_token`` (kept apart from ``/cgi-bin/token``: neither affects the other's
tokens) as the official documentation describes it:

* normal mode returns the current stable token with its *remaining* ``expires_in``; within the
  last five minutes of its life a call gets a new one, and the old one keeps working until it
  expires (so every answer is good for at least five minutes);
* ``force_refresh`` retires the current token at once and issues a new one — at most 20 times a
  day (then 45009), and a second forced call within 30 seconds does not refresh again.

WeCom ``gettoken`` returns the same token for as long as it is valid.

Checking: no token 41001; a token never issued (or issued for the other API) 40014; expired
42001; replaced by a newer ``/cgi-bin/token`` and past the overlap, or force-refreshed, 40001.
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass

from desk.simulator.clock import Clock
from desk.simulator.errcodes import (
    DAILY_QUOTA,
    INVALID_CREDENTIAL,
    INVALID_TOKEN,
    MISSING_TOKEN,
    TOKEN_EXPIRED,
    ApiError,
)

__all__ = ["FORCE_REFRESH_PER_DAY", "FORCE_REFRESH_SPACING", "ROTATION_OVERLAP", "TOKEN_TTL", "TokenBook"]

TOKEN_TTL = 7200.0
ROTATION_OVERLAP = 300.0
FORCE_REFRESH_PER_DAY = 20
FORCE_REFRESH_SPACING = 30.0


@dataclass(slots=True)
class _Issued:
    owner: str
    api: str
    expires_at: float
    replaced_at: float | None = None
    """When a newer token made this one "not latest" (after the overlap)."""


class TokenBook:
    """Every token issued, by value: an O(1) check per API call.

    Args:
        clock: the platform's time.
        ttl: a token's lifetime (7200 s; tests shorten it).
        overlap: how long a replaced ``/cgi-bin/token`` keeps working, and how long before its
            expiry a stable token is renewed (five minutes each on the platform).
    """

    def __init__(self, clock: Clock, *, ttl: float = TOKEN_TTL, overlap: float = ROTATION_OVERLAP) -> None:
        self.clock = clock
        self.ttl = ttl
        self.overlap = overlap
        self._issued: dict[str, _Issued] = {}
        self._current: dict[tuple[str, str], str] = {}
        self._forced: dict[str, list[float]] = {}
        self.calls: Counter[tuple[str, str]] = Counter()
        """Token requests answered with a token, by ``(endpoint, appid or corpid)``: what tests
        count to show that processes share tokens instead of each fetching its own."""

    @property
    def expires_in(self) -> int:
        return int(self.ttl)

    def _new(self, owner: str, api: str, length: int) -> str:
        token = secrets.token_urlsafe(length * 3 // 4)
        self._issued[token] = _Issued(owner=owner, api=api, expires_at=self.clock() + self.ttl)
        return token

    def _valid(self, token: str | None) -> bool:
        issued = self._issued.get(token) if token else None
        return issued is not None and issued.replaced_at is None and issued.expires_at > self.clock()

    def _remaining(self, token: str) -> int:
        return int(self._issued[token].expires_at - self.clock())

    def channels_token(self, appid: str) -> str:
        """``/cgi-bin/token``: a new token; the previous one lapses after the overlap."""
        self.calls["token", appid] += 1
        previous = self._current.get(("token", appid))
        if previous is not None:
            self._issued[previous].replaced_at = self.clock() + self.overlap
        token = self._current[("token", appid)] = self._new(appid, "channels", 512)
        return token

    def stable_token(self, appid: str, *, force_refresh: bool) -> tuple[str, int]:
        """``/cgi-bin/stable_token``: ``(token, expires_in)`` by the rules in the module doc."""
        self.calls["stable_token", appid] += 1
        now = self.clock()
        current = self._current.get(("stable", appid))
        if force_refresh and current is not None:
            forced = [t for t in self._forced.get(appid, []) if t > now - 86400]
            self._forced[appid] = forced
            if forced and now - forced[-1] < FORCE_REFRESH_SPACING and self._valid(current):
                return current, self._remaining(current)  # "otherwise it does not refresh"
            if len(forced) >= FORCE_REFRESH_PER_DAY:
                raise ApiError(DAILY_QUOTA, "reach max api daily quota limit")
            forced.append(now)
            self._issued[current].replaced_at = now
        elif current is not None and self._valid(current) and self._remaining(current) > self.overlap:
            return current, self._remaining(current)
        # New, forced, expired or in its last minutes: a new token; a renewed one still works
        # until its own expiry, which is at most the overlap away.
        token = self._current[("stable", appid)] = self._new(appid, "channels", 512)
        return token, self.expires_in

    def wecom_token(self, corpid: str) -> str:
        """``gettoken``: the same token while it is valid."""
        self.calls["gettoken", corpid] += 1
        current = self._current.get(("wecom", corpid))
        if current is not None and self._valid(current):
            return current
        token = self._current[("wecom", corpid)] = self._new(corpid, "wecom", 212)
        return token

    def expire_all(self) -> int:
        """Every token issued so far expires now (42001 on its next use); returns how many were live.

        The fault controls do this when token calls start failing: a desk holding a token would
        otherwise notice nothing for up to two hours.
        """
        now = self.clock()
        live = [issued for issued in self._issued.values() if issued.expires_at > now]
        for issued in live:
            issued.expires_at = now
        return len(live)

    def check(self, token: str, api: str) -> str:
        """The appid/corpid a token belongs to, or the errcode the platform answers."""
        if not token:
            raise ApiError(MISSING_TOKEN, "access_token missing")
        issued = self._issued.get(token)
        if issued is None or issued.api != api:
            raise ApiError(INVALID_TOKEN, "invalid access_token")
        now = self.clock()
        if issued.replaced_at is not None and now >= issued.replaced_at:
            raise ApiError(INVALID_CREDENTIAL, "invalid credential, access_token is invalid or not latest")
        if now >= issued.expires_at:
            raise ApiError(TOKEN_EXPIRED, "access_token expired")
        return issued.owner
