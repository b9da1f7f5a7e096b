"""Injected API failures: a share of calls fail the way the real platform sometimes does.

Which call fails is decided by a random stream seeded with ``seed``, one draw per API call in the
order the calls arrive: the same sequence of calls meets the same failures. Pushes are never
affected (lost pushes are the push dispatcher's: ``Simulator.drop_next_pushes``, or the overview
page's fault controls, :mod:`.fault_controls`).

Kinds:

* ``http500`` — the gateway answers HTTP 500 with no JSON.
* ``busy`` — HTTP 200 with ``errcode`` -1 ("system error"); nothing was done.
* ``timeout`` — no answer for ``timeout_s`` (longer than a client waits); nothing was done.
* ``late_reply`` — the call *is* carried out, but the answer comes after ``timeout_s``: the
  client cannot tell whether it worked (not in the default kinds).

Apart from those, ``token_calls_fail`` makes every token call (``/cgi-bin/token``,
``stable_token``, WeCom ``gettoken``) answer "system error" (counted as kind ``token``): the
desk can then call nothing once its token is refused, which is how events end up parked.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["FAULT_KINDS", "TOKEN_FAULT", "Faults"]

FAULT_KINDS = ("http500", "busy", "timeout", "late_reply")
TOKEN_FAULT = "token"  # noqa: S105 - the name of a fault kind, not a credential
"""The kind counted for a token call failed by ``token_calls_fail``."""


@dataclass
class Faults:
    """A failure policy for API calls: ``Faults(error_rate=0.2, kinds=("http500", "busy"), seed=3)``."""

    error_rate: float = 0.0
    kinds: tuple[str, ...] = ("http500", "busy", "timeout")
    seed: int = 0
    timeout_s: float = 15.0
    token_calls_fail: bool = False
    injected: Counter[str] = field(default_factory=Counter, init=False)
    """How many faults of each kind were injected so far."""
    calls: int = field(default=0, init=False)
    """How many API calls were considered."""

    def __post_init__(self) -> None:
        _check(self.error_rate, self.kinds)
        self._rng = random.Random(self.seed)  # noqa: S311 - simulation

    def configure(
        self,
        *,
        error_rate: float | None = None,
        kinds: Sequence[str] | None = None,
        token_calls_fail: bool | None = None,
    ) -> None:
        """Change the policy while it runs (None: leave as is); the counters and the random
        stream carry on, so a page can turn faults on and off without losing the figures."""
        rate = self.error_rate if error_rate is None else error_rate
        chosen = self.kinds if kinds is None else tuple(kinds)
        _check(rate, chosen)
        self.error_rate, self.kinds = rate, chosen
        if token_calls_fail is not None:
            self.token_calls_fail = token_calls_fail

    def draw(self, *, token_call: bool = False) -> str | None:
        """The fault for the next API call, or None. Always two draws when the rate is above
        zero, so a rate change between runs does not shift which kind a failing call gets."""
        self.calls += 1
        if token_call and self.token_calls_fail:
            self.injected[TOKEN_FAULT] += 1
            return TOKEN_FAULT
        if self.error_rate <= 0.0:
            return None
        roll, pick = self._rng.random(), self._rng.random()
        if roll >= self.error_rate:
            return None
        kind = self.kinds[int(pick * len(self.kinds))]
        self.injected[kind] += 1
        return kind


def _check(error_rate: float, kinds: tuple[str, ...]) -> None:
    if not 0.0 <= error_rate <= 1.0:
        raise ValueError(f"error_rate must be between 0 and 1, not {error_rate}")
    unknown = [k for k in kinds if k not in FAULT_KINDS]
    if unknown or not kinds:
        raise ValueError(f"unknown fault kinds {unknown}; choose from {', '.join(FAULT_KINDS)}")
