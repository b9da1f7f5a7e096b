"""``--since``: N days back or a date; anything else is a clear error, never a crash."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desk.metrics.since import MAX_DAYS, parse_since

TODAY = dt.date(2026, 12, 1)


@given(days=st.integers(0, MAX_DAYS))
def test_days_back_count_from_today(days: int) -> None:
    assert parse_since(f"{days}d", TODAY) == TODAY - dt.timedelta(days=days)


@given(day=st.dates(TODAY - dt.timedelta(days=MAX_DAYS), TODAY))
def test_a_date_is_that_date(day: dt.date) -> None:
    assert parse_since(day.isoformat(), TODAY) == day


@given(text=st.text(max_size=20))
def test_any_other_text_is_refused_with_a_message(text: str) -> None:
    message = ""
    try:
        day = parse_since(text, TODAY)
    except ValueError as exc:
        message = str(exc)
    if message:
        assert repr(text.strip()) in message or text.strip() in message  # it names what was given
    else:
        assert TODAY - dt.timedelta(days=MAX_DAYS) <= day <= TODAY


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("30", "neither a number of days like 30d"),
        ("2026-12-02", "in the future"),
        (f"{MAX_DAYS + 1}d", "more than"),
        ("yesterday", "neither"),
    ],
)
def test_refusals_say_why(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_since(text, TODAY)
