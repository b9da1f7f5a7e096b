"""Delivering pushes like the platform does: signed, encrypted, in parallel, retried until acked.

A Channels store push is a POST of ``{"ToUserName", "Encrypt"}`` to the store's URL with
``signature, timestamp, nonce, encrypt_type=aes, msg_signature`` in the query (spec §5); a WeCom
callback is the XML envelope with ``msg_signature, timestamp, nonce`` (spec §8). Only an HTTP 200
whose body is ``success`` or empty counts as acknowledged; anything else — another status or
body, a connection error, no answer within 5 s — is retried on the platform's schedule, at most
10 pushes in all, with the delays multiplied by ``time_scale``. Every attempt is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import ssl
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from urllib.parse import urlencode

import httpx
import msgspec

from desk.platform.crypto import MsgCrypt
from desk.simulator.clock import Clock, wall_clock
from desk.simulator.payloads import wecom_envelope

__all__ = [
    "CHANNELS_RETRY_DELAYS",
    "WECOM_RETRY_DELAYS",
    "OutgoingPush",
    "PushAttempt",
    "PushDispatcher",
]

log = logging.getLogger(__name__)

CHANNELS_RETRY_DELAYS = (0.0, 0.0, 10.0, 60.0, 300.0, 1800.0, 3600.0, 3600.0, 3600.0)
"""Seconds before each retry: 10 pushes in all over about 3.6 hours (spec §5) [V]."""

WECOM_RETRY_DELAYS = (5.0, 10.0, 30.0)
"""WeCom retries a callback 3 times (spec §8) [V]; the spacing is not documented [U]."""

ACK_BODIES = (b"", b"success")


@dataclass(slots=True)
class OutgoingPush:
    """One event on its way to a push URL, through all of its attempts."""

    kind: str
    """``channels`` (JSON) or ``wecom`` (XML)."""
    url: str
    crypt: MsgCrypt
    to_user: str
    event: str
    ref: str
    """The business id the event is about: order, after-sale, message id, kf open_kfid."""
    plaintext: bytes
    create_time: int
    status: str = ""
    """The status the event reports, when it reports one (part of its de-dup identity)."""
    agent_id: str = ""
    id: int = 0
    attempts: int = 0
    encrypt: str = field(default="", repr=False)


@dataclass(slots=True, frozen=True)
class PushAttempt:
    """One HTTP attempt at a push, as ``Simulator.push_log`` lists it."""

    push_id: int
    attempt: int
    url: str
    event: str
    ref: str
    status: str
    create_time: int
    at: float
    """Simulator clock time of the attempt."""
    monotonic: float
    """:func:`time.monotonic` of the attempt, to measure real spacing between retries."""
    http_status: int | None
    body: str
    acked: bool
    error: str = ""
    dropped: bool = False
    final: bool = False
    """The last attempt of this push: acknowledged, given up, or dropped."""


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context for every push client: loading the CA certificates takes ~50 ms."""
    return ssl.create_default_context()


