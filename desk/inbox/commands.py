"""The inbox's outbound command: sending a message to a buyer (``send_message``).

The message row is stored first (``delivery = queued``) with its command, in the agent's
transaction; the runner sends it and marks it ``sent`` (with the platform's ``msg_id``) or
``failed`` (with the platform's errcode, which the thread explains in words).

Store chat (``commkf/sendmsg``) de-duplicates by ``request_id``, so a send whose outcome is unknown
is simply repeated with the same id: the buyer gets it once. WeCom kf's ``kf/send_msg`` does not
de-duplicate; a retry after an unknown outcome is not risked (the buyer could get it twice) and
the message is marked failed with that explanation, for the agent to check and resend.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from desk.changes.events import ConversationChanged
from desk.changes.record import record
from desk.commands.kinds import ClaimedCommand, CommandContext, CommandFailedError, Outcome
from desk.commands.models import CommandState
from desk.inbox.deadline import deadline_for
from desk.inbox.models import Channel, Conversation, ConversationStatus, Delivery, Message, Sender
from desk.metrics.consultations import note_reply_failed

__all__ = ["KINDS", "OUTCOME_UNKNOWN", "SendMessage", "SendPayload", "platform_request_id"]

_message = Message.__table__
_conversation = Conversation.__table__
_PLATFORM_ID = re.compile(r"[0-9A-Za-z_-]{1,32}")

OUTCOME_UNKNOWN = -2
"""``error_code`` of a kf message whose earlier try may have reached the buyer (not retried)."""


class SendPayload(msgspec.Struct, frozen=True, kw_only=True):
    """What ``send_message`` needs, stored as the command's payload."""

    conversation_id: int
    message_id: int
    channel: Channel
    peer_id: str
    """The buyer's openid (store chat) or ``open_kfid/external_userid`` (WeCom kf)."""
    text: str
    corp_id: int | None = None
    order_id: str = ""
    """Set: send this order as a card (``order_share``) instead of ``text`` (store chat only)."""


def platform_request_id(key: str) -> str:
    """The id the platform de-duplicates by: the key itself when it fits (≤32 of
    ``[0-9A-Za-z_-]``, what WeCom allows), else a digest of it."""
    if _PLATFORM_ID.fullmatch(key):
        return key
    return hashlib.sha256(key.encode()).hexdigest()[:32]


class SendMessage:
    name = "send_message"

    async def run(self, ctx: CommandContext, command: ClaimedCommand) -> dict[str, Any]:
        payload = msgspec.convert(command.payload, SendPayload)
        request_id = platform_request_id(command.idempotency_key)
        if payload.channel is Channel.WECOM_KF:
            if command.attempts > 1:
                # An earlier try got no answer: WeCom may have delivered it. Sending again could
                # show the buyer the same message twice, so stop here and say so.
                raise CommandFailedError(
                    "WeCom gave no answer to an earlier try, which may have reached the buyer; "
                    "not sent again",
                    error_code=OUTCOME_UNKNOWN,
                )
            if payload.corp_id is None:
                raise ValueError("a WeCom kf message needs its corp")
            open_kfid, _, external_userid = payload.peer_id.partition("/")
            client = await ctx.clients.wecom(payload.corp_id)
            msg_id = await client.send_text(external_userid, open_kfid, payload.text, msgid=request_id)
        else:
            client = await ctx.clients.channels(command.store_id)
            if payload.order_id:
                msg_id = await client.send_order_share(
                    payload.peer_id, payload.order_id, request_id=request_id
                )
            else:
                msg_id = await client.send_text(payload.peer_id, payload.text, request_id=request_id)
        return {"msg_id": msg_id}

    async def settle(self, conn: AsyncConnection, command: ClaimedCommand, outcome: Outcome) -> None:
        message_id = int(command.payload["message_id"])
        if outcome.state is CommandState.SUCCEEDED:
            values: dict[str, Any] = {
                "delivery": Delivery.SENT,
                "platform_msg_id": str(outcome.result.get("msg_id", ""))[:64] or None,
            }
            await conn.execute(sa.update(_message).where(_message.c.id == message_id).values(**values))
            return
        await conn.execute(
            sa.update(_message).where(_message.c.id == message_id).values(delivery=Delivery.FAILED)
        )
        conversation_id = int(command.payload["conversation_id"])
        await note_reply_failed(conn, conversation_id=conversation_id, message_id=message_id)
        await _wait_again(conn, command.store_id, conversation_id)


async def _wait_again(conn: AsyncConnection, store_id: int, conversation_id: int) -> None:
    """A reply that never reached the buyer answered nothing: if no other reply since did, the
    buyer waits again from their first message after the last reply that was sent — also when
    they wrote again meanwhile (their wait began before that), and also when the conversation
    was resolved or put on hold meanwhile (it is open again: nobody answered them)."""
    m = _message.c
    last_sent = (
        sa.select(sa.func.max(m.sent_at))
        .where(m.conversation_id == conversation_id, m.sender == Sender.AGENT, m.delivery == Delivery.SENT)
        .scalar_subquery()
    )
    first_unanswered = (
        await conn.execute(
            sa.select(sa.func.min(m.sent_at)).where(
                m.conversation_id == conversation_id,
                m.sender == Sender.BUYER,
                sa.or_(last_sent.is_(None), m.sent_at > last_sent),
            )
        )
    ).scalar_one_or_none()
    pending_human = (
        await conn.execute(
            sa.select(sa.func.count()).where(
                m.conversation_id == conversation_id, m.sender == Sender.AGENT, m.delivery == Delivery.QUEUED
            )
        )
    ).scalar_one()
    if first_unanswered is None or pending_human:
        return  # answered after all, or another reply is still on its way
    first_unanswered = _aware(first_unanswered)
    c = _conversation.c
    result = await conn.execute(
        sa.update(_conversation)
        .where(c.id == conversation_id, sa.or_(c.waiting_since.is_(None), c.waiting_since > first_unanswered))
        .values(
            waiting_since=first_unanswered,
            deadline_at=deadline_for(first_unanswered),
            status=ConversationStatus.OPEN,
            resolved_at=None,
        )
        .returning(c.assignee_id)
    )
    changed = result.first()
    if changed is not None:
        await record(
            conn,
            ConversationChanged(
                store_id=store_id,
                conversation_id=conversation_id,
                what="waiting",
                assignee_id=changed.assignee_id,
                status=ConversationStatus.OPEN,
            ),
        )


def _aware(value: dt.datetime) -> dt.datetime:
    # An aggregate's result skips the column type, so SQLite hands back a naive (UTC) value.
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


KINDS = {SendMessage.name: SendMessage()}
