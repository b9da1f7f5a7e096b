"""Testing a store's or corp's credentials against the platform, and saying what went wrong.

Saving a store or corp first calls its token endpoint (:class:`ConnectionChecker`) through the
real platform client, with a short timeout and no retries so that the form answers quickly.
Whatever the platform answered is turned into words (:func:`describe_failure`) for the admin's
form, the store pages and the command line, from one catalogue of messages.
"""

from __future__ import annotations

import httpx

from desk.i18n import Message
from desk.platform.calls import RetryPolicy
from desk.platform.channels import ChannelsClient
from desk.platform.errors import PlatformBusyError, PlatformError, PlatformUnavailableError
from desk.platform.tokens import RedisTokenStore, TokenStore
from desk.platform.wecom import WeComClient
from desk.runtime import Runtime
from desk.stores.tokens import SqlTokenStore

__all__ = ["CHECK_TIMEOUT_S", "ConnectionChecker", "describe_failure"]

CHECK_TIMEOUT_S = 5.0
"""Longest a save waits for the platform's answer (the form must not hang on a dead network)."""

# What the token endpoints answer, by meaning (spec §1; 40125 is today's answer for a wrong
# AppSecret, 40001 the older one and WeCom's; 40243 a frozen secret; 60020 WeCom's IP refusal).
_ERRCODE_MESSAGES: dict[int, str] = {
    40013: "stores.check.invalid_appid",
    40001: "stores.check.invalid_secret",
    40125: "stores.check.invalid_secret",
    40243: "stores.check.invalid_secret",
    40164: "stores.check.ip_not_allowed",
    45035: "stores.check.ip_not_allowed",
    61004: "stores.check.ip_not_allowed",
    60020: "stores.check.ip_not_allowed",
    45009: "stores.check.quota",
    45011: "stores.check.quota",
}


def describe_failure(exc: BaseException, *, base_url: str, wecom: bool = False) -> Message:
    """What a failed call of the platform means, in words an admin can act on.

    ``base_url`` is the API host that was called; ``wecom`` names a corp's identifier (corp ID)
    instead of a store's (AppID).
    """
    if isinstance(exc, PlatformBusyError):
        return Message("stores.check.busy", {"errcode": exc.errcode})
    if isinstance(exc, PlatformError):
        key = _ERRCODE_MESSAGES.get(exc.errcode, "stores.check.refused")
        if wecom and key == "stores.check.invalid_appid":
            key = "stores.check.invalid_corpid"
        return Message(key, {"errcode": exc.errcode, "errmsg": exc.errmsg})
    if isinstance(exc, PlatformUnavailableError):
        if exc.status_code is None:
            return Message("stores.check.unreachable", {"url": base_url, "reason": exc.reason})
        return Message("stores.check.bad_answer", {"reason": exc.reason})
    return Message("stores.check.unknown", {"detail": f"{type(exc).__name__}: {exc}"[:200]})


class ConnectionChecker:
    """Calls the token endpoint with credentials an admin is about to save.

    The token that comes back goes into the token store every process shares, so testing costs
    the platform nothing more than the fetch the next API call would have made.
    """

    def __init__(self, runtime: Runtime, *, timeout: float = CHECK_TIMEOUT_S) -> None:
        self._runtime = runtime
        self._timeout = timeout

    def _tokens(self) -> TokenStore:
        runtime = self._runtime
        if runtime.redis is not None:
            return RedisTokenStore(runtime.redis)
        return SqlTokenStore(runtime.db, runtime.secrets)

    def _http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=httpx.Timeout(self._timeout, connect=min(3.0, self._timeout)))

    async def check_store(self, appid: str, secret: str, *, stable_token: bool) -> Message | None:
        """None when the platform accepts the store's appid and secret, else what went wrong."""
        async with self._http() as http:
            client = ChannelsClient(
                appid,
                secret,
                http=http,
                tokens=self._tokens(),
                base_url=self._runtime.settings.channels_api_base,
                stable_token=stable_token,
                retry=RetryPolicy(attempts=1, busy_attempts=1),
            )
            try:
                await client.check_credentials()
            except (PlatformError, PlatformUnavailableError) as exc:
                return describe_failure(exc, base_url=self._runtime.settings.channels_api_base)
        return None

    async def check_corp(self, corpid: str, secret: str) -> Message | None:
        """None when WeCom accepts the corpid and secret, else what went wrong."""
        async with self._http() as http:
            client = WeComClient(
                corpid,
                secret,
                http=http,
                tokens=self._tokens(),
                base_url=self._runtime.settings.wecom_api_base,
                retry=RetryPolicy(attempts=1, busy_attempts=1),
            )
            try:
                await client.check_credentials()
            except (PlatformError, PlatformUnavailableError) as exc:
                return describe_failure(exc, base_url=self._runtime.settings.wecom_api_base, wecom=True)
        return None
