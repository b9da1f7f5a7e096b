"""What an order's status means to the merchant (spec §2): its words, its tone, whether to act."""

from __future__ import annotations

from desk.i18n import Message
from desk.tone import Tone

__all__ = [
    "ORDER_STATUS_TONES",
    "SHIPPED_STATUSES",
    "UNSHIPPED_STATUSES",
    "merchant_must_act",
    "order_status_label",
]

# Order ``status`` codes (specs/wechat-apis.md §2); the keys are the statuses with a label.
ORDER_STATUS_TONES: dict[int, Tone] = {
    10: Tone.WAITING,  # unpaid
    12: Tone.WAITING,  # gift not yet accepted
    13: Tone.WAITING,  # group buy not yet complete
    17: Tone.WAITING,  # local-life order to verify [U]
    20: Tone.ACTION,  # to ship
    21: Tone.ACTION,  # partly shipped
    30: Tone.WAITING,  # shipped, on its way
    100: Tone.DONE,
    190: Tone.CLOSED,  # oversold, cancelled
    200: Tone.CLOSED,  # cancelled after every item was refunded
    250: Tone.CLOSED,  # cancelled by buyer, timeout or merchant
}

UNSHIPPED_STATUSES = frozenset({20})
"""Paid and not shipped: the address may still change, a refund needs no return."""
SHIPPED_STATUSES = frozenset({21, 30})
"""On its way (at least in part): a refund of goods in transit means stopping the parcel (拦截)."""


def merchant_must_act(status: int) -> bool:
    """Whether the order waits for the merchant (to ship)."""
    return ORDER_STATUS_TONES.get(status) is Tone.ACTION


def order_status_label(status: int) -> Message:
    """The words for an order status; an unknown code is shown with its number, not hidden."""
    if status in ORDER_STATUS_TONES:
        return Message(f"activity.order_status.{status}")
    return Message("activity.order_status.unknown", {"status": status})
