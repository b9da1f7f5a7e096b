"""The condition registry: how each predicate of a rule is checked against the facts.

One function per predicate, in an explicit table (no dispatch on names found in data). Each
returns whether the predicate holds — ``None`` when the fact it needs is unknown — and the value
it looked at, which the rule run records ("order_age_hours: 3.98"). Unknown is never true: an
auto-approval must not happen because a fact was missing (``not`` of unknown stays unknown).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from desk.orders.status import SHIPPED_STATUSES
from desk.rules.facts import Event, Facts
from desk.rules.model import Keywords, Range, TimeWindow

__all__ = ["CHECKS", "SHIPPED", "Check", "Checked"]

Checked = tuple[bool | None, Any]
"""Whether it held (None: unknown), and the value seen."""
Check = Callable[[Any, Event, Facts], Checked]

SHIPPED = SHIPPED_STATUSES | {100}
"""Statuses in which goods have left the warehouse (completed orders were shipped too)."""


def _in_range(bounds: Range, value: float | None) -> Checked:
    if value is None:
        return None, None
    held = (bounds.min is None or value >= bounds.min) and (bounds.max is None or value <= bounds.max)
    return held, value


def _one_of(allowed: list[Any], value: Any) -> Checked:
    if value is None:
        return None, None
    return value in allowed, value


def _order_age_hours(bounds: Range, event: Event, facts: Facts) -> Checked:
    paid_at = facts.order.paid_at if facts.order else None
    if paid_at is None:
        return None, None
    # Exact seconds, not rounded hours: 3 h 59 m is inside "at most 4", 4 h 01 m is not.
    return _in_range(bounds, (facts.now - paid_at).total_seconds() / 3600)


def _order_status(allowed: list[int], event: Event, facts: Facts) -> Checked:
    return _one_of(allowed, facts.order.status if facts.order else None)


def _shipped(wanted: bool, event: Event, facts: Facts) -> Checked:
    if facts.order is None:
        return None, None
    shipped = facts.order.status in SHIPPED
    return shipped == wanted, shipped


def _refund_amount_fen(bounds: Range, event: Event, facts: Facts) -> Checked:
    return _in_range(bounds, facts.aftersale.refund_amount_fen if facts.aftersale else None)


def _order_amount_fen(bounds: Range, event: Event, facts: Facts) -> Checked:
    return _in_range(bounds, facts.order.amount_fen if facts.order else None)


def _aftersale_type(allowed: list[str], event: Event, facts: Facts) -> Checked:
    return _one_of(allowed, facts.aftersale.type if facts.aftersale else None)


def _aftersale_reason(allowed: list[str], event: Event, facts: Facts) -> Checked:
    if facts.aftersale is None:
        return None, None
    seen = facts.aftersale.reason or facts.aftersale.reason_text
    held = facts.aftersale.reason in allowed or facts.aftersale.reason_text in allowed
    return held, seen


def _sku(allowed: list[str], event: Event, facts: Facts) -> Checked:
    if facts.aftersale is not None and facts.aftersale.sku_id:
        return facts.aftersale.sku_id in allowed, facts.aftersale.sku_id
    if facts.order is None:
        return None, None
    return any(s in allowed for s in facts.order.sku_ids), list(facts.order.sku_ids)


def _product(allowed: list[str], event: Event, facts: Facts) -> Checked:
    if facts.aftersale is not None and facts.aftersale.product_id:
        return facts.aftersale.product_id in allowed, facts.aftersale.product_id
    if facts.order is None:
        return None, None
    return any(p in allowed for p in facts.order.product_ids), list(facts.order.product_ids)


def _store(allowed: list[str], event: Event, facts: Facts) -> Checked:
    return event.store_appid in allowed, event.store_appid


def _buyer_tag(allowed: list[str], event: Event, facts: Facts) -> Checked:
    if facts.buyer is None:
        return None, None
    return any(t in allowed for t in facts.buyer.tags), list(facts.buyer.tags)


def _keywords(keywords: Keywords, event: Event, facts: Facts) -> Checked:
    text = facts.message_text
    if text is None:
        return None, None
    if keywords.match == "exact":
        return text.strip() in keywords.words, text
    hits = [w for w in keywords.words if w in text]
    return bool(hits), hits or text


@cache
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _local(facts: Facts) -> dt.datetime | None:
    zone = _zone(facts.timezone)
    return facts.now.astimezone(zone) if zone else None


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _time_of_day(window: TimeWindow, event: Event, facts: Facts) -> Checked:
    local = _local(facts)
    if local is None:
        return None, None
    now, start, end = local.hour * 60 + local.minute, _minutes(window.start), _minutes(window.end)
    # A window ending before it starts wraps midnight (22:00 → 08:00).
    held = start <= now < end if start < end else now >= start or now < end
    return held, local.strftime("%H:%M")


def _weekday(allowed: list[int], event: Event, facts: Facts) -> Checked:
    local = _local(facts)
    if local is None:
        return None, None
    return local.isoweekday() in allowed, local.isoweekday()


def _in_service_hours(wanted: bool, event: Event, facts: Facts) -> Checked:
    if facts.in_service_hours is None:
        return None, None
    return facts.in_service_hours == wanted, facts.in_service_hours


def _buyer_aftersales_30d(bounds: Range, event: Event, facts: Facts) -> Checked:
    return _in_range(bounds, facts.buyer.aftersales_30d if facts.buyer else None)


CHECKS: dict[str, Check] = {
    "order_age_hours": _order_age_hours,
    "order_status": _order_status,
    "shipped": _shipped,
    "refund_amount_fen": _refund_amount_fen,
    "order_amount_fen": _order_amount_fen,
    "aftersale_type": _aftersale_type,
    "aftersale_reason": _aftersale_reason,
    "sku": _sku,
    "product": _product,
    "store": _store,
    "buyer_tag": _buyer_tag,
    "keywords": _keywords,
    "time_of_day": _time_of_day,
    "weekday": _weekday,
    "in_service_hours": _in_service_hours,
    "buyer_aftersales_30d": _buyer_aftersales_30d,
}
"""Every predicate's check, by the name a rule file uses (the same set as ``model.PREDICATES``)."""
