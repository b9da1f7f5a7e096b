"""Window times and deadlines as typed on the command line: every valid value, clear refusals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desk.metrics.window_text import MAX_DEADLINE_S, format_minute, parse_deadline, parse_minute


@given(minute=st.integers(0, 1440))
def test_every_minute_of_the_day_round_trips(minute: int) -> None:
    assert parse_minute(format_minute(minute)) == minute


@given(text=st.text(max_size=8))
def test_any_text_is_a_minute_of_the_day_or_refused_by_name(text: str) -> None:
    try:
        minute = parse_minute(text)
    except ValueError as exc:
        assert repr(text.strip()) in str(exc)  # noqa: PT017 - the message must name the input
    else:
        assert 0 <= minute <= 1440


@pytest.mark.parametrize("text", ["24:01", "8", "08:60", "25:00", "8:00am", "０８:００"])
def test_impossible_times_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a time"):
        parse_minute(text)


@given(text=st.text(max_size=6))
def test_a_deadline_is_whole_seconds_in_range_or_refused(text: str) -> None:
    try:
        seconds = parse_deadline(text)
    except ValueError as exc:
        assert str(exc)  # noqa: PT017 - refused with a message
    else:
        assert 1 <= seconds <= MAX_DEADLINE_S
        assert str(seconds) == text.strip().lstrip("0")
