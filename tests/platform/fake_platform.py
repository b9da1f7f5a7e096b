"""A scripted platform behind ``httpx.MockTransport`` for unit tests of the clients' policies.

It issues access tokens the way the real token endpoint does — a new token invalidates the old
one — and refuses API calls made with anything but the current token. Each API path answers from
a queue of scripted replies; a reply may be an exception to raise (a network failure), raw bytes,
or a status code with a body.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import defaultdict, deque
from typing import Any

import httpx

__all__ = ["FakePlatform", "Recorder", "Reply"]

Reply = dict[str, Any] | bytes | Exception | tuple[int, bytes]
"""A JSON object (``errcode`` 0 is added), raw bytes, an exception to raise, or (status, body)."""

TOKEN_PATHS = {"cgi-bin/token", "cgi-bin/stable_token", "cgi-bin/gettoken"}


class FakePlatform:
    """One fake platform host; ``invalid_token_errcode`` is 40001 for Channels, 40014 for WeCom."""

    def __init__(self, *, invalid_token_errcode: int = 40001, token_delay: float = 0.0) -> None:
        self.invalid_token_errcode = invalid_token_errcode
        self.token_delay = token_delay
        self.requests: list[httpx.Request] = []
        self.token_requests: list[httpx.Request] = []
        self.current_token: str | None = None
        self.token_reply: Reply | None = None
        self.unforced_stable_token: str | None = None
        """When set: what ``stable_token`` answers unless forced (a token it no longer accepts)."""
        self.expires_in = 7200
        self._serial = itertools.count(1)
        self._scripts: dict[str, deque[Reply]] = defaultdict(deque)
        self._defaults: dict[str, Reply] = {}

    # -- scripting ----------------------------------------------------------------------------

    def reply(self, path: str, *replies: Reply) -> None:
        """Queue replies for ``path`` (e.g. ``channels/ec/order/get``), used once each in order."""
        self._scripts[path].extend(replies)

    def always(self, path: str, reply: Reply) -> None:
        """The reply for ``path`` once its queue is empty."""
        self._defaults[path] = reply

    def rotate_token(self) -> None:
        """Another process fetched a token: the one clients hold stops working."""
        self.current_token = f"other-{next(self._serial)}"

    # -- what the client sent -----------------------------------------------------------------

    def calls(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.lstrip("/") == path]

    def bodies(self, path: str) -> list[Any]:
        return [json.loads(r.content) for r in self.calls(path)]

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle), base_url="https://fake.test")

    # -- the server side ----------------------------------------------------------------------

    async def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.lstrip("/")
        if path in TOKEN_PATHS:
            self.token_requests.append(request)
            if self.token_delay:
                await asyncio.sleep(self.token_delay)
            if self.token_reply is not None:
                return _respond(self.token_reply)
            unforced = path == "cgi-bin/stable_token" and not json.loads(request.content)["force_refresh"]
            if unforced and self.unforced_stable_token is not None:
                return httpx.Response(
                    200, json={"access_token": self.unforced_stable_token, "expires_in": 600}
                )
            self.current_token = f"token-{next(self._serial)}"
            return httpx.Response(
                200, json={"access_token": self.current_token, "expires_in": self.expires_in}
            )
        self.requests.append(request)
        if request.url.params.get("access_token") != self.current_token:
            await asyncio.sleep(0)
            errmsg = (
                f"invalid credential, access_token is invalid or not latest rid: {len(self.requests):08x}-rid"
            )
            return httpx.Response(200, json={"errcode": self.invalid_token_errcode, "errmsg": errmsg})
        script = self._scripts[path]
        reply = script.popleft() if script else self._defaults.get(path)
        if reply is None:
            raise AssertionError(f"unscripted call to {path}")
        return _respond(reply)


def _respond(reply: Reply) -> httpx.Response:
    if isinstance(reply, Exception):
        raise reply
    if isinstance(reply, tuple):
        status, body = reply
        return httpx.Response(status, content=body)
    if isinstance(reply, bytes):
        return httpx.Response(200, content=reply, headers={"Content-Type": "application/json"})
    return httpx.Response(200, json={"errcode": 0, "errmsg": "ok", **reply})


class Recorder:
    """Stands in for ``asyncio.sleep``: records the delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)
