"""What applying each kind of event means: a registry keyed by the event's ``kind``.

Applying is split in two so that no platform call happens inside a database transaction:

* ``fetch`` reads what the event is about from the platform (``order/get``, ``getaftersaleorder``,
  ``kf/sync_msg``). Events of one batch that share a :meth:`Handler.fetch_key` — five pushes
  about the same order — share one fetch.
* ``apply`` writes the effects with the fetched data, inside the worker's transaction (one
  savepoint per event). Effects are idempotent upserts, so a redelivered event changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from desk.aftersales.services import save_aftersale, save_complaint
from desk.db import Database, epoch_to_utc, insert_for, utcnow
from desk.inbox.assignment import lock_routing
from desk.inbox.filing import record_buyer_message
from desk.inbox.models import Channel
from desk.ingest.models import KfCursor
from desk.ingest.queue import ClaimedEvent
from desk.orders.services import save_buyer, save_order
from desk.platform.channels_types import ChannelsAfterSale, ChannelsOrder
from desk.platform.events import (
    AfterSaleUpdateEvent,
    CommkfMessageEvent,
    ComplaintUpdateEvent,
    KfMsgOrEvent,
    OrderEvent,
    ProductOrderStatusEvent,
)
from desk.platform.wecom_types import KfMessage, MsgOrigin
from desk.stores.clients import PlatformClients
from desk.stores.models import WeComCorp

__all__ = ["HANDLERS", "FetchContext", "Fetched", "Handler", "HandlerError", "KfSync", "WorkItem"]

_cursor = KfCursor.__table__


class HandlerError(Exception):
    """An event that cannot be applied as things stand (shown to admins in ``last_error``)."""


@dataclass(frozen=True, slots=True)
class WorkItem:
    """A claimed event with its payload decoded."""

    claimed: ClaimedEvent
    event: Any
    """The typed event from :mod:`desk.platform.events`."""

    @property
    def store_id(self) -> int:
        if self.claimed.store_id is None:
            raise HandlerError(f"event {self.claimed.id} has no store")
        return self.claimed.store_id

    @property
    def corp_id(self) -> int:
        if self.claimed.corp_id is None:
            raise HandlerError(f"event {self.claimed.id} has no WeCom corp")
        return self.claimed.corp_id


@dataclass(frozen=True, slots=True)
class FetchContext:
    clients: PlatformClients
    db: Database


@dataclass(frozen=True, slots=True)
class Fetched:
    """A platform answer and when it was asked for (before the call: never newer than it is)."""

    value: Any
    at: dt.datetime


class Handler(Protocol):
    def fetch_key(self, item: WorkItem) -> Hashable | None:
        """What must be fetched for ``item`` (equal keys share a fetch), or None for nothing."""
        ...

    async def fetch(self, ctx: FetchContext, items: Sequence[WorkItem]) -> Fetched:
        """Fetch for ``items``, which all have the same :meth:`fetch_key`."""
        ...

    async def apply(self, conn: AsyncConnection, item: WorkItem, fetched: Fetched | None) -> None:
        """Write the event's effects; idempotent."""
        ...


def _required(fetched: Fetched | None) -> Fetched:
    # A handler with a fetch key always gets its answer (or its fetch error, raised instead).
    if fetched is None:
        raise HandlerError("no platform answer for an event that needs one")
    return fetched


class _NothingToFetch:
    def fetch_key(self, item: WorkItem) -> Hashable | None:
        return None

    async def fetch(self, ctx: FetchContext, items: Sequence[WorkItem]) -> Fetched:
        raise AssertionError("fetch() called for a handler with nothing to fetch")


class OrderHandler:
    """Any order event → ``order/get`` → Order, OrderLines and Buyer."""

    def fetch_key(self, item: WorkItem) -> Hashable | None:
        event: OrderEvent | ProductOrderStatusEvent = item.event
        return ("order", item.store_id, event.order_id)

    async def fetch(self, ctx: FetchContext, items: Sequence[WorkItem]) -> Fetched:
        item = items[0]
        client = await ctx.clients.channels(item.store_id)
        at = utcnow()
        return Fetched(await client.get_order(item.event.order_id), at)

    async def apply(self, conn: AsyncConnection, item: WorkItem, fetched: Fetched | None) -> None:
        answer = _required(fetched)
        order: ChannelsOrder = answer.value
        await save_order(conn, item.store_id, order, answer.at)