class PushDispatcher:
    """A queue of pushes and ``concurrency`` workers that deliver them over HTTP."""

    def __init__(
        self,
        clock: Clock,
        *,
        time_scale: float = 1.0,
        concurrency: int = 32,
        timeout: float = 5.0,
        log_limit: int = 200_000,
        seed: int = 0,
    ) -> None:
        self.clock = clock
        self.time_scale = time_scale
        self.concurrency = concurrency
        self.timeout = timeout
        self.log: deque[PushAttempt] = deque(maxlen=log_limit)
        self.outcomes: Counter[str] = Counter()
        self._queue: asyncio.Queue[OutgoingPush] = asyncio.Queue()
        self._workers: list[asyncio.Task[None]] = []
        self._timers: set[asyncio.TimerHandle] = set()
        self._outstanding = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.drop_pending = 0
        """How many of the next pushes will be lost (see :meth:`drop_next`)."""
        self.drop_rate = 0.0
        """The share of the other pushes lost at random (see :meth:`set_drop_rate`)."""
        self._drop_rng = random.Random(f"{seed}:push-drop")  # noqa: S311 - simulation
        self._next_id = 0
        self._nonce = random.Random()  # noqa: S311 - nonces need only be unlikely to repeat

    # -- producing ----------------------------------------------------------------------------

    def enqueue(self, push: OutgoingPush) -> None:
        """Queue ``push`` (callable without a running loop; workers pick it up once started)."""
        self._next_id += 1
        push.id = self._next_id
        if self.drop_pending > 0 or (self.drop_rate > 0 and self._drop_rng.random() < self.drop_rate):
            self.drop_pending = max(0, self.drop_pending - 1)
            self.outcomes["dropped"] += 1
            self._record(push, None, "", acked=False, dropped=True, final=True)
            return
        self._outstanding += 1
        self._idle.clear()
        self._queue.put_nowait(push)

    def drop_next(self, n: int) -> None:
        """Lose the next ``n`` pushes without a trace on the wire (they stay in the log)."""
        self.drop_pending += n

    def set_drop_rate(self, rate: float) -> None:
        """Lose each new push with probability ``rate`` (0–1), never retried: the platform's
        "pushes can go missing" that only reconciliation recovers (spec §5)."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"drop rate must be between 0 and 1, not {rate}")
        self.drop_rate = rate

    @property
    def pending(self) -> int:
        """Pushes queued, in flight or waiting for a retry."""
        return self._outstanding

    # -- running ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the workers on the running event loop (idempotent)."""
        if self._workers:
            return
        self._workers = [
            asyncio.create_task(self._work(), name=f"sim-push-{n}") for n in range(self.concurrency)
        ]

    async def stop(self) -> None:
        """Stop delivering; pushes still queued or waiting for a retry are abandoned."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        for task in self._workers:
            task.cancel()
        for task in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers = []

    async def drain(self, timeout: float) -> None:  # noqa: ASYNC109 - a deadline for the whole wait
        """Wait until every push was acknowledged or given up.

        Raises:
            TimeoutError: pushes are still outstanding after ``timeout`` seconds.
        """
        self.start()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            raise TimeoutError(f"{self._outstanding} pushes still outstanding after {timeout} s") from None

    async def _work(self) -> None:
        # One client per worker: each sends one push at a time over its own keep-alive
        # connection. (A shared pool with a deep queue spends its time re-scanning the queue.)
        async with httpx.AsyncClient(timeout=self.timeout, verify=_tls_context()) as http:
            while True:
                push = await self._queue.get()
                try:
                    await self._attempt(http, push)
                except Exception:  # a bug here must not silently stop a worker
                    log.exception("push %s to %s failed unexpectedly", push.event, push.url)
                    self._finish(push, "given_up")

    async def _attempt(self, http: httpx.AsyncClient, push: OutgoingPush) -> None:
        push.attempts += 1
        url, body, headers = self._sealed(push)
        http_status: int | None = None
        text, error = "", ""
        try:
            response = await http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            error = type(exc).__name__
            acked = False
        else:
            http_status = response.status_code
            text = response.text[:200]
            acked = http_status == 200 and response.content in ACK_BODIES
        delays = CHANNELS_RETRY_DELAYS if push.kind == "channels" else WECOM_RETRY_DELAYS
        final = acked or push.attempts > len(delays)
        self._record(push, http_status, text, acked=acked, error=error, final=final)
        if acked:
            self._finish(push, "acked")
        elif final:
            log.info("push %s %s given up after %d attempts", push.event, push.ref, push.attempts)
            self._finish(push, "given_up")
        else:
            self._retry_later(push, delays[push.attempts - 1] * self.time_scale)

    def _retry_later(self, push: OutgoingPush, delay: float) -> None:
        if delay <= 0:
            self._queue.put_nowait(push)
            return
        loop = asyncio.get_running_loop()

        def requeue() -> None:
            self._timers.discard(handle)
            self._queue.put_nowait(push)

        handle = loop.call_later(delay, requeue)
        self._timers.add(handle)

    def _finish(self, push: OutgoingPush, outcome: str) -> None:
        self.outcomes[outcome] += 1
        self._outstanding -= 1
        if self._outstanding == 0:
            self._idle.set()

    def _sealed(self, push: OutgoingPush) -> tuple[str, bytes, dict[str, str]]:
        """URL, body and headers of one attempt: encrypted once, signed afresh every time."""
        if not push.encrypt:
            push.encrypt = push.crypt.encrypt(push.plaintext)
        # Signed with the wall clock, not the simulated one: the desk refuses pushes whose signed
        # time is minutes away from its own clock, and a test that moves the simulated clock
        # (to expire tokens, say) still delivers its pushes now.
        timestamp = str(int(wall_clock()))
        nonce = str(self._nonce.randrange(10**9, 10**10))
        msg_signature = push.crypt.signature(timestamp, nonce, push.encrypt)
        if push.kind == "channels":
            query = {
                "signature": push.crypt.signature(timestamp, nonce),
                "timestamp": timestamp,
                "nonce": nonce,
                "encrypt_type": "aes",
                "msg_signature": msg_signature,
            }
            body = msgspec.json.encode({"ToUserName": push.to_user, "Encrypt": push.encrypt})
            content_type = "application/json"
        else:
            query = {"msg_signature": msg_signature, "timestamp": timestamp, "nonce": nonce}
            body = wecom_envelope(push.to_user, push.agent_id, push.encrypt).encode()
            content_type = "text/xml"
        separator = "&" if "?" in push.url else "?"
        return f"{push.url}{separator}{urlencode(query)}", body, {"content-type": content_type}

    def _record(
        self,
        push: OutgoingPush,
        http_status: int | None,
        body: str,
        *,
        acked: bool,
        error: str = "",
        dropped: bool = False,
        final: bool = False,
    ) -> None:
        self.log.append(
            PushAttempt(
                push_id=push.id,
                attempt=push.attempts,
                url=push.url,
                event=push.event,
                ref=push.ref,
                status=push.status,
                create_time=push.create_time,
                at=self.clock(),
                monotonic=time.monotonic(),
                http_status=http_status,
                body=body,
                acked=acked,
                error=error,
                dropped=dropped,
                final=final,
            )
        )
