"""The live stream of a signed-in agent: one Server-Sent Events connection per open workbench.

It carries *signals*, not content: ``queue`` (something in the agent's stores changed: refresh the
list), ``thread-<id>`` (that conversation has news: refresh it if open; the data is the new
message's id when there is one), ``assigned`` (a conversation was given to this agent: its id)
and ``resync`` (refresh everything). The page fetches what changed through its normal partials,
so what it shows is always the current state, however many signals it missed.

Signals are coalesced: the changes arriving within :data:`COALESCE_S` of each other go out as one
``queue`` and one ``thread-<id>`` per conversation. Each carries the id of the newest change it
covers as its SSE ``id``; a page that reconnects (``Last-Event-ID``, or ``?after=`` when the
browser opened a new EventSource) first gets the signals of every change it missed, then
``resync``. A comment every :data:`HEARTBEAT_S` keeps proxies from closing the connection and tells
the desk the agent's page is open (presence).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Annotated

from litestar import Request, get
from litestar.datastructures import State
from litestar.params import HeaderParameter, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from desk.accounts.auth import requires_role
from desk.accounts.models import Role, User
from desk.accounts.scoping import store_ids_for
from desk.changes.bus import Listener
from desk.changes.events import (
    AfterSaleChanged,
    AnyChange,
    CommandChanged,
    ConversationChanged,
    MessageAdded,
    OrderChanged,
)
from desk.changes.record import Recorded
from desk.inbox.presence import heartbeat
from desk.runtime import Runtime

__all__ = ["COALESCE_S", "HEARTBEAT_S", "ROUTES", "Signals", "signals_for", "stream"]

log = logging.getLogger(__name__)

COALESCE_S = 0.04
"""How long to gather changes before signalling: a burst becomes one refresh, a lone change waits
no longer than this."""
HEARTBEAT_S = 20.0
CATCH_UP_MARGIN = 200
"""Event ids are taken before commit, so one below a page's last id may commit after it: the
catch-up starts this many ids earlier (signals are idempotent: a refresh too many costs nothing)."""
CATCH_UP_MAX = 2000


@dataclass
class Signals:
    """What a batch of changes means for one agent's page."""

    user_id: int
    queue: bool = False
    threads: dict[int, str] = field(default_factory=dict)
    buyers: set[int] = field(default_factory=set)
    assigned: list[int] = field(default_factory=list)
    last_id: int = 0

    def add(self, event_id: int, change: AnyChange) -> None:
        self.last_id = max(self.last_id, event_id)
        if isinstance(change, MessageAdded):
            self.queue = True
            self.threads[change.conversation_id] = str(change.message_id)
        elif isinstance(change, ConversationChanged):
            self.queue = True
            self.threads.setdefault(change.conversation_id, "")
            if change.what == "assigned" and change.assignee_id == self.user_id:
                self.assigned.append(change.conversation_id)
        elif isinstance(change, CommandChanged) and change.conversation_id is not None:
            self.queue = True
            self.threads.setdefault(change.conversation_id, "")
        elif isinstance(change, OrderChanged | AfterSaleChanged) and change.buyer_id is not None:
            self.buyers.add(change.buyer_id)

    def __bool__(self) -> bool:
        return bool(self.queue or self.threads or self.buyers or self.assigned)

    def messages(self) -> list[ServerSentEventMessage]:
        event_id = str(self.last_id) if self.last_id else None
        out: list[ServerSentEventMessage] = []
        if self.queue:
            out.append(ServerSentEventMessage(data="1", event="queue", id=event_id))
        for conversation_id, message_id in self.threads.items():
            out.append(
                ServerSentEventMessage(data=message_id or "0", event=f"thread-{conversation_id}", id=event_id)
            )
        for buyer_id in sorted(self.buyers):
            out.append(ServerSentEventMessage(data="1", event=f"buyer-{buyer_id}", id=event_id))
        for conversation_id in self.assigned:
            out.append(ServerSentEventMessage(data=str(conversation_id), event="assigned", id=event_id))
        return out


def signals_for(user_id: int, recorded: Iterable[Recorded]) -> Signals:
    signals = Signals(user_id)
    for event_id, change in recorded:
        signals.add(event_id, change)
    return signals


async def _beat(runtime: Runtime, user: User) -> None:
    try:
        async with runtime.db.transaction() as conn:
            await heartbeat(conn, user.id, now=runtime.clock.now())
    except Exception:  # presence is a nicety; the stream goes on without it
        log.warning("presence heartbeat for user %d failed", user.id, exc_info=True)


async def _gather(listener: Listener, first: Recorded, user_id: int) -> Signals:
    signals = signals_for(user_id, [first])
    loop = asyncio.get_running_loop()
    until = loop.time() + COALESCE_S
    while (left := until - loop.time()) > 0:
        item = await listener.get(timeout=left)
        if item is None:
            break
        signals.add(*item)
    return signals


async def _events(runtime: Runtime, user: User, after: int | None) -> AsyncIterator[ServerSentEventMessage]:
    store_ids = store_ids_for(user)
    async with runtime.changes.listen(store_ids) as listener:
        await _beat(runtime, user)
        if after is not None:
            missed = await runtime.changes.since(
                max(0, after - CATCH_UP_MARGIN), store_ids, limit=CATCH_UP_MAX
            )
            if len(missed) < CATCH_UP_MAX:
                for message in signals_for(user.id, missed).messages():
                    yield message
        yield ServerSentEventMessage(data="1", event="resync", id=str(runtime.changes.high_water) or None)
        loop = asyncio.get_running_loop()
        next_beat = loop.time() + HEARTBEAT_S
        while True:
            item = await listener.get(timeout=max(0.0, next_beat - loop.time()))
            if listener.overflowed:  # we fell behind: the page re-reads everything
                listener.overflowed = False
                with contextlib.suppress(asyncio.QueueEmpty):
                    while True:
                        listener.queue.get_nowait()
                yield ServerSentEventMessage(data="1", event="resync")
            elif item is not None:
                for message in (await _gather(listener, item, user.id)).messages():
                    yield message
            if loop.time() >= next_beat:
                next_beat = loop.time() + HEARTBEAT_S
                await _beat(runtime, user)
                yield ServerSentEventMessage(comment="alive")


def _after(last_event_id: str | None, after: str | None) -> int | None:
    for value in (last_event_id, after):
        if value and value.isascii() and value.isdigit() and len(value) < 19:
            return int(value)
    return None


@get("/inbox/stream", name="inbox:stream", guards=[requires_role(Role.AGENT)], include_in_schema=False)
async def stream(
    request: Request[User, object, State],
    state: State,
    last_event_id: Annotated[str | None, HeaderParameter(name="last-event-id")] = None,
    after: Annotated[str | None, QueryParameter(name="after")] = None,
) -> ServerSentEvent:
    """The agent's live signals (see the module docstring)."""
    runtime: Runtime = state.runtime
    return ServerSentEvent(
        _events(runtime, request.user, _after(last_event_id, after)),
        # nginx buffers responses unless told not to; a buffered stream is not live.
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


ROUTES = [stream]
