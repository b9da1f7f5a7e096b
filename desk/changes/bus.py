"""The change bus of one process: publish after commit, deliver to this process's listeners.

Publishing goes through Litestar's :class:`~litestar.channels.ChannelsPlugin` on one channel —
the memory backend on the embedded footprint, Redis pub/sub when ``DESK_REDIS_URL`` is set, so
every app and worker process hears every event. Listeners (live pages over SSE) register with
the bus of their own process and get the events of the stores they may see.

The ``change_event`` table is the truth; the channel only makes delivery fast. So that nothing is
lost when the channel is not (Redis restarting, a publish dropped), the bus also reads the table
every ``poll_s`` seconds for events it has not delivered yet — newer than the newest it has seen,
or in a gap below it (ids are taken before commit, so a slow transaction can commit a smaller id
after a larger one; a gap still empty after ``gap_ttl_s`` was a rolled-back transaction). Each id
is delivered at most once per process, whichever way it arrived first.

A heartbeat goes round the channel every poll; when it stops coming back, the plugin is restarted
(its backend tasks end for good when Redis drops the connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass, field

import msgspec
import sqlalchemy as sa
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from redis.asyncio import Redis

from desk.changes.events import AnyChange, decode_change, encode_change
from desk.changes.models import ChangeEvent
from desk.changes.record import Recorded, register_bus, unregister_bus
from desk.db import Database

__all__ = ["CHANNEL", "ChangeBus", "Listener"]

log = logging.getLogger(__name__)

CHANNEL = "desk.changes"
_table = ChangeEvent.__table__
_SEEN_MAX = 50_000
_GAPS_MAX = 2_000


class _Envelope(msgspec.Struct, frozen=True):
    id: int
    change: dict[str, object] | None = None
    """None for a heartbeat."""
    beat: str = ""


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(_Envelope).decode


@dataclass(eq=False)
class Listener:
    """One consumer's view of the bus: the events of ``store_ids`` (None: every store)."""

    store_ids: frozenset[int] | None
    queue: asyncio.Queue[Recorded] = field(default_factory=lambda: asyncio.Queue(maxsize=5000))
    overflowed: bool = False
    """Events were dropped because the consumer fell behind: it must re-read what it shows."""

    def wants(self, change: AnyChange) -> bool:
        return self.store_ids is None or change.store_id is None or change.store_id in self.store_ids

    def offer(self, item: Recorded) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.overflowed = True

    async def get(self, timeout: float | None = None) -> Recorded | None:  # noqa: ASYNC109 - a poll API
        """The next event, or None after ``timeout`` seconds without one."""
        if timeout is None:
            return await self.queue.get()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                return await self.queue.get()
        return None


