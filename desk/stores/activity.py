"""What is arriving in a user's stores: the latest buyer conversations, orders and after-sales.

Read-only views behind the store page and the inbox preview, which htmx re-polls every few
seconds. Each panel is one query: its newest rows (at most :data:`LIMIT`) and, in a subquery, how
many there are in all. Every query is scoped with :func:`desk.accounts.scoping.scoped`. Status
codes become catalogue messages here, so pages and tests share one mapping.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
import re
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar, TypeVarTuple

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from desk.accounts.models import User
from desk.accounts.scoping import scoped
from desk.aftersales.models import AfterSale
from desk.aftersales.status import (
    AFTERSALE_STATUS_TONES,
    aftersale_status_label,
    aftersale_type_label,
)
from desk.db import utcnow
from desk.i18n import Message
from desk.inbox.models import Conversation
from desk.inbox.models import Message as ChatMessage
from desk.ingest.models import EventState, PlatformEvent
from desk.orders.models import Buyer, Order, OrderLine
from desk.orders.status import ORDER_STATUS_TONES, order_status_label
from desk.stores.models import Store
from desk.tone import Tone

__all__ = [
    "AFTERSALE_STATUS_TONES",
    "LIMIT",
    "ORDER_STATUS_TONES",
    "REPLY_DEADLINE",
    "AfterSaleRow",
    "ConversationRow",
    "OrderItem",
    "OrderRow",
    "Panel",
    "PanelName",
    "PushHealth",
    "StoreActivity",
    "Tone",
    "activity_panel",
    "aftersale_status_label",
    "aftersale_type_label",
    "latest_aftersales",
    "latest_conversations",
    "latest_orders",
    "masked_phone",
    "order_status_label",
    "push_health",
    "store_activity",
]

LIMIT = 20
"""Rows per panel: enough to watch a burst arrive, few enough to re-poll every 5 s."""

REPLY_DEADLINE = dt.timedelta(seconds=180)
"""The 3-minute human reply deadline the store score counts (design: reply-rate)."""

RowT = TypeVar("RowT")


_PHONE_DIGITS = re.compile(r"\d")


class PanelName(enum.StrEnum):
    """The panels of the store page; also the ``?panel=`` a polling request asks for."""

    CONVERSATIONS = "conversations"
    ORDERS = "orders"
    AFTERSALES = "aftersales"


class Panel(msgspec.Struct, Generic[RowT], frozen=True):
    """The newest rows of one panel and how many rows there are in all."""

    rows: list[RowT]
    total: int


class ConversationRow(msgspec.Struct, frozen=True, kw_only=True):
    """A conversation as the preview lists it: who, what they said last, how long they have waited."""

    id: int
    store_id: int
    store_name: str
    buyer_name: str
    """The buyer's nickname when known, else empty (show :attr:`buyer_tail` instead)."""
    buyer_tail: str
    """The last characters of the buyer's openid (or WeCom external id): enough to tell buyers apart."""
    last_message: str
    last_sender: str
    """``buyer``, ``agent``, ``auto`` or ``system``; empty when the conversation has no message."""
    last_message_at: dt.datetime
    waiting_since: dt.datetime | None
    waited_seconds: int | None
    """How long the buyer has waited for a human, at the time of the query; None when nobody waits."""
    overdue: bool
    """The wait is past the 3-minute reply deadline."""
    message_count: int


class OrderItem(msgspec.Struct, frozen=True):
    """One SKU line of an order: its title and how many were bought."""

    title: str
    count: int


class OrderRow(msgspec.Struct, frozen=True, kw_only=True):
    """An order as the store page lists it. Receiver name and phone are the platform's masked ones."""

    id: int
    order_id: str
    status: int
    status_label: Message
    tone: Tone
    amount: int
    """What the buyer pays, in fen (``order_price``)."""
    items: list[OrderItem]
    receiver_name: str
    receiver_phone: str
    region: str
    created_at: dt.datetime


class AfterSaleRow(msgspec.Struct, frozen=True, kw_only=True):
    """An after-sale request as the store page lists it."""

    id: int
    after_sale_order_id: str
    order_id: str
    type: str
    type_label: Message
    status: str
    status_label: Message
    tone: Tone
    reason: str
    refund_amount: int
    """In fen."""
    created_at: dt.datetime


class StoreActivity(msgspec.Struct, frozen=True):
    """Everything the store page shows of what has been arriving."""

    conversations: Panel[ConversationRow]
    orders: Panel[OrderRow]
    aftersales: Panel[AfterSaleRow]


def masked_phone(value: str) -> str:
    """A receiver's phone as agents may see it: ``183****2807``.

    The platform sends phones masked and desk never asks it to unmask them for a list. A value
    that nonetheless arrives with all its digits (a test double, an API change) is masked here
    rather than shown.
    """
    digits = _PHONE_DIGITS.findall(value)
    if "*" in value or len(digits) < 7:
        return value
    return "".join(digits[:3]) + "****" + "".join(digits[-4:])


