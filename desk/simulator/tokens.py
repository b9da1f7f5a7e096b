"""Access tokens as the platform hands them out and checks them (spec §1, §6B).

Channels ``/cgi-bin/token``: every call issues a new token (≥ 512 characters, 7200 s) and the
previous one keeps working only for a short overlap — hence "one central refresher".
``/cgi-bin/stable_token`` returns the current stable token until it expires unless
``force_refresh`` asks for a new one; the two kinds do not affect each other. WeCom ``gettoken``
returns the same token for as long as it is valid.

Checking: no token 41001; a token never issued (or issued for the other API) 40014; expired
42001; replaced by a newer ``/cgi-bin/token`` and past the overlap 40001 ("not latest").
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from desk.simulator.clock import Clock
from desk.simulator.errcodes import (
    INVALID_CREDENTIAL,
    INVALID_TOKEN,
    MISSING_TOKEN,
    TOKEN_EXPIRED,
    ApiError,
)

__all__ = ["TOKEN_TTL", "TokenBook"]

TOKEN_TTL = 7200.0
ROTATION_OVERLAP = 300.0


@dataclass(slots=True)
class _Issued:
    owner: str
    api: str
    expires_at: float
    replaced_at: float | None = None
    """When a newer token made this one "not latest" (after the overlap)."""


class TokenBook:
    """Every token issued, by value: an O(1) check per API call."""

    def __init__(self, clock: Clock, *, ttl: float = TOKEN_TTL, overlap: float = ROTATION_OVERLAP) -> None:
        self.clock = clock
        self.ttl = ttl
        self.overlap = overlap
        self._issued: dict[str, _Issued] = {}
        self._current: dict[tuple[str, str], str] = {}

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

    def channels_token(self, appid: str) -> str:
        """``/cgi-bin/token``: a new token; the previous one lapses after the overlap."""
        previous = self._current.get(("token", appid))
        if previous is not None:
            self._issued[previous].replaced_at = self.clock() + self.overlap
        token = self._current[("token", appid)] = self._new(appid, "channels", 512)
        return token

    def stable_token(self, appid: str, *, force_refresh: bool) -> str:
        """``/cgi-bin/stable_token``: the current stable token, or a new one when forced or expired."""
        current = self._current.get(("stable", appid))
        if current is not None and not force_refresh and self._valid(current):
            return current
        if current is not None:
            self._issued[current].replaced_at = self.clock() + self.overlap
        token = self._current[("stable", appid)] = self._new(appid, "channels", 512)
        return token

    def wecom_token(self, corpid: str) -> str:
        """``gettoken``: the same token while it is valid."""
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
