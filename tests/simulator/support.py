"""Test support for the simulator: a push receiver, API callers, waiting for pushes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl
from xml.etree import ElementTree as ET

import httpx
import uvicorn

from desk.platform.crypto import MsgCrypt
from desk.simulator import SimCorp, SimStore


@dataclass
class Received:
    path: str
    query: dict[str, str]
    body: bytes
    at: float


class PushReceiver:
    """A tiny ASGI app standing in for the desk's webhook: records pushes, answers as told."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.replies: deque[tuple[int, bytes]] = deque()
        self.delay = 0.0

    def reset(self) -> None:
        self.received.clear()
        self.replies.clear()
        self.delay = 0.0

    async def __call__(
        self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.received.append(
            Received(
                path=scope["path"],
                query=dict(parse_qsl(scope["query_string"].decode())),
                body=body,
                at=time.monotonic(),
            )
        )
        status, reply = self.replies.popleft() if self.replies else (200, b"success")
        if self.delay:
            await asyncio.sleep(self.delay)
        await send(
            {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]}
        )
        await send({"type": "http.response.body", "body": reply})

    def channels_events(self, store: SimStore) -> list[dict[str, Any]]:
        """Every push received for ``store``, verified and decrypted."""
        crypt = MsgCrypt(store.token, store.aes_key, store.appid)
        events = []
        for push in self.received:
            if not push.path.endswith(store.appid):
                continue
            envelope = json.loads(push.body)
            q = push.query
            events.append(
                json.loads(crypt.open(q["msg_signature"], q["timestamp"], q["nonce"], envelope["Encrypt"]))
            )
        return events

    def wecom_events(self, corp: SimCorp) -> list[dict[str, str]]:
        crypt = MsgCrypt(corp.token, corp.aes_key, corp.corpid)
        events = []
        for push in self.received:
            if not push.path.endswith(corp.corpid):
                continue
            encrypt = ET.fromstring(push.body).findtext("Encrypt") or ""
            q = push.query
            plain = crypt.open(q["msg_signature"], q["timestamp"], q["nonce"], encrypt)
            events.append({child.tag: child.text or "" for child in ET.fromstring(plain)})
        return events


class QuietServer(uvicorn.Server):
    """uvicorn inside the test's event loop, leaving the process's signal handlers alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def channels_token(api: httpx.AsyncClient, store: SimStore) -> str:
    reply = await api.get(
        "/cgi-bin/token",
        params={"grant_type": "client_credential", "appid": store.appid, "secret": store.secret},
    )
    return str(reply.json()["access_token"])


async def wecom_token(api: httpx.AsyncClient, corp: SimCorp) -> str:
    reply = await api.get("/cgi-bin/gettoken", params={"corpid": corp.corpid, "corpsecret": corp.secret})
    return str(reply.json()["access_token"])


class Channels:
    """Calls ``/channels/ec/<path>`` with a token, returning the decoded JSON."""

    def __init__(self, api: httpx.AsyncClient, token: str) -> None:
        self.api = api
        self.token = token

    async def __call__(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        reply = await self.api.post(
            f"/channels/ec/{path}", params={"access_token": self.token}, json=body or {}
        )
        assert reply.status_code == 200, reply.text
        return dict(reply.json())


class WeCom:
    def __init__(self, api: httpx.AsyncClient, token: str) -> None:
        self.api = api
        self.token = token

    async def __call__(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        reply = await self.api.post(f"/cgi-bin/{path}", params={"access_token": self.token}, json=body or {})
        assert reply.status_code == 200, reply.text
        return dict(reply.json())


async def eventually(predicate: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Wait until ``predicate()`` holds (pushes arrive asynchronously)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
