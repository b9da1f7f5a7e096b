"""The reply deadline: how long a buyer may wait for a human, and how urgent a wait looks.

The store score counts a consultation as answered in time when a human replies within 180
seconds of the buyer's first unanswered message (design: reply-rate). The queue sorts waiting
buyers by the time left, and each row counts down: calm, then amber once the buyer has waited
:data:`WARNING_AFTER` (80 seconds left), red once the deadline has passed.
"""

from __future__ import annotations

import datetime as dt
import enum

__all__ = [
    "REPLY_DEADLINE",
    "REPLY_LIMIT",
    "REPLY_WINDOW",
    "WARNING_AFTER",
    "Urgency",
    "deadline_for",
    "urgency",
]

REPLY_DEADLINE = dt.timedelta(seconds=180)
"""The 3-minute human reply deadline the store score counts."""

WARNING_AFTER = dt.timedelta(seconds=100)
"""Waited this long, a buyer's row turns amber: 80 seconds are left to answer in time."""

REPLY_WINDOW = dt.timedelta(hours=48)
"""After a buyer's message the store may reply for this long (spec §6A) …"""

REPLY_LIMIT = 5
"""… and at most this many times, until the buyer writes again."""


class Urgency(enum.StrEnum):
    """How a waiting buyer's row looks (a CSS class)."""

    NONE = "none"
    """Nobody waits for a human."""
    CALM = "calm"
    WARNING = "warning"
    MISSED = "missed"


def deadline_for(waiting_since: dt.datetime) -> dt.datetime:
    """When the reply to a buyer waiting since ``waiting_since`` is due."""
    return waiting_since + REPLY_DEADLINE


def urgency(deadline_at: dt.datetime | None, now: dt.datetime) -> Urgency:
    """How urgent the wait of a conversation due at ``deadline_at`` is at ``now``."""
    if deadline_at is None:
        return Urgency.NONE
    left = deadline_at - now
    if left <= dt.timedelta(0):
        return Urgency.MISSED
    if left <= REPLY_DEADLINE - WARNING_AFTER:
        return Urgency.WARNING
    return Urgency.CALM
