"""One conversation as the agent reads it: who, where it stands, and its messages.

Messages are read newest first and shown oldest first, a page at a time (``before`` a message id
for earlier ones). Each is reduced to what the thread renders: text, an image, an order card or a
product card (from the buyer's shares, with what the desk knows of that order), and for the
desk's own messages where their sending stands — queued, sent, or failed with the platform's
errcode.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import sqlalchemy as sa

from desk.accounts.models import User
from desk.commands.models import OutboundCommand
from desk.db import Work
from desk.inbox.access import conversation_for
from desk.inbox.deadline import REPLY_WINDOW, Urgency, urgency
from desk.inbox.models import Channel, ConversationStatus, Delivery, Message, Sender
from desk.inbox.queue import buyer_label
from desk.inbox.replies import replies_left
from desk.orders.models import Buyer, BuyerTag, Order, OrderLine
from desk.stores.models import Store

__all__ = ["PAGE", "MessageView", "OrderCard", "ThreadHeader", "ThreadView", "read_thread"]

PAGE = 50

_m = Message.__table__.c
_command = OutboundCommand.__table__


class OrderCard(msgspec.Struct, frozen=True, kw_only=True):
    order_id: str
    known: bool
    """Whether the desk has the order (then the fields below are filled)."""
    status: int = 0
    amount: int = 0
    titles: list[str] = msgspec.field(default_factory=list)


class ProductCard(msgspec.Struct, frozen=True, kw_only=True):
    product_id: str
    title: str = ""


class MessageView(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    sender: Sender
    author_name: str
    kind: str
    """``text``, ``image``, ``order``, ``product`` or ``other`` (shown as its type)."""
    text: str
    msg_type: str
    image_url: str = ""
    order: OrderCard | None = None
    product: ProductCard | None = None
    sent_at: dt.datetime
    delivery: Delivery | None = None
    error_code: int | None = None
    error: str = ""


class ThreadHeader(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    store_id: int
    store_name: str
    buyer_id: int | None
    buyer_name: str
    openid: str
    channel: Channel
    status: ConversationStatus
    assignee_id: int | None
    assignee_name: str
    waiting_since: dt.datetime | None
    deadline_at: dt.datetime | None
    urgency: Urgency
    tags: list[str]


class ThreadView(msgspec.Struct, frozen=True, kw_only=True):
    conversation: ThreadHeader
    messages: list[MessageView]
    has_earlier: bool
    replies_left: int
    window_closes_at: dt.datetime | None
    """When the platform stops accepting replies (48 h after the buyer's last message)."""


def _image_url(payload: dict[str, Any]) -> str:
    image = payload.get("image")
    if isinstance(image, dict):
        url = str(image.get("cos_url") or image.get("url") or "")
        return url if url.startswith(("https://", "http://")) else ""
    return ""


def _shared_order_id(payload: dict[str, Any]) -> str:
    for key in ("order_share", "channels_shop_order"):
        part = payload.get(key)
        if isinstance(part, dict) and part.get("order_id"):
            return str(part["order_id"])
    return ""


def _shared_product(payload: dict[str, Any]) -> tuple[str, str]:
    for key in ("product_share", "channels_shop_product"):
        part = payload.get(key)
        if isinstance(part, dict) and part.get("product_id"):
            return str(part["product_id"]), str(part.get("title") or "")
    return "", ""


async def _orders(work: Work, store_id: int, order_ids: set[str]) -> dict[str, OrderCard]:
    if not order_ids:
        return {}
    rows = (
        await work.execute(
            sa.select(Order.id, Order.order_id, Order.status, Order.order_price).where(
                Order.store_id == store_id, Order.order_id.in_(order_ids)
            )
        )
    ).all()
    titles: dict[int, list[str]] = {}
    if rows:
        lines = await work.execute(
            sa.select(OrderLine.order_pk, OrderLine.title)
            .where(OrderLine.order_pk.in_([r.id for r in rows]))
            .order_by(OrderLine.position)
        )
        for line in lines:
            titles.setdefault(line.order_pk, []).append(line.title)
    return {
        r.order_id: OrderCard(
            order_id=r.order_id,
            known=True,
            status=r.status,
            amount=r.order_price,
            titles=titles.get(r.id, []),
        )
        for r in rows
    }


async def _product_titles(work: Work, store_id: int, product_ids: set[str]) -> dict[str, str]:
    # The desk keeps no catalogue: a product's title is known from the orders it appeared in.
    if not product_ids:
        return {}
    rows = await work.execute(
        sa.select(OrderLine.product_id, sa.func.max(OrderLine.title))
        .join(Order, Order.id == OrderLine.order_pk)
        .where(Order.store_id == store_id, OrderLine.product_id.in_(product_ids))
        .group_by(OrderLine.product_id)
    )
    return {row[0]: row[1] for row in rows}


def _view(row: Any, orders: dict[str, OrderCard], products: dict[str, str]) -> MessageView:
    payload = row.payload if isinstance(row.payload, dict) else {}
    kind, image, order, product = "text", "", None, None
    if row.sender is Sender.BUYER or row.sender == "buyer":
        if image := _image_url(payload):
            kind = "image"
        elif order_id := _shared_order_id(payload):
            kind = "order"
            order = orders.get(order_id) or OrderCard(order_id=order_id, known=False)
        else:
            product_id, title = _shared_product(payload)
            if product_id:
                kind = "product"
                product = ProductCard(product_id=product_id, title=title or products.get(product_id, ""))
            elif row.msg_type != "text":
                kind = "other"
    return MessageView(
        id=row.id,
        sender=Sender(row.sender),
        author_name=row.author_name or "",
        kind=kind,
        text=row.text,
        msg_type=row.msg_type,
        image_url=image,
        order=order,
        product=product,
        sent_at=row.sent_at,
        delivery=Delivery(row.delivery) if row.delivery else None,
        error_code=row.error_code if row.delivery == Delivery.FAILED else None,
        error=(row.last_error or "") if row.delivery == Delivery.FAILED else "",
    )


async def read_thread(
    work: Work,
    user: User,
    conversation_id: int,
    *,
    now: dt.datetime,
    before: int | None = None,
    limit: int = PAGE,
) -> ThreadView:
    """The conversation (404 outside ``user``'s stores) and a page of its messages."""
    state = await conversation_for(work, user, conversation_id)
    header_row = (
        await work.execute(
            sa.select(
                Store.name.label("store_name"),
                Buyer.nickname,
                Buyer.openid,
                User.display_name.label("assignee_name"),
                sa.select(Order.receiver_name)
                .where(Order.buyer_id == state.buyer_id)
                .order_by(Order.create_time.desc())
                .limit(1)
                .scalar_subquery()
                .label("receiver_name"),
            )
            .select_from(Store)
            .outerjoin(Buyer, Buyer.id == state.buyer_id)
            .outerjoin(User, User.id == state.assignee_id)
            .where(Store.id == state.store_id)
        )
    ).one()
    tags = (
        list(
            (await work.execute(sa.select(BuyerTag.tag).where(BuyerTag.buyer_id == state.buyer_id))).scalars()
        )
        if state.buyer_id is not None
        else []
    )
    author = User.__table__.alias("author")
    stmt = (
        sa.select(
            _m.id,
            _m.sender,
            _m.msg_type,
            _m.text,
            _m.payload,
            _m.sent_at,
            _m.delivery,
            author.c.display_name.label("author_name"),
            _command.c.error_code,
            _command.c.last_error,
        )
        .outerjoin(author, author.c.id == _m.author_id)
        .outerjoin(_command, _command.c.id == _m.command_id)
        .where(_m.conversation_id == conversation_id)
    )
    if before is not None:
        stmt = stmt.where(_m.id < before)
    rows = list((await work.execute(stmt.order_by(_m.sent_at.desc(), _m.id.desc()).limit(limit + 1))).all())
    has_earlier = len(rows) > limit
    rows = list(reversed(rows[:limit]))
    payloads = [row.payload if isinstance(row.payload, dict) else {} for row in rows]
    orders = await _orders(work, state.store_id, {o for p in payloads if (o := _shared_order_id(p))})
    products = await _product_titles(
        work, state.store_id, {p for pl in payloads if (p := _shared_product(pl)[0])}
    )
    header = ThreadHeader(
        id=state.id,
        store_id=state.store_id,
        store_name=header_row.store_name,
        buyer_id=state.buyer_id,
        buyer_name=buyer_label(header_row.nickname, header_row.receiver_name, state.peer_id),
        openid=header_row.openid or state.peer_id,
        channel=state.channel,
        status=state.status,
        assignee_id=state.assignee_id,
        assignee_name=header_row.assignee_name or "",
        waiting_since=state.waiting_since,
        deadline_at=state.deadline_at,
        urgency=urgency(state.deadline_at, now),
        tags=tags,
    )
    last = state.last_buyer_message_at
    return ThreadView(
        conversation=header,
        messages=[_view(row, orders, products) for row in rows],
        has_earlier=has_earlier,
        replies_left=await replies_left(work, state, now=now),
        window_closes_at=last + REPLY_WINDOW if last else None,
    )
