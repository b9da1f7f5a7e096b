"""Receiving a push: find the store, verify, decrypt, decode, store — or refuse with a reason.

The rules (spec §5, §8) in one place, free of HTTP details so the webhook handlers stay thin:

* unknown push URL key → 404; bad or missing signature → 401;
* a signed timestamp more than ``DESK_PUSH_MAX_SKEW`` seconds away from our clock → 401 (below);
* a body that is not a push envelope, cannot be decrypted, is addressed to another receive-id
  (appid / corpid) or does not decode to an event → 400;
* the event store failing → 503, so the platform retries later.

Nothing is stored unless every check passed; a push is acknowledged only once it is committed.
Events desk has no handler for are stored as ``ignored`` (the platform adds events over time and a
new one must never be refused).

Why 401 for a push too old or from the future: the timestamp is part of what the signature
proves, so a push whose proof is out of date is not a genuine current push, like one with a bad
signature. The platform treats every answer but ``success`` alike — it retries at most 10 times
over about 3.6 hours (spec §5; WeCom 3 times, §8) and then gives up — so no status makes it retry
forever, and none stops it early. A push held up that long is recovered by reconciliation.
Handshakes (the URL check) are not held to the clock: they store nothing, and a replayed one only
echoes what the platform sent before.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable

import msgspec

from desk.ingest.credentials import CorpCredentials, CredentialCache, StoreCredentials
from desk.ingest.models import EventSource, EventState
from desk.ingest.writer import EventRow, EventWriter, WriterUnavailableError
from desk.platform.crypto import CryptoError, MsgCrypt
from desk.platform.events import (
    EventDecodeError,
    decode_channels_event,
    decode_wecom_event,
    parse_wecom_envelope,
)

__all__ = ["MAX_PUSH_BYTES", "PushReceiver", "PushRefusedError", "require_fresh"]

log = logging.getLogger(__name__)

MAX_PUSH_BYTES = 1024 * 1024
"""Larger bodies are refused (400) before they are read: real pushes are a few kilobytes."""

_DEDUP_KEY_MAX = 200  # PlatformEvent.dedup_key
_EVENT_TYPE_MAX = 64  # PlatformEvent.event_type
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")  # ASCII only: int() would also take " 1", "1_0", "١"


class PushRefusedError(Exception):
    """A push that is not stored; ``status`` is the HTTP answer, ``reason`` what to log."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class _ChannelsBody(msgspec.Struct):
    """The outer JSON of a Channels push (encrypted mode, the only one the platform offers)."""

    Encrypt: str
    ToUserName: str = ""


_channels_body = msgspec.json.Decoder(_ChannelsBody)


