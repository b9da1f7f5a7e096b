"""Reading the facts a rule is evaluated against, from the desk's tables (the engine's side).

Only what the event names is read; what the desk does not know stays None, and conditions over it
are unknown (never true). The after-sale and order are the desk's copies: an auto-approval is
still checked against the platform by the command runner, which re-reads the after-sale first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import sqlalchemy as sa

from desk.aftersales.models import AfterSale
from desk.db import Work
from desk.inbox.access import ConversationState
from desk.inbox.models import Conversation, Message
from desk.orders.models import Buyer, BuyerTag, Order, OrderLine
from desk.rules.facts import AfterSaleFacts, BuyerFacts, Event, Facts, OrderFacts
from desk.rules.model import TriggerEvent
from desk.stores.models import Store

__all__ = ["Gathered", "gather"]

_aftersale = AfterSale.__table__
_order = Order.__table__
_line = OrderLine.__table__
_tag = BuyerTag.__table__
_store = Store.__table__
_buyer = Buyer.__table__
_message = Message.__table__
_conversation_table = Conversation.__table__


class Gathered:
    """An event with its facts, and the subject the rule run names (``aftersale:<id>``)."""

    __slots__ = ("buyer_id", "conversation", "event", "facts", "subject")

    def __init__(
        self,
        event: Event,
        facts: Facts,
        subject: str,
        buyer_id: int | None = None,
        conversation: ConversationState | None = None,
    ) -> None:
        self.event, self.facts, self.subject, self.buyer_id = event, facts, subject, buyer_id
        self.conversation = conversation
        """The buyer's conversation, for replies (message and waiting triggers)."""


async def _order_facts(work: Work, store_id: int, order_id: str) -> OrderFacts | None:
    row = (
        await work.execute(
            sa.select(
                _order.c.id, _order.c.order_id, _order.c.status, _order.c.pay_time, _order.c.order_price
            ).where(_order.c.store_id == store_id, _order.c.order_id == order_id)
        )
    ).first()
    if row is None:
        return None
    lines = (
        await work.execute(sa.select(_line.c.sku_id, _line.c.product_id).where(_line.c.order_pk == row.id))
    ).all()
    return OrderFacts(
        order_id=row.order_id,
        status=row.status,
        paid_at=row.pay_time,
        amount_fen=row.order_price,
        sku_ids=tuple(line.sku_id for line in lines),
        product_ids=tuple(line.product_id for line in lines),
    )


async def _buyer_facts(
    work: Work, store_id: int, buyer_id: int | None, now: dt.datetime
) -> BuyerFacts | None:
    if buyer_id is None:
        return None
    tags = (await work.execute(sa.select(_tag.c.tag).where(_tag.c.buyer_id == buyer_id))).scalars().all()
    recent = (
        await work.execute(
            sa.select(sa.func.count())
            .select_from(_aftersale)
            .where(
                _aftersale.c.store_id == store_id,
                _aftersale.c.buyer_id == buyer_id,
                _aftersale.c.create_time >= now - dt.timedelta(days=30),
            )
        )
    ).scalar_one()
    return BuyerFacts(tags=tuple(tags), aftersales_30d=int(recent))


class _Store(msgspec.Struct, frozen=True):
    appid: str
    name: str
    timezone: str


def _facts(store: _Store, now: dt.datetime, **known: Any) -> Facts:
    return Facts(now=now, timezone=store.timezone, store_name=store.name, **known)


async def _for_aftersale(
    work: Work, store: _Store, event: Event, payload: dict[str, Any], now: dt.datetime
) -> Gathered | None:
    row = (
        await work.execute(sa.select(_aftersale).where(_aftersale.c.id == payload["aftersale_pk"]))
    ).first()
    if row is None:
        return None
    aftersale = AfterSaleFacts(
        after_sale_order_id=row.after_sale_order_id,
        type=row.type,
        status=row.status,
        reason=row.reason,
        reason_text=row.reason_text,
        refund_amount_fen=row.refund_amount,
        sku_id=row.sku_id,
        product_id=row.product_id,
    )
    facts = _facts(
        store,
        now,
        aftersale=aftersale,
        order=await _order_facts(work, event.store_id, row.order_id),
        buyer=await _buyer_facts(work, event.store_id, row.buyer_id, now),
    )
    return Gathered(event, facts, f"aftersale:{row.after_sale_order_id}", row.buyer_id)