class ChangeBus:
    """A background service of the runtime; see the module docstring."""

    def __init__(
        self,
        db: Database,
        redis: Redis | None = None,
        *,
        poll_s: float = 1.0,
        gap_ttl_s: float = 60.0,
    ) -> None:
        self.db = db
        self.redis = redis
        self.poll_s = poll_s
        self.gap_ttl_s = gap_ttl_s
        self._plugin: ChannelsPlugin | None = None
        self._listeners: set[Listener] = set()
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._gaps: dict[int, float] = {}
        self._high = 0
        self._poll_task: asyncio.Task[None] | None = None
        self._pump_task: asyncio.Task[None] | None = None
        self._beat = ""
        self._beat_back = True
        self.delivered = 0
        """Events delivered to listeners so far (by any path), for tests and monitoring."""
        self.recovered = 0
        """Of those, how many were found by reading the table rather than heard on the channel."""

    # -- service ------------------------------------------------------------------------------------

    async def start(self) -> None:
        async with self.db.engine.connect() as conn:
            self._high = int((await conn.execute(sa.select(sa.func.max(_table.c.id)))).scalar() or 0)
        try:
            await self._start_plugin()
        except Exception as exc:  # Redis is away: start anyway, reading the table until it is back
            log.warning("change bus: channel unavailable (%s); reading the table meanwhile", exc)
            await self._stop_plugin()
        self._poll_task = asyncio.create_task(self._poll_loop(), name="change-bus-poll")
        register_bus(self.db.engine, self)

    async def stop(self) -> None:
        unregister_bus(self.db.engine)
        await _cancel(self._poll_task)
        self._poll_task = None
        await self._stop_plugin()

    def _backend(self) -> ChannelsBackend:
        if self.redis is None:
            return MemoryChannelsBackend()
        # Redis pub/sub channels are server-wide, not per database: the database number keeps
        # desks (and test runs) sharing one Redis server apart.
        db = self.redis.connection_pool.connection_kwargs.get("db", 0)
        return RedisChannelsPubSubBackend(redis=self.redis, key_prefix=f"DESK{db}")

    async def _start_plugin(self) -> None:
        plugin = ChannelsPlugin(backend=self._backend(), channels=[CHANNEL])
        self._plugin = plugin  # set first, so a failed start is cleaned up by _stop_plugin
        await plugin.__aenter__()
        subscriber = await plugin.subscribe(CHANNEL)
        self._pump_task = asyncio.create_task(self._pump(subscriber.iter_events()), name="change-bus-pump")
        self._beat_back = True

    async def _stop_plugin(self) -> None:
        await _cancel(self._pump_task)
        self._pump_task = None
        plugin, self._plugin = self._plugin, None
        if plugin is not None:
            with contextlib.suppress(Exception):  # a dead Redis connection may fail its shutdown
                async with asyncio.timeout(5):
                    await plugin.__aexit__(None, None, None)

    # -- publishing ---------------------------------------------------------------------------------

    def publish(self, recorded: Sequence[Recorded]) -> None:
        """Announce committed events: to this process's listeners at once, to others over the channel."""
        for event_id, change in recorded:
            self._deliver(event_id, change)
            if self._plugin is not None:
                try:
                    self._plugin.publish(_encode(_Envelope(event_id, encode_change(change))), CHANNEL)
                except Exception:  # the table poll of other processes finds it instead
                    log.warning("change bus: could not publish event %d", event_id, exc_info=True)

    # -- listening ----------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def listen(self, store_ids: Collection[int] | None) -> AsyncIterator[Listener]:
        """Receive the events of ``store_ids`` (None: all stores) while the block runs."""
        listener = Listener(frozenset(store_ids) if store_ids is not None else None)
        self._listeners.add(listener)
        try:
            yield listener
        finally:
            self._listeners.discard(listener)

    async def since(
        self, after: int, store_ids: Collection[int] | None, *, limit: int = 1000
    ) -> list[Recorded]:
        """Committed events with an id above ``after`` in ``store_ids``, oldest first (catch-up)."""
        stmt = sa.select(_table.c.id, _table.c.payload).where(_table.c.id > after)
        if store_ids is not None:
            stmt = stmt.where(sa.or_(_table.c.store_id.in_(list(store_ids)), _table.c.store_id.is_(None)))
        async with self.db.engine.connect() as conn:
            rows = (await conn.execute(stmt.order_by(_table.c.id).limit(limit))).all()
        return [(int(row.id), decode_change(row.payload)) for row in rows]

    def reset(self) -> None:
        """Forget every id seen (tests empty the table between them, and ids start over)."""
        self._seen.clear()
        self._gaps.clear()
        self._high = 0

    @property
    def high_water(self) -> int:
        """The newest event id this process has seen."""
        return self._high

    # -- delivery -----------------------------------------------------------------------------------

    def _deliver(self, event_id: int, change: AnyChange, *, recovered: bool = False) -> None:
        if event_id in self._seen:
            return
        self._seen[event_id] = None
        if len(self._seen) > _SEEN_MAX:
            self._seen.popitem(last=False)
        self._gaps.pop(event_id, None)
        if event_id > self._high:
            now = time.monotonic()
            for missing in range(max(self._high + 1, event_id - _GAPS_MAX), event_id):
                if missing not in self._seen:
                    self._gaps[missing] = now
            self._high = event_id
        self.delivered += 1
        self.recovered += recovered
        for listener in self._listeners:
            if listener.wants(change):
                listener.offer((event_id, change))

    async def _pump(self, events: AsyncIterator[bytes]) -> None:
        async for raw in events:
            try:
                envelope = _decode(raw)
                if envelope.change is None:
                    if envelope.beat == self._beat:
                        self._beat_back = True
                    continue
                self._deliver(envelope.id, decode_change(envelope.change))
            except Exception:  # one bad message must not stop the pump
                log.warning("change bus: dropped an unreadable message", exc_info=True)

    async def _poll_loop(self) -> None:
        while True:
            await asyncio.sleep(self.poll_s)
            try:
                await self._check_channel()
                await self.poll()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database is away, say: try again next round
                log.warning("change bus: poll failed", exc_info=True)

    async def _check_channel(self) -> None:
        if self._plugin is not None and not self._beat_back:
            log.warning("change bus: the channel stopped delivering; reading the table until it is back")
            await self._stop_plugin()
        if self._plugin is None:
            try:
                await self._start_plugin()
            except Exception:  # Redis still away: the table poll carries on alone
                await self._stop_plugin()
                return
            log.info("change bus: channel connected")
        plugin = self._plugin
        if plugin is None:
            return
        self._beat = f"{id(self)}:{time.monotonic()}"
        self._beat_back = False
        try:
            plugin.publish(_encode(_Envelope(0, None, self._beat)), CHANNEL)
        except Exception:  # noted when the beat does not come back
            return

    async def poll(self) -> int:
        """Deliver committed events this process has not seen; returns how many were found."""
        now = time.monotonic()
        for gap, since in list(self._gaps.items()):
            if now - since > self.gap_ttl_s:
                del self._gaps[gap]
        where = _table.c.id > self._high
        if self._gaps:
            where = sa.or_(where, _table.c.id.in_(sorted(self._gaps)[:500]))
        async with self.db.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(_table.c.id, _table.c.payload).where(where).order_by(_table.c.id).limit(1000)
                )
            ).all()
        found = 0
        for row in rows:
            if int(row.id) not in self._seen:
                found += 1
                self._deliver(int(row.id), decode_change(row.payload), recovered=True)
        return found


async def _cancel(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
