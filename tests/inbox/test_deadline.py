"""How a waiting buyer's row looks as the 3-minute deadline approaches."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from desk.inbox.deadline import REPLY_DEADLINE, Urgency, deadline_for, urgency
from tests.inbox.support import T0


def waited(seconds: float) -> Urgency:
    return urgency(deadline_for(T0), T0 + dt.timedelta(seconds=seconds))


def test_calm_then_amber_at_100_seconds_then_red_at_the_deadline() -> None:
    assert deadline_for(T0) == T0 + REPLY_DEADLINE
    assert [waited(s) for s in (0, 99.999, 100, 179.999, 180, 3600)] == [
        Urgency.CALM,
        Urgency.CALM,
        Urgency.WARNING,
        Urgency.WARNING,
        Urgency.MISSED,
        Urgency.MISSED,
    ]
    assert urgency(None, T0) == Urgency.NONE


@given(st.floats(min_value=-600, max_value=3600))
def test_urgency_only_grows_with_the_wait(seconds: float) -> None:
    order = [Urgency.CALM, Urgency.WARNING, Urgency.MISSED]
    assert order.index(waited(seconds)) <= order.index(waited(seconds + 1))
