"""Answering buyers: an agent's reply, an internal note, a retry, an automatic reply.

A reply is stored with ``delivery = queued`` and an outbound command in the agent's transaction
(:mod:`desk.inbox.commands` sends it); the request answers at once. The same ``request_id`` twice
(a double Enter, a client's retry) finds the first reply: one message, one platform call.

Before storing, the platform's rules are checked so the agent hears "no" at once rather than a
failure later: the store may reply within 48 hours of the buyer's last message, at most five
times until the buyer writes again (spec §6A). A conversation held by a colleague is not
answered over their head: the agent is told who holds it and may take it over explicitly.

A human reply ends the buyer's wait (the consultation is answered); automatic replies (rules,
welcome messages) never do — they count neither as answered nor as the agent's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

import msgspec
import sqlalchemy as sa
from litestar.exceptions import NotFoundException

from desk.accounts.models import User
from desk.changes.events import ConversationChanged, MessageAdded, user_origin
from desk.changes.record import record
from desk.commands.models import CommandState, OutboundCommand
from desk.commands.service import MAX_KEY_LENGTH, enqueue
from desk.db import Work
from desk.errors import Invalid
from desk.i18n import Message as Text
from desk.inbox.access import ConversationState, conversation_for, locked_for_change
from desk.inbox.assignment import assign_to, fill_capacity
from desk.inbox.commands import SendMessage, SendPayload
from desk.inbox.deadline import REPLY_LIMIT, REPLY_WINDOW
from desk.inbox.models import Conversation, Delivery, Message, Sender
from desk.inbox.reply_variables import unfilled_variables
from desk.metrics.consultations import note_message
from desk.orders.models import Order
from desk.stores.models import WeComCorp
from desk.wakeup import Wakeup

__all__ = [
    "MAX_REPLY_LENGTH",
    "ReplyResult",
    "add_note",
    "replies_left",
    "retry_reply",
    "send_auto_reply",
    "send_order_card",
    "send_reply",
]

MAX_REPLY_LENGTH = 2000
"""Characters in one text message (what the platform accepts; WeCom kf allows 2048 bytes)."""

_conversation = Conversation.__table__
_message = Message.__table__
_command = OutboundCommand.__table__


class ReplyResult(msgspec.Struct, frozen=True, kw_only=True):
    """A stored reply and where its sending stands."""

    message_id: int
    conversation_id: int
    command_id: int | None
    state: CommandState
    created: bool
    """False when the request id named a reply already stored (nothing new was sent)."""


async def replies_left(work: Work, conversation: ConversationState, *, now: dt.datetime) -> int:
    """How many more messages the platform lets the store send before the buyer writes again
    (0 when the 48-hour window after their last message has closed)."""
    last = conversation.last_buyer_message_at
    if last is None or now - last > REPLY_WINDOW:
        return 0
    used = (
        await work.execute(
            sa.select(sa.func.count())
            .select_from(_message)
            .where(
                _message.c.conversation_id == conversation.id,
                _message.c.sender.in_([Sender.AGENT, Sender.AUTO]),
                _message.c.sent_at >= last,
                sa.or_(_message.c.delivery.is_(None), _message.c.delivery != Delivery.FAILED),
            )
        )
    ).scalar_one()
    return max(0, REPLY_LIMIT - used)


def _reply_key(request_id: str) -> str:
    """The command key of a reply: from the client's request id (a digest of one too long to be
    a key, so that any id a client chooses still makes one reply), else a fresh one."""
    request_id = request_id.strip()
    if not request_id:
        return f"reply:{uuid.uuid4().hex}"
    if len("reply:") + len(request_id) > MAX_KEY_LENGTH:
        request_id = "sha256:" + hashlib.sha256(request_id.encode()).hexdigest()[:48]
    return f"reply:{request_id}"


def _none_left(conversation: ConversationState, now: dt.datetime) -> Text:
    """Why the platform takes no more replies: its window closed, or its five are used up."""
    last = conversation.last_buyer_message_at
    if last is None or now - last > REPLY_WINDOW:
        return Text("inbox.reply.error.window_closed")
    return Text("inbox.reply.error.limit")


def _check_text(text: str) -> Text | None:
    if not text.strip():
        return Text("inbox.reply.error.empty")
    if len(text) > MAX_REPLY_LENGTH:
        return Text("inbox.reply.error.too_long", {"max": MAX_REPLY_LENGTH, "length": len(text)})
    return None


async def _holder_name(work: Work, user_id: int) -> str:
    row = (await work.execute(sa.select(User.display_name, User.username).where(User.id == user_id))).first()
    return (row.display_name or row.username) if row else "?"


async def _existing_reply(work: Work, store_id: int, key: str) -> ReplyResult | None:
    """The reply an earlier request with this key stored, with where its sending stands now
    (after a retry, that is the retry's command: the message no longer points at the first)."""
    payload = (
        await work.execute(
            sa.select(_command.c.payload).where(
                _command.c.store_id == store_id, _command.c.idempotency_key == key
            )
        )
    ).scalar_one_or_none()
    if payload is None:
        return None
    row = (
        await work.execute(
            sa.select(
                _message.c.id, _message.c.conversation_id, _command.c.id.label("command_id"), _command.c.state
            )
            .join(_command, _command.c.id == _message.c.command_id)
            .where(_message.c.id == int(payload["message_id"]))
        )
    ).first()
    if row is None:
        return None
    return ReplyResult(
        message_id=row.id,
        conversation_id=row.conversation_id,
        command_id=row.command_id,
        state=row.state,
        created=False,
    )


async def _corp_of(work: Work, conversation: ConversationState) -> int | None:
    if conversation.channel != "wecom_kf":
        return None
    return (
        await work.execute(
            sa.select(WeComCorp.id).where(WeComCorp.default_store_id == conversation.store_id).limit(1)
        )
    ).scalar_one_or_none()


async def _queue_message(
    work: Work,
    wakeup: Wakeup | None,
    conversation: ConversationState,
    *,
    text: str,
    key: str,
    sender: Sender,
    author_id: int | None,
    origin: str,
    now: dt.datetime,
    order_id: str = "",
) -> ReplyResult:
    """Store the outgoing message and its command; the caller has checked everything.

    With ``order_id`` the message is that order as a card (``order_share``), ``text`` its caption."""
    message_id = (
        await work.execute(
            sa.insert(_message)
            .values(
                conversation_id=conversation.id,
                store_id=conversation.store_id,
                sender=sender,
                msg_type="order_share" if order_id else "text",
                text=text,
                payload={"order_share": {"order_id": order_id}} if order_id else {},
                sent_at=now,
                author_id=author_id,
                delivery=Delivery.QUEUED,
                created_at=now,
            )
            .returning(_message.c.id)
        )
    ).scalar_one()
    # A human reply closes the buyer's consultation for the reply rate; an automatic one does not.
    await note_message(
        work,
        store_id=conversation.store_id,
        conversation_id=conversation.id,
        message_id=int(message_id),
        sender=sender,
        author_id=author_id,
        sent_at=now,
    )
    payload = SendPayload(
        conversation_id=conversation.id,
        message_id=int(message_id),
        channel=conversation.channel,
        peer_id=conversation.peer_id,
        text=text,
        corp_id=await _corp_of(work, conversation),
        order_id=order_id,
    )
    ref = await enqueue(
        work,
        wakeup,
        store_id=conversation.store_id,
        kind=SendMessage.name,
        key=key,
        payload=msgspec.to_builtins(payload),
        subject=f"message:{message_id}",
        origin=origin,
        created_by_id=author_id,
        conversation_id=conversation.id,
    )
    await work.execute(sa.update(_message).where(_message.c.id == message_id).values(command_id=ref.id))
    await work.execute(
        sa.update(_conversation).where(_conversation.c.id == conversation.id).values(last_message_at=now)
    )
    await record(
        work,
        MessageAdded(
            store_id=conversation.store_id,
            origin=origin,
            conversation_id=conversation.id,
            message_id=int(message_id),
            sender=sender,
            buyer_id=conversation.buyer_id,
        ),
    )
    return ReplyResult(
        message_id=int(message_id),
        conversation_id=conversation.id,
        command_id=ref.id,
        state=ref.state,
        created=True,
    )


async def send_reply(
    work: Work,
    wakeup: Wakeup | None,
    *,
    user: User,
    conversation_id: int,
    text: str,
    request_id: str = "",
    take_over: bool = False,
    now: dt.datetime,
) -> ReplyResult | Invalid:
    """An agent answers the buyer of ``conversation_id``.

    Refused (nothing stored) when the text is empty or too long, when the platform's reply window
    is closed or its five replies are used up, or when a colleague holds the conversation (unless
    ``take_over``). A conversation nobody holds becomes the agent's. Ends the buyer's wait.
    """
    text = text.strip()
    key = _reply_key(request_id)
    conversation = await locked_for_change(work, user, conversation_id)
    if request_id and (existing := await _existing_reply(work, conversation.store_id, key)):
        return existing  # a double submit: the first one stands
    if problem := _check_text(text):
        return Invalid({"text": problem})
    if unfilled := unfilled_variables(text):
        # A quick reply whose variable had no value for this buyer: never send "{订单号}" as is.
        names = "、".join("{" + name + "}" for name in unfilled)
        return Invalid({"text": Text("inbox.reply.error.unfilled", {"names": names})})
    if conversation.assignee_id not in (None, user.id) and not take_over:
        name = await _holder_name(work, conversation.assignee_id)
        return Invalid({"assignee": Text("inbox.reply.error.taken", {"name": name})})
    if await replies_left(work, conversation, now=now) == 0:
        return Invalid({"text": _none_left(conversation, now)})
    origin = user_origin(user.id)
    if conversation.assignee_id != user.id:
        taken = await assign_to(
            work,
            conversation.id,
            conversation.store_id,
            user.id,
            now=now,
            origin=origin,
            expect_assignee=conversation.assignee_id,
        )
        if taken and conversation.assignee_id is not None:
            await fill_capacity(work, conversation.assignee_id, now=now)  # the colleague has room again
    result = await _queue_message(
        work,
        wakeup,
        conversation,
        text=text,
        key=key,
        sender=Sender.AGENT,
        author_id=user.id,
        origin=origin,
        now=now,
    )
    await _answered(work, conversation, assignee_id=user.id, origin=origin, now=now)
    return result


async def send_order_card(
    work: Work,
    wakeup: Wakeup | None,
    *,
    user: User,
    conversation_id: int,
    order_id: str,
    caption: str,
    request_id: str = "",
    now: dt.datetime,
) -> ReplyResult | Invalid:
    """An agent sends the buyer one of their orders as a card (``order_share``, store chat only).

    Checked like a reply (the platform's window and limit, a colleague's conversation is not
    answered over their head); the order must be this buyer's, in the conversation's store — a
    card of another store's order means nothing in this chat. Ends the buyer's wait like a reply.
    """
    key = _reply_key(request_id)
    conversation = await locked_for_change(work, user, conversation_id)
    if request_id and (existing := await _existing_reply(work, conversation.store_id, key)):
        return existing
    if conversation.channel != "commkf":
        return Invalid({"order": Text("sidebar.error.no_order_card")})
    owner = (
        await work.execute(
            sa.select(Order.buyer_id).where(
                Order.store_id == conversation.store_id, Order.order_id == order_id
            )
        )
    ).first()
    if owner is None or conversation.buyer_id is None or owner.buyer_id != conversation.buyer_id:
        return Invalid({"order": Text("sidebar.error.not_buyers_order")})
    if conversation.assignee_id not in (None, user.id):
        name = await _holder_name(work, conversation.assignee_id)
        return Invalid({"assignee": Text("inbox.reply.error.taken", {"name": name})})
    if await replies_left(work, conversation, now=now) == 0:
        return Invalid({"text": _none_left(conversation, now)})
    origin = user_origin(user.id)
    if conversation.assignee_id != user.id:
        await assign_to(
            work,
            conversation.id,
            conversation.store_id,
            user.id,
            now=now,
            origin=origin,
            expect_assignee=None,
        )
    result = await _queue_message(
        work,
        wakeup,
        conversation,
        text=caption,
        key=key,
        sender=Sender.AGENT,
        author_id=user.id,
        origin=origin,
        now=now,
        order_id=order_id,
    )
    await _answered(work, conversation, assignee_id=user.id, origin=origin, now=now)
    return result


async def _answered(
    work: Work, conversation: ConversationState, *, assignee_id: int | None, origin: str, now: dt.datetime
) -> None:
    """A human reply is on its way: the buyer's wait ends (the consultation is answered)."""
    await work.execute(
        sa.update(_conversation)
        .where(_conversation.c.id == conversation.id)
        .values(waiting_since=None, deadline_at=None, last_human_reply_at=now, updated_at=now)
    )
    if conversation.waiting_since is not None:
        await record(
            work,
            ConversationChanged(
                store_id=conversation.store_id,
                origin=origin,
                conversation_id=conversation.id,
                what="answered",
                assignee_id=assignee_id,
                status=conversation.status,
            ),
        )


async def send_auto_reply(
    work: Work,
    wakeup: Wakeup | None,
    *,
    conversation: ConversationState,
    text: str,
    key: str,
    origin: str,
    now: dt.datetime,
) -> ReplyResult | Invalid:
    """An automatic reply (a rule, a welcome): sent like an agent's, but the buyer keeps waiting
    for a human — it neither answers the consultation nor takes the conversation."""
    if problem := _check_text(text):
        return Invalid({"text": problem})
    if (existing := await _existing_reply(work, conversation.store_id, key)) is not None:
        return existing
    if await replies_left(work, conversation, now=now) == 0:
        return Invalid({"text": _none_left(conversation, now)})
    return await _queue_message(
        work,
        wakeup,
        conversation,
        text=text,
        key=key,
        sender=Sender.AUTO,
        author_id=None,
        origin=origin,
        now=now,
    )


async def add_note(
    work: Work, *, user: User, conversation_id: int, text: str, now: dt.datetime
) -> int | Invalid:
    """An internal note for colleagues: stored in the thread, never sent; the buyer keeps waiting."""
    text = text.strip()
    if problem := _check_text(text):
        return Invalid({"text": problem})
    conversation = await conversation_for(work, user, conversation_id)
    message_id = (
        await work.execute(
            sa.insert(_message)
            .values(
                conversation_id=conversation.id,
                store_id=conversation.store_id,
                sender=Sender.NOTE,
                msg_type="text",
                text=text,
                payload={},
                sent_at=now,
                author_id=user.id,
                created_at=now,
            )
            .returning(_message.c.id)
        )
    ).scalar_one()
    await record(
        work,
        MessageAdded(
            store_id=conversation.store_id,
            origin=user_origin(user.id),
            conversation_id=conversation.id,
            message_id=int(message_id),
            sender=Sender.NOTE,
            buyer_id=conversation.buyer_id,
        ),
    )
    return int(message_id)


async def retry_reply(
    work: Work, wakeup: Wakeup | None, *, user: User, message_id: int, now: dt.datetime
) -> ReplyResult | Invalid:
    """Send a failed reply again (a new command for the same message; the old one stays failed).

    An agent's reply sent again answers the buyer again: the wait its failure restored ends."""
    row = (
        await work.execute(
            sa.select(
                _message.c.conversation_id,
                _message.c.sender,
                _message.c.delivery,
                _message.c.text,
                _message.c.command_id,
                _message.c.payload,
            ).where(_message.c.id == message_id, _message.c.sender.in_([Sender.AGENT, Sender.AUTO]))
        )
    ).first()
    if row is None:
        raise NotFoundException()  # as for a message outside the user's stores
    conversation = await locked_for_change(work, user, row.conversation_id)
    if row.delivery != Delivery.FAILED:
        return Invalid({"message": Text("inbox.reply.error.not_failed")})
    if await replies_left(work, conversation, now=now) == 0:
        return Invalid({"text": _none_left(conversation, now)})
    payload = SendPayload(
        conversation_id=conversation.id,
        message_id=message_id,
        channel=conversation.channel,
        peer_id=conversation.peer_id,
        text=row.text,
        corp_id=await _corp_of(work, conversation),
        # An order card is sent again as the card it was.
        order_id=str(((row.payload or {}).get("order_share") or {}).get("order_id") or ""),
    )
    ref = await enqueue(
        work,
        wakeup,
        store_id=conversation.store_id,
        kind=SendMessage.name,
        key=f"retry:{message_id}:{uuid.uuid4().hex[:12]}",
        payload=msgspec.to_builtins(payload),
        subject=f"message:{message_id}",
        origin=user_origin(user.id),
        created_by_id=user.id,
        conversation_id=conversation.id,
    )
    # (enqueue recorded CommandChanged for the conversation: its page shows the message queued again)
    await work.execute(
        sa.update(_message)
        .where(_message.c.id == message_id)
        .values(delivery=Delivery.QUEUED, command_id=ref.id)
    )
    if row.sender == Sender.AGENT:
        await _answered(
            work, conversation, assignee_id=conversation.assignee_id, origin=user_origin(user.id), now=now
        )
    return ReplyResult(
        message_id=message_id,
        conversation_id=conversation.id,
        command_id=ref.id,
        state=ref.state,
        created=True,
    )
