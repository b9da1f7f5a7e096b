"""The push endpoints the platform calls: ``/webhooks/channels/{key}`` and ``/webhooks/wecom/{key}``.

GET is the URL check (handshake), POST a push. Thin on purpose: read the query and the
size-capped body, hand them to :class:`PushReceiver`, answer; a refusal is logged with its reason
and answered with its status and a JSON ``{"status_code", "detail"}`` like every other error.

These are plain ASGI handlers rather than Litestar request handlers: pushes are the hottest path
in desk (thousands a second while a store is live-streaming) and need none of the per-request
work a handler gets — parameter models, response objects, content negotiation. The session, auth
and CSRF middleware skip ``/webhooks/``; the signature is the authentication.
"""

from __future__ import annotations

import logging
from typing import Literal
from urllib.parse import unquote_plus

import msgspec
from litestar import asgi
from litestar.enums import ScopeType
from litestar.types import Receive, Scope, Send

from desk.ingest.receiver import MAX_PUSH_BYTES, PushReceiver, PushRefusedError

__all__ = ["ROUTES"]

log = logging.getLogger(__name__)

Source = Literal["channels", "wecom"]

SUCCESS = b"success"  # what a Channels push must answer (spec §5); WeCom: an empty 200 (spec §8)
_TEXT = [(b"content-type", b"text/plain; charset=utf-8")]
_JSON = [(b"content-type", b"application/json")]


class _Refusal(msgspec.Struct):
    status_code: int
    detail: str


# Mounted (``is_mount``): Litestar's router does not give ASGI handlers path parameters, so the
# key is the rest of the path — one segment, anything else is an unknown URL.
@asgi("/webhooks/channels", name="webhooks:channels", is_mount=True, copy_scope=False)
async def channels_webhook(scope: Scope, receive: Receive, send: Send) -> None:
    """``/webhooks/channels/{store_key}``: GET answers ``echostr`` when signed, POST stores a push."""
    await _handle(scope, receive, send, "channels")


@asgi("/webhooks/wecom", name="webhooks:wecom", is_mount=True, copy_scope=False)
async def wecom_webhook(scope: Scope, receive: Receive, send: Send) -> None:
    """``/webhooks/wecom/{corp_key}``: GET answers the decrypted ``echostr``, POST stores a callback."""
    await _handle(scope, receive, send, "wecom")


async def _handle(scope: Scope, receive: Receive, send: Send, source: Source) -> None:
    if scope["type"] != ScopeType.HTTP:  # a websocket to a push URL: not the platform, nothing to answer
        return
    key = scope["path"].strip("/")
    if not key or "/" in key:
        await _respond(send, 404, _JSON, msgspec.json.encode(_Refusal(404, "not found")))
        return
    receiver: PushReceiver = scope["app"].state.ingest.receiver
    query = _query(scope["query_string"])
    signature, timestamp, nonce = (
        query.get("msg_signature", ""),
        query.get("timestamp", ""),
        query.get("nonce", ""),
    )
    try:
        if scope["method"] == "GET":
            if source == "channels":
                await receiver.channels_handshake(key, query.get("signature", ""), timestamp, nonce)
                answer = query.get("echostr", "").encode()
            else:
                echostr = query.get("echostr", "")
                answer = (await receiver.wecom_handshake(key, signature, timestamp, nonce, echostr)).encode()
        elif scope["method"] == "POST":
            body = await _body(scope, receive)
            if source == "channels":
                await receiver.channels_push(key, signature, timestamp, nonce, body)
                answer = SUCCESS
            else:
                await receiver.wecom_push(key, signature, timestamp, nonce, body)
                answer = b""
        else:
            raise PushRefusedError(405, f"{scope['method']} is not accepted here")
    except PushRefusedError as refusal:
        client = scope.get("client")
        remote = client[0] if client else "?"
        level = logging.ERROR if refusal.status >= 500 else logging.WARNING
        # The reason and where it came from; never the body or a credential.
        log.log(level, "refused %s push to key %r from %s: %s", source, key, remote, refusal.reason)
        await _respond(
            send, refusal.status, _JSON, msgspec.json.encode(_Refusal(refusal.status, refusal.reason))
        )
        return
    await _respond(send, 200, _TEXT, answer)


def _query(raw: bytes) -> dict[str, str]:
    """The query string's parameters, first value of each (what the platform sends is plain)."""
    params: dict[str, str] = {}
    for part in raw.decode("latin-1").split("&"):
        name, _, value = part.partition("=")
        if "%" in part or "+" in part:  # rare: percent-decode only then (parse_qsl costs more)
            name, value = unquote_plus(name), unquote_plus(value)
        params.setdefault(name, value)
    return params


async def _body(scope: Scope, receive: Receive) -> bytes:
    """The request body; refused (400) past :data:`MAX_PUSH_BYTES` before reading more than that."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                announced = int(value)
            except ValueError:
                raise PushRefusedError(400, "invalid Content-Length") from None
            if announced > MAX_PUSH_BYTES:
                raise PushRefusedError(400, f"body of {announced} bytes is over the 1 MB limit")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect
            raise PushRefusedError(400, "client disconnected before sending the whole body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_PUSH_BYTES:
            raise PushRefusedError(400, "body is over the 1 MB limit")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _respond(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


ROUTES = [channels_webhook, wecom_webhook]
