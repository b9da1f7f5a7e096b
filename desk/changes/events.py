"""The change events, one Struct each, tagged by ``type`` so they travel as one union.

Events are small facts about *what* changed, with the ids needed to re-read it; consumers read
the current state from its owner instead of trusting a copy carried in the event (a page that
re-renders a conversation shows it as it is now, however many events it missed).

``origin`` says who caused the change — ``platform`` (a push or a reconciliation), ``user:<id>``,
``rule:<id>`` or ``system`` (timers, assignment) — so that rules never fire on their own actions.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = [
    "AfterSaleChanged",
    "AnyChange",
    "Change",
    "CommandChanged",
    "ConversationChanged",
    "MessageAdded",
    "OrderChanged",
    "decode_change",
    "encode_change",
    "user_origin",
]


class Change(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    store_id: int | None
    """The store the change belongs to (what scopes who may see it); None for desk-wide ones."""
    origin: str = "platform"


class MessageAdded(Change, frozen=True, kw_only=True, tag="message.added"):
    """A message was filed in a conversation: from the buyer, an agent, a rule or the system."""

    conversation_id: int
    message_id: int
    sender: str
    """``buyer``, ``agent``, ``auto`` or ``system`` (:class:`desk.inbox.models.Sender`)."""
    buyer_id: int | None = None


class ConversationChanged(Change, frozen=True, kw_only=True, tag="conversation.changed"):
    """A conversation's queue position, status or assignee changed."""

    conversation_id: int
    what: str
    """Why: ``waiting``, ``answered``, ``assigned``, ``status``, ``tags`` … (for logs and filters)."""
    assignee_id: int | None = None
    status: str = ""


class OrderChanged(Change, frozen=True, kw_only=True, tag="order.changed"):
    """An order was stored with a new state (a fresher ``order/get`` answer)."""

    order_pk: int
    order_id: str
    buyer_id: int | None
    status: int
    previous_status: int | None
    """None when the order was not known before."""


class AfterSaleChanged(Change, frozen=True, kw_only=True, tag="aftersale.changed"):
    """An after-sale request was stored with a new state."""

    aftersale_pk: int
    after_sale_order_id: str
    order_id: str
    buyer_id: int | None
    kind: str
    """``REFUND`` (仅退款), ``RETURN`` (退货退款) or ``EXCHANGE`` (换货)."""
    status: str
    previous_status: str | None
    """None when the request was not known before (it was just created)."""


class CommandChanged(Change, frozen=True, kw_only=True, tag="command.changed"):
    """An outbound command was queued, or its outcome is known (``succeeded`` / ``failed``)."""

    command_id: int
    kind: str
    state: str
    subject: str = ""
    """What the command acts on, e.g. ``message:12`` or ``aftersale:7`` (for live pages)."""
    conversation_id: int | None = None


AnyChange = MessageAdded | ConversationChanged | OrderChanged | AfterSaleChanged | CommandChanged

_decoder = msgspec.json.Decoder(AnyChange)
_converter_type: Any = AnyChange


def user_origin(user_id: int) -> str:
    return f"user:{user_id}"


def encode_change(change: Change) -> dict[str, Any]:
    """The event as JSON-ready builtins (``type`` included), as stored in ``change_event.payload``."""
    return msgspec.to_builtins(change)


def decode_change(payload: dict[str, Any] | bytes) -> AnyChange:
    """The event back from its stored or published form."""
    if isinstance(payload, bytes):
        return _decoder.decode(payload)
    return msgspec.convert(payload, _converter_type)
