"""How a status reads at a glance: whose move it is, or that it is over (a CSS class)."""

from __future__ import annotations

import enum

__all__ = ["Tone"]


class Tone(enum.StrEnum):
    ACTION = "action"
    """The merchant must act (ship, review a request, receive a return)."""
    WAITING = "waiting"
    """Someone else moves next: the buyer, the courier or the platform."""
    DONE = "done"
    CLOSED = "closed"
    FAILED = "failed"
    """Something went wrong and needs a look (a refund failed, a deadline passed)."""