class PushReceiver:
    """Verifies and stores pushes for every store and corp of this desk."""

    def __init__(
        self,
        credentials: CredentialCache,
        writer: EventWriter,
        *,
        max_skew_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._credentials = credentials
        self._writer = writer
        self._max_skew_s = max_skew_s
        self._clock = clock

    # -- Channels store pushes (JSON, receive-id = appid) ---------------------------------------

    async def channels_handshake(self, key: str, signature: str, timestamp: str, nonce: str) -> None:
        """The URL check when an admin saves the push URL: the plain ``signature`` must match."""
        store = await self._store_for(key)
        _verify(store.crypt, signature, timestamp, nonce)

    async def channels_push(
        self, key: str, msg_signature: str, timestamp: str, nonce: str, body: bytes
    ) -> None:
        """Store one Channels push; return once it is committed."""
        store = await self._store_for(key)
        try:
            envelope = _channels_body.decode(body)
        except msgspec.DecodeError as exc:
            raise PushRefusedError(400, f"not a push envelope: {exc}") from None
        message = self._open(store.crypt, msg_signature, timestamp, nonce, envelope.Encrypt)
        payload = _text(message)
        try:
            event = decode_channels_event(message)
        except EventDecodeError as exc:
            raise PushRefusedError(400, str(exc)) from None
        state = EventState.IGNORED if event.kind == "unknown" else EventState.PENDING
        if state is EventState.IGNORED:
            log.info("storing push %r for store %d as ignored: no handler", event.Event, store.store_id)
        row = EventRow(
            source=EventSource.CHANNELS,
            store_id=store.store_id,
            corp_id=None,
            event_type=(event.Event or "?")[:_EVENT_TYPE_MAX],
            dedup_key=_bounded(event.dedup_key()),
            payload=payload,
            state=state,
        )
        await self._store(row)

    # -- WeCom callbacks (XML, receive-id = corpid) ---------------------------------------------

    async def wecom_handshake(
        self, key: str, msg_signature: str, timestamp: str, nonce: str, echostr: str
    ) -> str:
        """The URL check of a WeCom app: verify, then answer the decrypted ``echostr``."""
        corp = await self._corp_for(key)
        _verify(corp.crypt, msg_signature, timestamp, nonce, echostr)
        return _text(_decrypt(corp.crypt, echostr))

    async def wecom_push(self, key: str, msg_signature: str, timestamp: str, nonce: str, body: bytes) -> None:
        """Store one WeCom callback; return once it is committed."""
        corp = await self._corp_for(key)
        try:
            envelope = parse_wecom_envelope(body)
        except EventDecodeError as exc:
            raise PushRefusedError(400, str(exc)) from None
        message = self._open(corp.crypt, msg_signature, timestamp, nonce, envelope.Encrypt)
        payload = _text(message)
        try:
            event = decode_wecom_event(message)
        except EventDecodeError as exc:
            raise PushRefusedError(400, str(exc)) from None
        state = EventState.IGNORED if event.kind == "unknown" else EventState.PENDING
        if state is EventState.IGNORED:
            log.info("storing WeCom callback %r for corp %d as ignored", event.Event, corp.corp_id)
        row = EventRow(
            source=EventSource.WECOM,
            store_id=None,
            corp_id=corp.corp_id,
            event_type=(event.Event or event.MsgType or "?")[:_EVENT_TYPE_MAX],
            dedup_key=_bounded(event.dedup_key()),
            payload=payload,
            state=state,
        )
        await self._store(row)

    def _open(self, crypt: MsgCrypt, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> bytes:
        """Verify the signature, then the timestamp it vouches for, then decrypt (cheapest first)."""
        _verify(crypt, msg_signature, timestamp, nonce, encrypt)
        require_fresh(timestamp, now=self._clock(), max_skew_s=self._max_skew_s)
        return _decrypt(crypt, encrypt)

    async def _store_for(self, key: str) -> StoreCredentials:
        try:
            store = await self._credentials.store(key)
        except Exception as exc:  # database down, or the secret key changed: ours to fix, retry later
            raise PushRefusedError(503, f"cannot look up the store: {type(exc).__name__}: {exc}") from None
        if store is None:
            raise PushRefusedError(404, "unknown store key")
        return store

    async def _corp_for(self, key: str) -> CorpCredentials:
        try:
            corp = await self._credentials.corp(key)
        except Exception as exc:  # as above
            raise PushRefusedError(503, f"cannot look up the corp: {type(exc).__name__}: {exc}") from None
        if corp is None:
            raise PushRefusedError(404, "unknown corp key")
        return corp

    async def _store(self, row: EventRow) -> None:
        try:
            await self._writer.submit(row)
        except WriterUnavailableError as exc:
            raise PushRefusedError(503, str(exc)) from None


def require_fresh(timestamp: str, *, now: float, max_skew_s: float) -> None:
    """Refuse a push whose signed ``timestamp`` is more than ``max_skew_s`` seconds from ``now``.

    The signature covers the timestamp, so once it verifies this bounds how late a captured push
    can be replayed; the allowance either way covers clock drift and the platform's queueing.

    Raises:
        PushRefusedError: 400 when the timestamp is not Unix seconds, 401 when it is too far off.
    """
    if not _UNIX_SECONDS.fullmatch(timestamp):
        raise PushRefusedError(400, f"timestamp {timestamp[:20]!r} is not Unix seconds")
    offset = int(timestamp) - now
    if abs(offset) <= max_skew_s:
        return
    when = f"{-offset:.0f} s old" if offset < 0 else f"{offset:.0f} s in the future"
    raise PushRefusedError(
        401,
        f"push timestamp {timestamp} is {when}, more than the {max_skew_s:g} s allowed "
        "(DESK_PUSH_MAX_SKEW): a replayed or delayed push, or a server clock out of sync",
    )


def _verify(crypt: MsgCrypt, signature: str, timestamp: str, nonce: str, encrypt: str = "") -> None:
    try:
        crypt.verify(signature, timestamp, nonce, encrypt)
    except CryptoError as exc:
        raise PushRefusedError(401, exc.reason) from None


def _decrypt(crypt: MsgCrypt, encrypt: str) -> bytes:
    try:
        message, _ = crypt.decrypt(encrypt)
    except CryptoError as exc:
        raise PushRefusedError(400, exc.reason) from None
    return message


def _text(message: bytes) -> str:
    # Stored as text exactly as received; NUL cannot be stored in a PostgreSQL text column and
    # never occurs in a well-formed JSON or XML push.
    try:
        text = message.decode("utf-8")
    except UnicodeDecodeError:
        raise PushRefusedError(400, "decrypted message is not UTF-8") from None
    if "\x00" in text:
        raise PushRefusedError(400, "decrypted message contains NUL")
    return text


def _bounded(dedup_key: str) -> str:
    """The de-duplication key, hashed when it would not fit its column (still stable per push)."""
    if len(dedup_key) <= _DEDUP_KEY_MAX:
        return dedup_key
    return "sha256:" + hashlib.sha256(dedup_key.encode()).hexdigest()