class AfterSaleHandler:
    """After-sale and dispute events → ``getaftersaleorder`` → AfterSale and Buyer."""

    def fetch_key(self, item: WorkItem) -> Hashable | None:
        event: AfterSaleUpdateEvent | ComplaintUpdateEvent = item.event
        if not event.after_sale_order_id:
            return None  # a dispute event that names no after-sale: nothing to refresh
        if isinstance(event, ComplaintUpdateEvent):
            # A key of its own: the worker applies one event per key and batch, and a dispute
            # carries what the after-sale's answer does not (its status). Sorted right after the
            # after-sale's own key, so rows are still locked after-sale by after-sale.
            complaint = event.finder_shop_complaint
            return ("aftersale", item.store_id, event.after_sale_order_id, str(complaint.complaint_id))
        return ("aftersale", item.store_id, event.after_sale_order_id)

    async def fetch(self, ctx: FetchContext, items: Sequence[WorkItem]) -> Fetched:
        item = items[0]
        client = await ctx.clients.channels(item.store_id)
        at = utcnow()
        return Fetched(await client.get_aftersale(item.event.after_sale_order_id), at)

    async def apply(self, conn: AsyncConnection, item: WorkItem, fetched: Fetched | None) -> None:
        if isinstance(item.event, ComplaintUpdateEvent) and item.event.finder_shop_complaint.complaint_id:
            event: ComplaintUpdateEvent = item.event
            complaint = event.finder_shop_complaint
            await save_complaint(
                conn,
                item.store_id,
                complaint_id=str(complaint.complaint_id),
                after_sale_order_id=event.after_sale_order_id,
                order_id=str(complaint.order_id),
                status=complaint.complaint_status,
                event_time=epoch_to_utc(event.CreateTime) if event.CreateTime > 0 else utcnow(),
            )
        if fetched is None:
            return
        aftersale: ChannelsAfterSale = fetched.value
        await save_aftersale(conn, item.store_id, aftersale, fetched.at)


class CommkfMessageHandler(_NothingToFetch):
    """``commkf_send_msg_to_kf``: the push carries the message itself → Buyer, Conversation, Message."""

    async def apply(self, conn: AsyncConnection, item: WorkItem, fetched: Fetched | None) -> None:
        event: CommkfMessageEvent = item.event
        if conn.dialect.name == "postgresql":
            # The store's routing rows before the buyer's row, as filing takes them: two workers
            # creating the same new buyer would otherwise deadlock (see lock_routing).
            await lock_routing(conn, item.store_id)
        buyer_id = await save_buyer(conn, item.store_id, event.openid)
        await record_buyer_message(
            conn,
            store_id=item.store_id,
            channel=Channel.COMMKF,
            peer_id=event.openid,
            buyer_id=buyer_id,
            platform_msg_id=event.message_id,
            msg_type=event.msg_type,
            text=event.summary(),
            payload=msgspec.json.decode(item.claimed.payload),
            sent_at=epoch_to_utc(event.CreateTime) if event.CreateTime > 0 else utcnow(),
        )


@dataclass(frozen=True, slots=True)
class KfSync:
    """What one ``sync_msg`` run read, and the cursors it started from and reached."""

    store_id: int | None
    had_cursor: bool
    start: str
    end: str
    messages: list[KfMessage]


