"""What an after-sale's status and type mean to the merchant, and which decision each status allows.

Statuses are the platform's strings (spec §3, its spelling ``USER_CANCELD`` included). This module
is the one place that knows whose move it is, what a status is called, and which actions apply.
"""

from __future__ import annotations

import enum

from desk.i18n import Message
from desk.tone import Tone

__all__ = [
    "ACTIONS_BY_STATUS",
    "AFTERSALE_STATUS_TONES",
    "AFTERSALE_TYPES",
    "AfterSaleAction",
    "aftersale_status_label",
    "aftersale_type_label",
    "merchant_must_act",
    "open_statuses",
]

# After-sale ``status`` strings (specs/wechat-apis.md §3), the platform's spelling included.
AFTERSALE_STATUS_TONES: dict[str, Tone] = {
    "USER_CANCELD": Tone.CLOSED,
    "MERCHANT_PROCESSING": Tone.ACTION,
    "MERCHANT_REJECT_REFUND": Tone.CLOSED,
    "MERCHANT_REJECT_RETURN": Tone.CLOSED,
    "USER_WAIT_RETURN": Tone.WAITING,
    "RETURN_CLOSED": Tone.CLOSED,
    "MERCHANT_WAIT_RECEIPT": Tone.ACTION,
    "MERCHANT_OVERDUE_REFUND": Tone.FAILED,
    "MERCHANT_REFUND_SUCCESS": Tone.DONE,
    "MERCHANT_RETURN_SUCCESS": Tone.DONE,
    "PLATFORM_REFUNDING": Tone.WAITING,
    "PLATFORM_REFUND_FAIL": Tone.FAILED,
    "USER_WAIT_CONFIRM": Tone.WAITING,
    "MERCHANT_REFUND_RETRY_FAIL": Tone.FAILED,
    "MERCHANT_FAIL": Tone.CLOSED,
    "USER_WAIT_CONFIRM_UPDATE": Tone.WAITING,
    "USER_WAIT_HANDLE_MERCHANT_AFTER_SALE": Tone.WAITING,
}

AFTERSALE_TYPES = frozenset({"REFUND", "RETURN", "EXCHANGE"})


class AfterSaleAction(enum.StrEnum):
    APPROVE = "approve"
    """Refund-only: pay the buyer. Return or exchange: agree, the buyer ships it back."""
    CONFIRM_RECEIPT = "confirm_receipt"
    """The returned goods arrived: refund."""
    REJECT = "reject"
    NEGOTIATE = "negotiate"
    """协商: propose another solution, ask for evidence, or invite the buyer to cancel."""


ACTIONS_BY_STATUS: dict[str, frozenset[AfterSaleAction]] = {
    "MERCHANT_PROCESSING": frozenset(
        {AfterSaleAction.APPROVE, AfterSaleAction.REJECT, AfterSaleAction.NEGOTIATE}
    ),
    "MERCHANT_WAIT_RECEIPT": frozenset(
        {AfterSaleAction.CONFIRM_RECEIPT, AfterSaleAction.REJECT, AfterSaleAction.NEGOTIATE}
    ),
}
"""The decisions the merchant may take in each status (none in the others)."""


def merchant_must_act(status: str) -> bool:
    """Whether the after-sale waits for the merchant (review a request, receive a return)."""
    return status in ACTIONS_BY_STATUS


def open_statuses() -> frozenset[str]:
    """Statuses of after-sales still under way (neither done nor closed)."""
    return frozenset(s for s, tone in AFTERSALE_STATUS_TONES.items() if tone in (Tone.ACTION, Tone.WAITING))


def aftersale_status_label(status: str) -> Message:
    """The words for an after-sale status; an unknown one is shown as the platform spells it."""
    if status in AFTERSALE_STATUS_TONES:
        return Message(f"activity.aftersale_status.{status}")
    return Message("activity.aftersale_status.unknown", {"status": status})


def aftersale_type_label(kind: str) -> Message:
    """仅退款 / 退货退款 / 换货; an unknown type is shown as the platform spells it."""
    if kind in AFTERSALE_TYPES:
        return Message(f"activity.aftersale_type.{kind}")
    return Message("activity.aftersale_type.unknown", {"type": kind})
