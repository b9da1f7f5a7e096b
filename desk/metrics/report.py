"""The daily report (昨日数据): one store's figures of one local day, as lines of text.

The CLI prints it (``desk metrics report --day``); the printable page will show the same
:class:`~desk.metrics.figures.Summary` fields.
"""

from __future__ import annotations

import datetime as dt

from desk.i18n import translate
from desk.metrics.figures import Summary

__all__ = ["report_lines"]


def _percent(value: float | None, language: str) -> str:
    return translate(language, "metrics.no_data") if value is None else f"{value * 100:.1f}%"


def _seconds(value: float | None, language: str) -> str:
    return translate(language, "metrics.no_data") if value is None else f"{value:.0f}"


def report_lines(store_name: str, day: dt.date, figures: Summary, language: str) -> list[str]:
    """The report of ``store_name`` on ``day`` in ``language``: a heading and one line per figure."""
    t = translate
    lines = [t(language, "metrics.report.heading", store=store_name, day=day.isoformat())]
    if figures.consultations + figures.outside_consultations + figures.orders + figures.aftersales == 0:
        return [*lines, "  " + t(language, "metrics.report.empty")]
    rows = [
        t(
            language,
            "metrics.report.reply_rate",
            rate=_percent(figures.reply_rate, language),
            in_time=figures.answered_in_time,
            consultations=figures.consultations,
        ),
        t(
            language,
            "metrics.report.outside",
            consultations=figures.outside_consultations,
            rate=_percent(figures.outside_reply_rate, language),
        ),
        t(
            language,
            "metrics.report.first_response",
            median=_seconds(figures.first_response_median_s, language),
            p90=_seconds(figures.first_response_p90_s, language),
        ),
        t(
            language,
            "metrics.report.aftersales",
            aftersales=figures.aftersales,
            orders=figures.orders,
            rate=_percent(figures.aftersale_rate, language),
        ),
        t(
            language,
            "metrics.report.completion",
            refund_only=_seconds(figures.refund_only_mean_s, language),
            refund_only_count=figures.refund_only_completed,
            return_refund=_seconds(figures.return_refund_mean_s, language),
            return_refund_count=figures.return_refund_completed,
        ),
        t(language, "metrics.report.automatic", share=_percent(figures.automatic_share, language)),
    ]
    return [*lines, *("  " + row for row in rows)]
