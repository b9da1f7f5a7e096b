"""Facts: what happened, as the figures count it (written by :mod:`desk.metrics.record`)."""

from __future__ import annotations

import datetime as dt
import enum

import msgspec

from desk.metrics.window import StoreCalendar

__all__ = ["Fact", "FactKind", "make_fact"]


class FactKind(enum.StrEnum):
    CONSULTATION_OPENED = "consultation.opened"
    """A buyer began waiting for a human (``at``: the opening message)."""
    CONSULTATION_ANSWERED = "consultation.answered"
    """A human answered it (``at``: still the opening, so it counts in the hour it opened;
    ``seconds``: the first response time; ``agent_id``: who answered)."""
    ANSWER_WITHDRAWN = "consultation.unanswered"
    """The human reply that answered it never reached the buyer (its send failed): the answer
    is taken back (every field as the answering fact's), and the consultation is open again."""
    OPENING_MERGED = "consultation.merged"
    """A consultation the buyer opened after such a reply is the earlier one still going: its
    opening is taken back (every field as the opening fact's)."""
    AFTERSALE_REQUESTED = "aftersale.requested"
    AFTERSALE_COMPLETED = "aftersale.completed"
    """Refunded (``at``: when; ``seconds``: request → refunded, negotiation paused)."""
    ORDER_PAID = "order.paid"
    """An order was paid (``at``: the payment; ``buyer_id``: who)."""


class Fact(msgspec.Struct, frozen=True, kw_only=True):
    """One row of ``metric_fact`` (see :class:`~desk.metrics.models.MetricFact`)."""

    key: str
    store_id: int
    kind: FactKind
    at: dt.datetime
    local_day: dt.date
    local_hour: int
    agent_id: int | None = None
    buyer_id: int | None = None
    seconds: int | None = None
    in_window: bool = True
    in_time: bool = False
    automatic: bool = False
    detail: str = ""


def make_fact(
    calendar: StoreCalendar,
    *,
    key: str,
    store_id: int,
    kind: FactKind,
    at: dt.datetime,
    agent_id: int | None = None,
    buyer_id: int | None = None,
    seconds: int | None = None,
    in_window: bool = True,
    in_time: bool = False,
    automatic: bool = False,
    detail: str = "",
) -> Fact:
    """A fact at ``at``, placed on the store's calendar (its local day and hour)."""
    day, hour = calendar.day_and_hour(at)
    return Fact(
        key=key,
        store_id=store_id,
        kind=kind,
        at=at,
        local_day=day,
        local_hour=hour,
        agent_id=agent_id,
        buyer_id=buyer_id,
        seconds=seconds,
        in_window=in_window,
        in_time=in_time,
        automatic=automatic,
        detail=detail,
    )
