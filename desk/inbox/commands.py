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

import hashlib
import re
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from desk.commands.kinds import ClaimedCommand, CommandContext, CommandFailedError, Outcome
from desk.commands.models import CommandState
from desk.inbox.models import Channel, Delivery, Message

__all__ = ["KINDS", "OUTCOME_UNKNOWN", "SendMessage", "SendPayload", "platform_request_id"]

_message = Message.__table__
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
            msg_id = await client.send_text(payload.peer_id, payload.text, request_id=request_id)
        return {"msg_id": msg_id}

    async def settle(self, conn: AsyncConnection, command: ClaimedCommand, outcome: Outcome) -> None:
        message_id = int(command.payload["message_id"])
        if outcome.state is CommandState.SUCCEEDED:
            values: dict[str, Any] = {
                "delivery": Delivery.SENT,
                "platform_msg_id": str(outcome.result.get("msg_id", ""))[:64] or None,
            }
        else:
            values = {"delivery": Delivery.FAILED}
        await conn.execute(sa.update(_message).where(_message.c.id == message_id).values(**values))


KINDS = {SendMessage.name: SendMessage()}
