"""Money, instants and waits as pages show them."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desk.shell.formatting import format_clock, format_duration, format_fen, format_timestamp


@pytest.mark.parametrize(
    ("fen", "shown"),
    [
        (0, "¥0.00"),
        (5, "¥0.05"),
        (1234, "¥12.34"),
        (6900, "¥69.00"),
        (123450, "¥1,234.50"),
        (123456789, "¥1,234,567.89"),
        (-5, "-¥0.05"),
    ],
)
def test_fen_read_as_yuan(fen: int, shown: str) -> None:
    assert format_fen(fen) == shown


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_yuan_shown_are_exactly_the_fen_stored(fen: int) -> None:
    shown = format_fen(fen)
    sign = -1 if shown.startswith("-") else 1
    yuan, cents = shown.lstrip("-").removeprefix("¥").replace(",", "").split(".")
    assert len(cents) == 2
    assert sign * (int(yuan) * 100 + int(cents)) == fen


UTC = dt.UTC
NOW = dt.datetime(2026, 11, 22, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


@pytest.mark.parametrize(
    ("instant", "shown"),
    [
        (dt.datetime(2026, 11, 22, 1, 5, tzinfo=UTC), "09:05"),
        # 23:30 UTC on the 21st is already 07:30 on the 22nd in Shanghai: today there.
        (dt.datetime(2026, 11, 21, 23, 30, tzinfo=UTC), "07:30"),
        # 15:59 UTC on the 21st is 23:59 on the 21st in Shanghai: yesterday there.
        (dt.datetime(2026, 11, 21, 15, 59, tzinfo=UTC), "11-21 23:59"),
        (dt.datetime(2025, 12, 31, 16, 0, tzinfo=UTC), "01-01 00:00"),  # new year in Shanghai
        (dt.datetime(2025, 12, 31, 15, 0, tzinfo=UTC), "2025-12-31 23:00"),
    ],
)
def test_clock_is_shanghai_time_with_as_much_date_as_needed(instant: dt.datetime, shown: str) -> None:
    assert format_clock(instant, now=NOW) == shown


def test_blank_instants_and_full_timestamps() -> None:
    assert format_clock(None) == ""
    assert format_timestamp(None) == ""
    assert format_timestamp(dt.datetime(2026, 11, 21, 23, 30, 5, tzinfo=UTC)) == "2026-11-22 07:30:05"


@pytest.mark.parametrize(
    ("seconds", "zh", "en"),
    [
        (0, "0 秒", "0 s"),
        (45, "45 秒", "45 s"),
        (192, "3 分 12 秒", "3 min 12 s"),
        (3600 * 2 + 5 * 60 + 59, "2 小时 5 分", "2 h 5 min"),
        (86400 * 3 + 3600 * 4 + 1, "3 天 4 小时", "3 d 4 h"),
        (-30, "0 秒", "0 s"),
    ],
)
def test_durations_read_in_their_two_largest_units(seconds: int, zh: str, en: str) -> None:
    assert format_duration(seconds, "zh-CN") == zh
    assert format_duration(seconds, "en") == en
