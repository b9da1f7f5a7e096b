"""What the inbox's JSON API (``/api/v1/conversations``) takes and answers.

Desk ids (conversations, messages, commands, users, stores) are integers; times are ISO 8601 in
UTC. A conversation whose buyer waits for a human has ``waiting_since`` and ``deadline_at`` (the
3-minute reply deadline); both are null when nobody waits.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated, Any, Literal

import msgspec

from desk.commands.models import CommandState
from desk.inbox.deadline import Urgency
from desk.inbox.history import HistoryMessage, HistoryPage
from desk.inbox.models import ConversationStatus, Delivery, Sender
from desk.inbox.queue import QueuePage, QueueRow, Whose
from desk.inbox.replies import MAX_REPLY_LENGTH

__all__ = [
    "MAX_REQUEST_ID_LENGTH",
    "AssignIn",
    "AssigneeFilter",
    "ConversationOut",
    "ConversationPageOut",
    "ConversationStateOut",
    "MessageOut",
    "MessagePageOut",
    "ReplyIn",
    "ReplyOut",
    "UserRef",
]

MAX_REQUEST_ID_LENGTH = 64
"""Characters of a client's ``request_id`` (it becomes part of the command's idempotency key)."""


class AssigneeFilter(enum.StrEnum):
    """Whose conversations to list: the token user's, nobody's, or everyone's."""

    ME = "me"
    NONE = "none"
    ANY = "any"

    def whose(self) -> Whose:
        return {AssigneeFilter.ME: Whose.MINE, AssigneeFilter.NONE: Whose.UNASSIGNED}.get(self, Whose.ALL)


class UserRef(msgspec.Struct, kw_only=True):
    id: int
    name: str


class ConversationOut(msgspec.Struct, kw_only=True):
    """One conversation as the queue lists it."""

    id: int
    store_id: int
    store_name: str
    channel: str
    """``commkf`` (the store's own chat) or ``wecom_kf``."""
    status: ConversationStatus
    buyer_id: int | None
    buyer_name: str
    """Nickname, else the masked receiver name of the buyer's latest order, else the openid's tail."""
    last_message: str
    last_sender: str
    last_message_at: dt.datetime
    waiting_since: dt.datetime | None
    """The buyer's first message no human has answered yet."""
    deadline_at: dt.datetime | None
    """When the 3-minute reply deadline of that message runs out."""
    urgency: Urgency
    """``none`` (nobody waits), ``calm``, ``warning`` (80 s or less left), ``missed``."""
    assignee: UserRef | None

    @classmethod
    def of(cls, row: QueueRow) -> ConversationOut:
        return cls(
            id=row.id,
            store_id=row.store_id,
            store_name=row.store_name,
            channel=row.channel,
            status=row.status,
            buyer_id=row.buyer_id,
            buyer_name=row.buyer_name,
            last_message=row.last_message,
            last_sender=row.last_sender,
            last_message_at=row.last_message_at,
            waiting_since=row.waiting_since,
            deadline_at=row.deadline_at,
            urgency=row.urgency,
            assignee=UserRef(id=row.assignee_id, name=row.assignee_name)
            if row.assignee_id is not None
            else None,
        )


class ConversationPageOut(msgspec.Struct, kw_only=True):
    """Waiting buyers first, nearest to (or longest past) the deadline first; then the rest,
    latest activity first."""

    conversations: list[ConversationOut]
    next_cursor: str
    """Pass back as ``cursor`` for the next page; empty when this was the last."""

    @classmethod
    def of(cls, page: QueuePage) -> ConversationPageOut:
        return cls(conversations=[ConversationOut.of(row) for row in page.rows], next_cursor=page.next_cursor)


class ConversationStateOut(msgspec.Struct, kw_only=True):
    """A conversation after an assignment or status change."""

    id: int
    store_id: int
    status: ConversationStatus
    assignee_id: int | None
    waiting_since: dt.datetime | None
    deadline_at: dt.datetime | None


class MessageOut(msgspec.Struct, kw_only=True):
    id: int
    sender: Sender
    """``buyer``, ``agent``, ``auto`` (rules, welcome messages), ``system``, or ``note`` (internal,
    never sent to the buyer)."""
    author: UserRef | None
    msg_type: str
    """``text``, ``image``, ``order_share``, ``product_share`` …; details in ``payload``."""
    text: str
    payload: dict[str, Any]
    sent_at: dt.datetime
    delivery: Delivery | None
    """For messages the desk sends: ``queued``, ``sent`` or ``failed``; null for the others."""
    command_id: int | None
    """The command sending it (see ``GET /api/v1/commands/{id}``)."""
    error_code: int | None = None
    """A failed message's platform errcode."""
    error: str = ""
    """What that errcode means (or the platform's own message for codes the desk does not know)."""

    @classmethod
    def of(cls, message: HistoryMessage, error: str) -> MessageOut:
        return cls(
            id=message.id,
            sender=message.sender,
            author=UserRef(id=message.author_id, name=message.author_name)
            if message.author_id is not None
            else None,
            msg_type=message.msg_type,
            text=message.text,
            payload=message.payload,
            sent_at=message.sent_at,
            delivery=message.delivery,
            command_id=message.command_id,
            error_code=message.error_code,
            error=error,
        )


class MessagePageOut(msgspec.Struct, kw_only=True):
    messages: list[MessageOut]
    """Oldest first: the newest message is the last."""
    next_before: int | None
    """Pass back as ``before`` for the older messages; null when this page reaches the first."""

    @classmethod
    def of(cls, page: HistoryPage, errors: list[str]) -> MessagePageOut:
        return cls(
            messages=[MessageOut.of(m, e) for m, e in zip(page.messages, errors, strict=True)],
            next_before=page.next_before,
        )


class ReplyIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A reply to the buyer."""

    text: Annotated[str, msgspec.Meta(description=f"At most {MAX_REPLY_LENGTH} characters, not blank.")]
    request_id: Annotated[
        str,
        msgspec.Meta(
            max_length=MAX_REQUEST_ID_LENGTH,
            description="Your id for this reply: sending the same id again returns the first reply "
            "(one message, one platform call) instead of sending twice. Per store.",
        ),
    ] = ""
    take_over: bool = False
    """Reply even though a colleague holds the conversation (it becomes yours)."""


class ReplyOut(msgspec.Struct, kw_only=True):
    """The stored reply and the command sending it."""

    command_id: int | None
    state: CommandState
    """``queued`` until a worker sends it; then ``sending``, ``succeeded`` or ``failed``."""
    message_id: int
    created: bool
    """False when ``request_id`` named a reply already stored (nothing new was sent)."""


class AssignIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    to: int | Literal["me"]
    """``"me"`` (take the conversation) or a colleague's user id (hand it over)."""
