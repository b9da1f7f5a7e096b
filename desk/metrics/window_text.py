"""Assessment-window times as people write them: ``08:00`` … ``24:00`` ⇄ minutes of the day."""

from __future__ import annotations

import re

__all__ = ["MAX_DEADLINE_S", "format_minute", "parse_deadline", "parse_minute"]

_CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{2})")
MAX_DEADLINE_S = 3600
"""An hour: other platforms cap one round's wait at 10 minutes; more is a typo."""


def parse_minute(text: str) -> int:
    """``HH:MM`` as minutes after midnight; ``24:00`` (the end of the day) is 1440.

    Raises ValueError naming what was wrong.
    """
    value = text.strip()
    match = _CLOCK.fullmatch(value)
    if match is None:
        raise ValueError(f"{value!r} is not a time like 08:00")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"{value!r} is not a time between 00:00 and 24:00")
    return hours * 60 + minutes


def format_minute(minute: int) -> str:
    """Minutes after midnight as ``HH:MM`` (1440 is ``24:00``)."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_deadline(text: str) -> int:
    """A reply deadline in whole seconds, 1 to :data:`MAX_DEADLINE_S`."""
    value = text.strip()
    if not value.isascii() or not value.isdigit():
        raise ValueError(f"{value!r} is not a number of seconds like 180")
    seconds = int(value)
    if not 1 <= seconds <= MAX_DEADLINE_S:
        raise ValueError(f"{seconds} is not between 1 and {MAX_DEADLINE_S} seconds")
    return seconds
