"""A store's assessment window: minute-exact edges, windows over midnight, unknown time zones."""

from __future__ import annotations

import datetime as dt

import pytest

from desk.metrics.window import StoreCalendar
from tests.metrics.support import local


@pytest.mark.parametrize(
    ("clock", "inside"),
    [("07:59:59", False), ("08:00:00", True), ("23:59:59", True), ("00:00:00", False), ("12:00:00", True)],
)
def test_the_default_window_is_0800_to_midnight_in_shanghai(clock: str, inside: bool) -> None:
    assert StoreCalendar().in_window(local("2026-12-01", clock)) is inside


@pytest.mark.parametrize(
    ("clock", "inside"), [("21:59:00", False), ("22:00:00", True), ("01:59:00", True), ("02:00:00", False)]
)
def test_a_window_may_run_over_midnight(clock: str, inside: bool) -> None:
    night = StoreCalendar(assessment_start_min=22 * 60, assessment_end_min=2 * 60)
    assert night.in_window(local("2026-12-01", clock)) is inside


def test_the_deadline_is_inclusive_and_the_stores_own() -> None:
    assert StoreCalendar().in_time(180)
    assert not StoreCalendar().in_time(180.5)
    assert StoreCalendar(reply_deadline_s=600).in_time(599)


def test_an_unknown_time_zone_counts_in_shanghai_instead_of_failing() -> None:
    odd = StoreCalendar(timezone="Mars/Olympus_Mons")
    assert odd.day_and_hour(dt.datetime(2026, 12, 1, 16, 30, tzinfo=dt.UTC)) == (dt.date(2026, 12, 2), 0)
