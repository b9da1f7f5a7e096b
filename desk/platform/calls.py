"""One platform call with the error envelope checked and the retry policy applied (spec §1).

Every reply carries ``errcode`` (0 when fine) and ``errmsg`` (ending in ``rid: …``). The policy,
shared by the Channels and WeCom clients:

* **token refused** (the API's token errcodes): refresh the token — single-flight, see
  :mod:`desk.platform.tokens` — and try once more; refused again → :class:`TokenError`.
* **busy** (``-1``, and ``10021044`` for after-sales): the platform did nothing; wait with a short
  exponential backoff and try again, a few times → :class:`PlatformBusyError`.
* **no usable answer** (network error, timeout, HTTP 5xx or 429, a body that is not JSON): retried
  with backoff only for *idempotent* calls (reads, and sends the platform de-duplicates). A call
  that moves money (accepting a refund) is not retried, because the first try may have worked;
  only a failure to connect at all — the request certainly never left — is retried for every
  call → :class:`PlatformUnavailableError`.
* any other errcode → :class:`PlatformError` at once.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import httpx
import msgspec

from desk.platform.errors import (
    PlatformBusyError,
    PlatformError,
    PlatformUnavailableError,
    TokenError,
)
from desk.platform.tokens import TokenRefresher
from desk.platform.wire import WireDecodeError, convert_reply, decode_json, encode_json

__all__ = ["ApiCaller", "RetryPolicy", "Sleep", "reply_as"]

log = logging.getLogger(__name__)

T = TypeVar("T")

Sleep = Callable[[float], Awaitable[None]]

# The request never left this machine: safe to repeat even for a call that moves money.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How often and how patiently a client retries (see the module docstring for when)."""

    attempts: int = 3
    """Tries in all for a call that got no usable answer (idempotent calls only)."""
    busy_attempts: int = 4
    """Tries in all while the platform answers busy."""
    base_delay: float = 0.2
    """Seconds before the first retry; doubled for each further one."""
    max_delay: float = 3.0
    jitter: bool = True
    """Spread retries randomly over [½, 1] × the delay, so many workers do not retry in step."""

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first)."""
        delay = min(self.max_delay, self.base_delay * 2.0 ** (retry - 1))
        return delay * random.uniform(0.5, 1.0) if self.jitter else delay  # noqa: S311 - not crypto


class _NoAnswerError(Exception):
    def __init__(self, reason: str, *, status_code: int | None = None, sent: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code
        self.sent = sent


class ApiCaller:
    """Sends requests to one platform host and applies the policy above.

    Args:
        http: the caller's shared client (connection pool, default timeouts).
        base_url: e.g. ``https://api.weixin.qq.com`` or the simulator's URL.
        tokens: the app's token refresher (``None`` for calls that need no token).
        token_errcodes: errcodes meaning "this token is not accepted".
        busy_errcodes: errcodes meaning "busy, nothing done, try later".
        retry: the retry limits and delays.
        sleep: waits between retries (tests pass a recorder).
        timeout: per-request timeout; ``None`` uses the ``http`` client's.
    """

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        base_url: str,
        tokens: TokenRefresher | None,
        token_errcodes: frozenset[int],
        busy_errcodes: frozenset[int],
        retry: RetryPolicy,
        sleep: Sleep = asyncio.sleep,
        timeout: float | None = None,
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.token_errcodes = token_errcodes
        self.busy_errcodes = busy_errcodes
        self.retry = retry
        self._sleep = sleep
        self._timeout = timeout

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        data: Mapping[str, str] | None = None,
        idempotent: bool,
        with_token: bool = True,
        refused: type[PlatformError] = PlatformError,
    ) -> dict[str, Any]:
        """The reply of ``method path`` (a JSON object with ``errcode`` 0), after the policy.

        Args:
            path: relative to the base URL, e.g. ``channels/ec/order/get``.
            json: the request body, encoded as JSON.
            files, data: a multipart body instead (uploads).
            idempotent: whether repeating the call after an unknown outcome is harmless.
            with_token: add ``access_token`` from the refresher.
            refused: the class of error raised for an errcode that is not retried.

        Raises:
            PlatformError: the platform refused the call (or a subclass: see the module doc).
            PlatformUnavailableError: no usable answer after the retries the policy allows.
        """
        content = encode_json(json) if json is not None else None
        tries = busy = 0
        token_refreshed = False
        while True:
            token = await self.tokens.get() if with_token and self.tokens is not None else None
            query = dict(params or {})
            if token is not None:
                query["access_token"] = token
            try:
                reply = await self._send(method, path, query=query, content=content, files=files, data=data)
            except _NoAnswerError as exc:
                tries += 1
                if (idempotent or not exc.sent) and tries < self.retry.attempts:
                    log.info("%s: %s; retrying (%d/%d)", path, exc.reason, tries, self.retry.attempts - 1)
                    await self._sleep(self.retry.delay(tries))
                    continue
                raise PlatformUnavailableError(path, exc.reason, status_code=exc.status_code) from None
            errcode, errmsg = _envelope(reply, path)
            if errcode == 0:
                return reply
            if token is not None and errcode in self.token_errcodes:
                if not token_refreshed and self.tokens is not None:
                    token_refreshed = True
                    log.info("%s: token refused (errcode %d); refreshing", path, errcode)
                    await self.tokens.force_refresh(token)
                    continue
                raise TokenError(errcode, errmsg, path=path)
            if errcode in self.busy_errcodes:
                busy += 1
                if busy < self.retry.busy_attempts:
                    log.info(
                        "%s: busy (errcode %d); retrying (%d/%d)",
                        path,
                        errcode,
                        busy,
                        self.retry.busy_attempts - 1,
                    )
                    await self._sleep(self.retry.delay(busy))
                    continue
                raise PlatformBusyError(errcode, errmsg, path=path)
            raise refused(errcode, errmsg, path=path)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str],
        content: bytes | None,
        files: Mapping[str, tuple[str, bytes, str]] | None,
        data: Mapping[str, str] | None,
    ) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self._timeout is not None:
            extra["timeout"] = self._timeout
        if content is not None:
            extra["content"] = content
            extra["headers"] = {"Content-Type": "application/json"}
        if files is not None:
            extra["files"] = files
            extra["data"] = data or {}
        try:
            response = await self.http.request(method, f"{self.base_url}/{path}", params=query, **extra)
        except _NOT_SENT as exc:
            raise _NoAnswerError(f"cannot connect: {type(exc).__name__}", sent=False) from None
        except httpx.TimeoutException as exc:
            raise _NoAnswerError(f"timed out: {type(exc).__name__}") from None
        except httpx.TransportError as exc:
            raise _NoAnswerError(f"network error: {type(exc).__name__}: {exc}") from None
        status = response.status_code
        if status >= 500 or status == 429:
            raise _NoAnswerError(f"HTTP {status}", status_code=status)
        if status != 200:
            raise PlatformUnavailableError(path, f"unexpected HTTP {status}", status_code=status)
        try:
            reply = decode_json(response.content)
        except WireDecodeError:
            raise _NoAnswerError("reply is not JSON", status_code=status) from None
        if not isinstance(reply, dict):
            raise _NoAnswerError("reply is not a JSON object", status_code=status)
        return reply


def _envelope(reply: dict[str, Any], path: str) -> tuple[int, str]:
    errcode = reply.get("errcode", 0)
    errmsg = reply.get("errmsg", "")
    if isinstance(errcode, str) and errcode.lstrip("-").isdigit():
        errcode = int(errcode)
    if not isinstance(errcode, int) or isinstance(errcode, bool):
        raise PlatformUnavailableError(path, f"reply has a malformed errcode {errcode!r}")
    return errcode, errmsg if isinstance(errmsg, str) else str(errmsg)


def reply_as(reply: dict[str, Any], type_: type[T], path: str) -> T:
    """A successful reply as ``type_``; a reply of another shape is no usable answer.

    Raises:
        PlatformUnavailableError: the reply does not fit ``type_``.
    """
    try:
        return convert_reply(reply, type_)
    except WireDecodeError as exc:
        raise PlatformUnavailableError(path, f"unexpected reply: {exc}") from None
