"""Reading the start of a period from the command line: ``30d`` (days back) or ``2026-11-01``."""

from __future__ import annotations

import datetime as dt
import re

__all__ = ["MAX_DAYS", "parse_since"]

MAX_DAYS = 3660
"""Ten years: more is a typo (facts are not kept that long)."""
_DAYS = re.compile(r"(\d{1,6})d")


def parse_since(text: str, today: dt.date) -> dt.date:
    """The first day ``text`` names: ``Nd`` is N days before ``today``, or an ISO date.

    Raises ValueError with a message for the operator when it is neither, in the future, or
    more than :data:`MAX_DAYS` back.
    """
    value = text.strip()
    if match := _DAYS.fullmatch(value):
        days = int(match.group(1))
        if days > MAX_DAYS:
            raise ValueError(f"{value!r} is more than {MAX_DAYS} days back")
        return today - dt.timedelta(days=days)
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is neither a number of days like 30d nor a date like 2026-11-01"
        ) from None
    if day > today:
        raise ValueError(f"{value} is in the future")
    if (today - day).days > MAX_DAYS:
        raise ValueError(f"{value} is more than {MAX_DAYS} days back")
    return day
