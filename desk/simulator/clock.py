"""The simulated platform's notion of "now": the wall clock, or a hand-driven one in tests.

Timestamps the platform hands out (``create_time``, token expiry, the 48-hour reply window, the
one-refund-a-minute rule) all read the simulator's clock, so a test can move an hour ahead
without waiting. Delays that make the simulator *wait* (push retries, a buyer posting a return)
are real sleeps scaled by ``time_scale`` instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["Clock", "ManualClock", "wall_clock"]

Clock = Callable[[], float]
"""Seconds since the epoch, like :func:`time.time`."""

wall_clock: Clock = time.time


class ManualClock:
    """A clock that moves only when told to: ``clock.advance(7201)`` expires every token."""

    def __init__(self, start: float = 1_780_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
