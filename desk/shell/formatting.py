"""How money, instants and waits read on a page: ``¥12.34``, ``14:03``, ``3 分 12 秒``.

Plain functions, registered as Jinja filters in :mod:`desk.templating` and usable from services
and tests alike. Times are shown in Asia/Shanghai, where the stores and their agents work.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from desk.db import utcnow
from desk.i18n import translate

__all__ = ["SHANGHAI", "format_clock", "format_duration", "format_fen", "format_timestamp"]

SHANGHAI = ZoneInfo("Asia/Shanghai")


def format_fen(fen: int) -> str:
    """An amount of integer fen in yuan: ``1234`` → ``¥12.34``, ``-5`` → ``-¥0.05``.

    Integer arithmetic only, so no amount is ever a fen off; thousands are grouped
    (``¥1,234.50``) because live-stream orders and refunds run into the tens of thousands.
    """
    sign = "-" if fen < 0 else ""
    yuan, rest = divmod(abs(fen), 100)
    return f"{sign}¥{yuan:,}.{rest:02d}"


def format_clock(instant: dt.datetime | None, now: dt.datetime | None = None, tz: ZoneInfo = SHANGHAI) -> str:
    """An instant as a list shows it: ``14:03`` today, ``11-21 14:03`` this year, else with the year.

    "Today" is the reader's day in ``tz``, not the server's; ``None`` (never happened) is blank.
    """
    if instant is None:
        return ""
    local = instant.astimezone(tz)
    today = (now or utcnow()).astimezone(tz).date()
    if local.date() == today:
        return local.strftime("%H:%M")
    if local.year == today.year:
        return local.strftime("%m-%d %H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


def format_timestamp(instant: dt.datetime | None, tz: ZoneInfo = SHANGHAI) -> str:
    """An instant in full, to the second (``2026-11-22 14:03:21``), for tooltips and details."""
    return "" if instant is None else instant.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def format_duration(seconds: int, language: str) -> str:
    """A span as people say it, in its two largest units: ``45 秒``, ``3 分 12 秒``, ``2 小时 5 分``,
    ``3 天 4 小时`` (catalogue keys ``activity.duration.*``). Negative spans (clock skew) read as 0."""
    minutes, secs = divmod(max(0, seconds), 60)
    hours, mins = divmod(minutes, 60)
    days, hrs = divmod(hours, 24)
    if days:
        return translate(language, "activity.duration.days", days=days, hours=hrs)
    if hours:
        return translate(language, "activity.duration.hours", hours=hours, minutes=mins)
    if minutes:
        return translate(language, "activity.duration.minutes", minutes=minutes, seconds=secs)
    return translate(language, "activity.duration.seconds", seconds=secs)