Columns = TypeVarTuple("Columns")


def _in_scope(
    stmt: sa.Select[*Columns], column: Any, user: User, store_id: int | None
) -> sa.Select[*Columns]:
    stmt = scoped(stmt, column, user)
    return stmt if store_id is None else stmt.where(column == store_id)


def _total(model: type[Any], column: Any, user: User, store_id: int | None) -> sa.ScalarSelect[int]:
    # Uncorrelated, so the database counts once per query; a window count(*) over () would make it
    # read every row of the store instead of just the newest ones.
    stmt = sa.select(sa.func.count()).select_from(model)
    return _in_scope(stmt, column, user, store_id).correlate(None).scalar_subquery()


def _total_of(rows: list[Any]) -> int:
    # Every row carries the same count; no row means nothing matched.
    return int(rows[0].total) if rows else 0


def _tail(identity: str) -> str:
    # WeCom kf peers are "open_kfid/external_userid": the buyer's part is after the slash.
    return identity.rsplit("/", 1)[-1][-6:]


async def latest_conversations(
    session: AsyncSession,
    user: User,
    *,
    store_id: int | None = None,
    now: dt.datetime | None = None,
    limit: int = LIMIT,
) -> Panel[ConversationRow]:
    """The conversations with the most recent messages in ``user``'s stores (or in one of them),
    newest first, each with its last message, its message count and how long the buyer has
    waited for a human (from ``waiting_since``, the first unanswered buyer message)."""
    now = now or utcnow()
    top = (
        _in_scope(
            sa.select(
                Conversation.id,
                Conversation.store_id,
                Conversation.buyer_id,
                Conversation.peer_id,
                Conversation.last_message_at,
                Conversation.waiting_since,
                _total(Conversation, Conversation.store_id, user, store_id).label("total"),
            ),
            Conversation.store_id,
            user,
            store_id,
        )
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
        .limit(limit)
        .subquery("top")
    )
    last = aliased(ChatMessage, name="last_message")
    last_id = (
        sa.select(ChatMessage.id)
        .where(ChatMessage.conversation_id == top.c.id)
        .order_by(ChatMessage.sent_at.desc(), ChatMessage.id.desc())
        .limit(1)
        .correlate(top)
        .scalar_subquery()
    )
    message_count = (
        sa.select(sa.func.count(ChatMessage.id))
        .where(ChatMessage.conversation_id == top.c.id)
        .correlate(top)
        .scalar_subquery()
    )
    stmt = (
        sa.select(
            top,
            Store.name.label("store_name"),
            Buyer.nickname,
            Buyer.openid,
            last.text,
            last.sender,
            message_count.label("message_count"),
        )
        .join(Store, Store.id == top.c.store_id)
        .outerjoin(Buyer, Buyer.id == top.c.buyer_id)
        .outerjoin(last, last.id == last_id)
        .order_by(top.c.last_message_at.desc(), top.c.id.desc())
    )
    rows = list(await session.execute(stmt))
    result = []
    for row in rows:
        waited = None if row.waiting_since is None else int((now - row.waiting_since).total_seconds())
        result.append(
            ConversationRow(
                id=row.id,
                store_id=row.store_id,
                store_name=row.store_name,
                buyer_name=row.nickname or "",
                buyer_tail=_tail(row.openid or row.peer_id),
                last_message=row.text or "",
                last_sender=str(row.sender or ""),
                last_message_at=row.last_message_at,
                waiting_since=row.waiting_since,
                waited_seconds=waited,
                overdue=waited is not None and waited >= REPLY_DEADLINE.total_seconds(),
                message_count=row.message_count,
            )
        )
    return Panel(rows=result, total=_total_of(rows))