class KfHandler:
    """``kf_msg_or_event`` → ``sync_msg`` from the stored cursor → Messages; the new cursor is saved
    with them, so a message is read (and filed) once even across restarts."""

    def fetch_key(self, item: WorkItem) -> Hashable | None:
        event: KfMsgOrEvent = item.event
        return ("kf", item.corp_id, event.OpenKfId)

    async def fetch(self, ctx: FetchContext, items: Sequence[WorkItem]) -> Fetched:
        corp_id = items[0].corp_id
        open_kfid: str = items[0].event.OpenKfId
        # The newest callback token: each is valid for 10 minutes (spec §6B).
        token: str = items[-1].event.Token
        async with ctx.db.engine.connect() as conn:
            start = (
                await conn.execute(
                    sa.select(_cursor.c.cursor).where(
                        _cursor.c.corp_id == corp_id, _cursor.c.open_kfid == open_kfid
                    )
                )
            ).scalar_one_or_none()
            store_id = (
                await conn.execute(sa.select(WeComCorp.default_store_id).where(WeComCorp.id == corp_id))
            ).scalar_one_or_none()
        client = await ctx.clients.wecom(corp_id)
        at = utcnow()
        # sync_all stops after a page limit; what it leaves is read by the next callback's sync.
        result = await client.sync_all(cursor=start or "", token=token, open_kfid=open_kfid)
        sync = KfSync(store_id, start is not None, start or "", result.next_cursor, result.msg_list)
        return Fetched(sync, at)

    async def apply(self, conn: AsyncConnection, item: WorkItem, fetched: Fetched | None) -> None:
        sync: KfSync = _required(fetched).value
        # Only what customers wrote; system events (4) and servicers' own messages (5) are not.
        customer_messages = [m for m in sync.messages if m.origin == MsgOrigin.CUSTOMER]
        if customer_messages:
            if sync.store_id is None:
                raise HandlerError(
                    "the WeCom corp has no default store to file kf conversations under; "
                    "choose one in its settings, then replay this event"
                )
            await _file_kf_messages(conn, sync.store_id, customer_messages)
        await _advance_cursor(conn, item.corp_id, item.event.OpenKfId, sync)


async def _file_kf_messages(conn: AsyncConnection, store_id: int, messages: Sequence[KfMessage]) -> None:
    for message in messages:
        await record_buyer_message(
            conn,
            store_id=store_id,
            channel=Channel.WECOM_KF,
            peer_id=f"{message.open_kfid}/{message.external_userid}",
            buyer_id=None,  # a kf customer is not (yet) known as one of the store's buyers
            platform_msg_id=message.msgid,
            msg_type=message.msgtype,
            text=message.summary(),
            payload=message.raw or msgspec.to_builtins(message),
            sent_at=epoch_to_utc(message.send_time) if message.send_time > 0 else utcnow(),
        )


async def _advance_cursor(conn: AsyncConnection, corp_id: int, open_kfid: str, sync: KfSync) -> None:
    # Compare-and-set: if another worker moved the cursor since we read it, keep theirs. Our
    # messages are filed either way (duplicates are dropped by their msgid), so nothing is lost.
    if sync.end == sync.start and sync.had_cursor:
        return
    if sync.had_cursor:
        await conn.execute(
            sa.update(_cursor)
            .where(
                _cursor.c.corp_id == corp_id,
                _cursor.c.open_kfid == open_kfid,
                _cursor.c.cursor == sync.start,
            )
            .values(cursor=sync.end, updated_at=utcnow())
        )
        return
    await conn.execute(
        insert_for(conn.dialect.name, _cursor)
        .values(corp_id=corp_id, open_kfid=open_kfid, cursor=sync.end, updated_at=utcnow())
        .on_conflict_do_nothing()
    )


class RecordOnly(_NothingToFetch):
    """Stored and marked done; nothing to apply yet (``change_external_contact``: the WeCom hand-off
    builds on these rows)."""

    async def apply(self, conn: AsyncConnection, item: WorkItem, fetched: Fetched | None) -> None:
        return None


HANDLERS: dict[str, Handler] = {
    "order": OrderHandler(),
    "aftersale": AfterSaleHandler(),
    "message": CommkfMessageHandler(),
    "kf": KfHandler(),
    "contact": RecordOnly(),
    "unknown": RecordOnly(),
}
"""Handler per event ``kind`` (see :mod:`desk.platform.events`)."""