async def _for_message(
    work: Work, store: _Store, event: Event, payload: dict[str, Any], now: dt.datetime
) -> Gathered | None:
    conversation = await _conversation(work, payload["conversation_id"])
    if conversation is None:
        return None
    text = (
        await work.execute(sa.select(_message.c.text).where(_message.c.id == payload["message_id"]))
    ).scalar_one_or_none()
    buyer = await _buyer_facts(work, event.store_id, conversation.buyer_id, now)
    if buyer is not None:
        nickname = (
            await work.execute(sa.select(_buyer.c.nickname).where(_buyer.c.id == conversation.buyer_id))
        ).scalar_one_or_none()
        buyer = msgspec.structs.replace(buyer, nickname=nickname or "")
    facts = _facts(store, now, buyer=buyer, message_text=text)
    return Gathered(event, facts, f"conversation:{conversation.id}", conversation.buyer_id, conversation)


async def _for_order(
    work: Work, store: _Store, event: Event, payload: dict[str, Any], now: dt.datetime
) -> Gathered | None:
    row = (
        await work.execute(
            sa.select(_order.c.order_id, _order.c.buyer_id).where(_order.c.id == payload["order_pk"])
        )
    ).first()
    if row is None:
        return None
    facts = _facts(
        store,
        now,
        order=await _order_facts(work, event.store_id, row.order_id),
        buyer=await _buyer_facts(work, event.store_id, row.buyer_id, now),
    )
    return Gathered(event, facts, f"order:{row.order_id}", row.buyer_id)


_Gatherer = Callable[[Work, _Store, Event, dict[str, Any], dt.datetime], Awaitable[Gathered | None]]
_GATHERERS: dict[TriggerEvent, _Gatherer] = {
    TriggerEvent.AFTERSALE_CREATED: _for_aftersale,
    TriggerEvent.AFTERSALE_UPDATED: _for_aftersale,
    TriggerEvent.MESSAGE_RECEIVED: _for_message,
    TriggerEvent.BUYER_FIRST_CONSULTATION: _for_message,
    TriggerEvent.ORDER_PAID: _for_order,
    TriggerEvent.ORDER_SHIPPED: _for_order,
}
"""How each trigger's facts are read (``conversation.waiting`` is not queued yet: it comes with
the reply timers)."""


async def gather(
    work: Work, *, store_id: int, event: TriggerEvent, payload: dict[str, Any], now: dt.datetime
) -> Gathered | None:
    """The event and facts of a queued trigger; None when its subject is gone (store or row deleted)."""
    row = (
        await work.execute(
            sa.select(_store.c.appid, _store.c.name, _store.c.timezone).where(_store.c.id == store_id)
        )
    ).first()
    if row is None:
        return None
    store = _Store(row.appid, row.name, row.timezone)
    base = Event(
        trigger=event, store_id=store_id, store_appid=store.appid, wait_seconds=payload.get("wait_seconds")
    )
    gatherer = _GATHERERS.get(event)
    if gatherer is None:
        return Gathered(base, _facts(store, now), "")
    return await gatherer(work, store, base, payload, now)


async def _conversation(work: Work, conversation_id: int) -> ConversationState | None:
    c = _conversation_table.c
    row = (
        await work.execute(
            sa.select(
                c.id,
                c.store_id,
                c.channel,
                c.peer_id,
                c.buyer_id,
                c.assignee_id,
                c.status,
                c.waiting_since,
                c.deadline_at,
                c.last_buyer_message_at,
            ).where(c.id == conversation_id)
        )
    ).first()
    return None if row is None else ConversationState(**row._asdict())