async def latest_orders(
    session: AsyncSession, user: User, *, store_id: int | None = None, limit: int = LIMIT
) -> Panel[OrderRow]:
    """The most recently placed orders in ``user``'s stores (or one of them), newest first, with
    their SKU lines. Receiver name and phone stay as masked as the platform sent them."""
    top = (
        _in_scope(
            sa.select(
                Order.id,
                Order.order_id,
                Order.status,
                Order.create_time,
                Order.order_price,
                Order.receiver_name,
                Order.receiver_tel_masked,
                Order.province,
                Order.city,
                _total(Order, Order.store_id, user, store_id).label("total"),
            ),
            Order.store_id,
            user,
            store_id,
        )
        .order_by(Order.create_time.desc(), Order.id.desc())
        .limit(limit)
        .subquery("top")
    )
    # One row per order line (or one for an order without lines), grouped back into orders below.
    stmt = (
        sa.select(top, OrderLine.title, OrderLine.sku_cnt)
        .outerjoin(OrderLine, OrderLine.order_pk == top.c.id)
        .order_by(top.c.create_time.desc(), top.c.id.desc(), OrderLine.position)
    )
    rows = list(await session.execute(stmt))
    result = []
    for _, group in itertools.groupby(rows, key=lambda r: r.id):
        lines = list(group)
        order = lines[0]
        result.append(
            OrderRow(
                id=order.id,
                order_id=order.order_id,
                status=order.status,
                status_label=order_status_label(order.status),
                tone=ORDER_STATUS_TONES.get(order.status, Tone.WAITING),
                amount=order.order_price,
                items=[OrderItem(line.title, line.sku_cnt) for line in lines if line.title is not None],
                receiver_name=order.receiver_name,
                receiver_phone=masked_phone(order.receiver_tel_masked),
                region=" ".join(part for part in (order.province, order.city) if part),
                created_at=order.create_time,
            )
        )
    return Panel(rows=result, total=_total_of(rows))


async def latest_aftersales(
    session: AsyncSession, user: User, *, store_id: int | None = None, limit: int = LIMIT
) -> Panel[AfterSaleRow]:
    """The most recently requested after-sales in ``user``'s stores (or one of them), newest
    first. The reason is the platform's ``reason_text`` (newer reason codes are opaque), falling
    back to the legacy ``reason`` code when the text is missing."""
    stmt = (
        _in_scope(
            sa.select(
                AfterSale.id,
                AfterSale.after_sale_order_id,
                AfterSale.order_id,
                AfterSale.type,
                AfterSale.status,
                AfterSale.reason,
                AfterSale.reason_text,
                AfterSale.refund_amount,
                AfterSale.create_time,
                _total(AfterSale, AfterSale.store_id, user, store_id).label("total"),
            ),
            AfterSale.store_id,
            user,
            store_id,
        )
        .order_by(AfterSale.create_time.desc(), AfterSale.id.desc())
        .limit(limit)
    )
    rows = list(await session.execute(stmt))
    result = [
        AfterSaleRow(
            id=a.id,
            after_sale_order_id=a.after_sale_order_id,
            order_id=a.order_id,
            type=a.type,
            type_label=aftersale_type_label(a.type),
            status=a.status,
            status_label=aftersale_status_label(a.status),
            tone=AFTERSALE_STATUS_TONES.get(a.status, Tone.WAITING),
            reason=a.reason_text or a.reason,
            refund_amount=a.refund_amount,
            created_at=a.create_time,
        )
        for a in rows
    ]
    return Panel(rows=result, total=_total_of(rows))


async def store_activity(
    session: AsyncSession, user: User, store_id: int, *, now: dt.datetime | None = None
) -> StoreActivity:
    """The three panels of one store's page, as ``user`` may see them (nothing outside their stores)."""
    return StoreActivity(
        conversations=await latest_conversations(session, user, store_id=store_id, now=now),
        orders=await latest_orders(session, user, store_id=store_id),
        aftersales=await latest_aftersales(session, user, store_id=store_id),
    )


_PANELS: dict[PanelName, Callable[..., Awaitable[Panel[Any]]]] = {
    PanelName.CONVERSATIONS: latest_conversations,
    PanelName.ORDERS: latest_orders,
    PanelName.AFTERSALES: latest_aftersales,
}


async def activity_panel(
    session: AsyncSession, user: User, name: PanelName, *, store_id: int | None = None
) -> Panel[Any]:
    """One panel alone, for the polling request that refreshes just that panel."""
    return await _PANELS[name](session, user, store_id=store_id)


class PushHealth(msgspec.Struct, frozen=True):
    """Whether the platform's pushes reach this store's URL, for the store page's "connection" line."""

    last_received_at: dt.datetime | None
    received_24h: int
    parked: int
    """Pushes that could not be applied after every retry (an admin can replay them)."""


async def push_health(session: AsyncSession, store_id: int, *, now: dt.datetime | None = None) -> PushHealth:
    """The store's latest push, how many arrived in the last 24 hours, and how many are parked.

    The caller has already checked the user may see ``store_id``. One query; the 24-hour count
    walks only the newest rows thanks to the descending primary-key scan of recent ids.
    """
    since = (now or utcnow()) - dt.timedelta(hours=24)
    event = PlatformEvent.__table__
    row = (
        await session.execute(
            sa.select(
                sa.func.max(event.c.received_at),
                sa.func.count().filter(event.c.received_at >= since),
                sa.func.count().filter(event.c.state == EventState.PARKED),
            ).where(event.c.store_id == store_id)
        )
    ).one()
    return PushHealth(last_received_at=row[0], received_24h=row[1], parked=row[2])
