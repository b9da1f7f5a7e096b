"""Failure counters with exponential back-off: the primitive under the login throttle.

A counter, named by a key, admits a try only when no wait is running; admitting it counts it and,
once the free tries are used up, starts the next wait (doubling, capped). Checking and counting
are one atomic step on a store every process shares — one SQL statement (:mod:`.backoff_sql`) or
one Redis script (:mod:`.backoff_redis`) — so fifty parallel tries cannot all slip in while the
count still looks low. Tries refused during a wait are not counted: hammering does not lengthen it.
"""

from __future__ import annotations

from typing import Protocol

import msgspec

__all__ = ["FORGET_AFTER_S", "Backoff", "BackoffCounters", "Claim"]

FORGET_AFTER_S = 15 * 60
"""A counter is forgotten this long after its last admitted try (after the wait it started)."""


class Backoff(msgspec.Struct, frozen=True):
    """The waits of one kind of counter: ``free`` tries without waiting, then ``first_s`` seconds,
    doubling with each further try, never more than ``max_s``."""

    free: int
    max_s: int
    first_s: int = 1

    def delay(self, tries: int) -> int:
        """Seconds to wait before the try after the ``tries``-th counted one."""
        if tries < self.free:
            return 0
        doublings = tries - self.free
        # Past 2**31 the cap has long been reached; stop before the number gets silly.
        return self.max_s if doublings > 31 else min(self.max_s, self.first_s << doublings)

    def schedule(self) -> dict[int, int]:
        """Every try count whose wait is between the first and the cap (for the SQL backend)."""
        steps: dict[int, int] = {}
        tries = self.free
        while (wait := self.delay(tries)) < self.max_s:
            steps[tries] = wait
            tries += 1
        return steps


class Claim(msgspec.Struct, frozen=True):
    """One try against a counter: admitted (and counted), or refused for ``retry_after`` seconds."""

    admitted: bool
    retry_after: int = 0


class BackoffCounters(Protocol):
    """Counters shared by every process of the desk. ``now`` is Unix time in seconds."""

    async def claim(self, key: str, backoff: Backoff, now: float) -> Claim:
        """Admit and count one try unless a wait is running (atomically)."""
        ...

    async def refund(self, key: str, backoff: Backoff) -> None:
        """Uncount one admitted try that turned out not to be a failure, and lift the wait it
        started if the tries left are within ``backoff``'s free ones: sign-ins that succeed
        together (an office behind one address, every agent at 9:00) do not throttle each other."""
        ...

    async def forget(self, key: str) -> None:
        """Drop the counter: its tries are forgiven."""
        ...

    async def purge(self, now: float) -> None:
        """Delete counters forgotten by ``now`` (where the store does not expire them itself)."""
        ...
