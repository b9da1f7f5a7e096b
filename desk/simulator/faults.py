"""Injected API failures: a share of calls fail the way the real platform sometimes does.

Which call fails is decided by a random stream seeded with ``seed``, one draw per API call in the
order the calls arrive: the same sequence of calls meets the same failures. Pushes are never
affected (use ``Simulator.drop_next_pushes`` for lost pushes).

Kinds:

* ``http500`` — the gateway answers HTTP 500 with no JSON.
* ``busy`` — HTTP 200 with ``errcode`` -1 ("system error"); nothing was done.
* ``timeout`` — no answer for ``timeout_s`` (longer than a client waits); nothing was done.
* ``late_reply`` — the call *is* carried out, but the answer comes after ``timeout_s``: the
  client cannot tell whether it worked (not in the default kinds).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

__all__ = ["FAULT_KINDS", "Faults"]

FAULT_KINDS = ("http500", "busy", "timeout", "late_reply")


@dataclass
class Faults:
    """A failure policy for API calls: ``Faults(error_rate=0.2, kinds=("http500", "busy"), seed=3)``."""

    error_rate: float = 0.0
    kinds: tuple[str, ...] = ("http500", "busy", "timeout")
    seed: int = 0
    timeout_s: float = 15.0
    injected: Counter[str] = field(default_factory=Counter, init=False)
    """How many faults of each kind were injected so far."""
    calls: int = field(default=0, init=False)
    """How many API calls were considered."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError(f"error_rate must be between 0 and 1, not {self.error_rate}")
        unknown = [k for k in self.kinds if k not in FAULT_KINDS]
        if unknown or not self.kinds:
            raise ValueError(f"unknown fault kinds {unknown}; choose from {', '.join(FAULT_KINDS)}")
        self._rng = random.Random(self.seed)  # noqa: S311 - simulation

    def draw(self) -> str | None:
        """The fault for the next API call, or None. Always two draws, so a rate change between
        runs does not shift which kind a failing call gets."""
        self.calls += 1
        if self.error_rate <= 0.0:
            return None
        roll, pick = self._rng.random(), self._rng.random()
        if roll >= self.error_rate:
            return None
        kind = self.kinds[int(pick * len(self.kinds))]
        self.injected[kind] += 1
        return kind
