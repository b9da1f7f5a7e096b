"""How every simulated API call is answered: fault injection, the token check, body decoding,
the endpoint's rule, and the ``{"errcode", "errmsg": "… rid: …"}`` envelope (spec §1).

Endpoints are plain functions in explicit tables (:mod:`.channels_api`, :mod:`.wecom_api`),
keyed by the path after ``/channels/ec/`` or ``/cgi-bin/``.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec

from desk.simulator.errcodes import BAD_JSON, BUSY, INVALID_ARGS, UNKNOWN_API, ApiError
from desk.simulator.faults import TOKEN_FAULT, Faults
from desk.simulator.tokens import TokenBook
from desk.simulator.world import UnknownObjectError, World

__all__ = ["ApiAnswer", "ApiContext", "Call", "Endpoint", "Reply", "Upload", "answer_call"]

T = TypeVar("T")
Reply = dict[str, Any]
"""The fields of a successful reply besides ``errcode``/``errmsg`` (values may be Structs)."""


@dataclass(frozen=True, slots=True)
class Upload:
    """A file of a multipart request (``commkf/cosupload``)."""

    filename: str
    size: int


@dataclass(frozen=True, slots=True)
class Call:
    """One API request as an endpoint sees it."""

    world: World
    tokens: TokenBook
    owner: str
    """The appid or corpid the access token belongs to ("" for the token endpoints)."""
    query: Mapping[str, str]
    body: bytes
    form: Mapping[str, str | Upload] = field(default_factory=dict)

    def decode(self, type_: type[T]) -> T:
        """The JSON body as ``type_``: 47001 if it is not JSON, 40097 if a field is wrong."""
        try:
            return msgspec.json.decode(self.body or b"{}", type=type_)
        except msgspec.ValidationError as exc:
            raise ApiError(INVALID_ARGS, f"invalid args: {exc}") from None
        except msgspec.DecodeError:
            raise ApiError(BAD_JSON, "data format error") from None


@dataclass(frozen=True, slots=True)
class Endpoint:
    handler: Callable[[Call], Reply]
    auth: str
    """``channels`` or ``wecom``: which API's access token the call needs; "" for none."""
    methods: frozenset[str] = frozenset({"POST"})

    @property
    def issues_token(self) -> bool:
        """Whether this is a token endpoint (the only calls that need no token)."""
        return not self.auth


@dataclass(slots=True)
class ApiContext:
    """What the endpoints share: the world, the token book, the fault policy."""

    world: World
    tokens: TokenBook
    faults: Faults
    calls: int = 0
    calls_by_path: Counter[str] = field(default_factory=Counter)
    """Requests per API path as received (faulted ones included): what tests count to prove that
    a change on the platform was asked for exactly once."""


@dataclass(frozen=True, slots=True)
class ApiAnswer:
    status_code: int
    body: bytes


_counter = itertools.count(1)
_rid_random = random.Random()  # noqa: S311 - request ids need only be distinct
_encoder = msgspec.json.Encoder()


def _rid() -> str:
    """A request id like the platform's ``rid: 6634a5b2-2b0a3c5d-2b9f8e1a``."""
    return f"{int(time.time()):08x}-{next(_counter) & 0xFFFFFFFF:08x}-{_rid_random.getrandbits(32):08x}"


def _envelope(errcode: int, errmsg: str, fields: Reply | None = None) -> bytes:
    reply: dict[str, Any] = {"errcode": errcode, "errmsg": f"{errmsg} rid: {_rid()}"}
    if fields:
        reply.update(fields)
    return _encoder.encode(reply)


async def answer_call(
    context: ApiContext,
    table: Mapping[str, Endpoint],
    *,
    path: str,
    method: str,
    query: Mapping[str, str],
    body: bytes,
    form: Mapping[str, str | Upload] | None = None,
) -> ApiAnswer:
    """The platform's answer to one API request."""
    context.calls += 1
    context.calls_by_path[path] += 1
    endpoint = table.get(path)
    if endpoint is None or method not in endpoint.methods:
        return ApiAnswer(
            404 if endpoint is None else 405, _envelope(UNKNOWN_API, f"api unauthorized: {path}")
        )
    fault = context.faults.draw(token_call=endpoint.issues_token)
    if fault == TOKEN_FAULT:
        return ApiAnswer(200, _envelope(BUSY, "system error"))
    if fault == "http500":
        return ApiAnswer(500, b"<html><body><h1>500 Internal Server Error</h1></body></html>")
    if fault == "busy":
        return ApiAnswer(200, _envelope(BUSY, "system error"))
    if fault == "timeout":
        await asyncio.sleep(context.faults.timeout_s)
        return ApiAnswer(504, b"")
    answer = _run(context, endpoint, query, body, form or {})
    if fault == "late_reply":
        await asyncio.sleep(context.faults.timeout_s)
    return answer


def _run(
    context: ApiContext,
    endpoint: Endpoint,
    query: Mapping[str, str],
    body: bytes,
    form: Mapping[str, str | Upload],
) -> ApiAnswer:
    try:
        owner = context.tokens.check(query.get("access_token", ""), endpoint.auth) if endpoint.auth else ""
        fields = endpoint.handler(Call(context.world, context.tokens, owner, query, body, form))
    except ApiError as exc:
        return ApiAnswer(200, _envelope(exc.errcode, exc.errmsg))
    except UnknownObjectError as exc:
        return ApiAnswer(200, _envelope(INVALID_ARGS, f"invalid args: {exc}"))
    return ApiAnswer(200, _envelope(0, "ok", fields))
