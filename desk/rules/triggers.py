"""Recording rule triggers in the unit of work of the change that causes them.

A trigger row commits with the change or not at all, so the engine sees every after-sale that was
stored, even when the process that stored it dies the next moment. Changes a rule caused
(``origin`` ``rule:<id>``) record no trigger: a rule's own actions never fire rules (loop guard).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from desk.db import Work, utcnow
from desk.rules.model import TriggerEvent
from desk.rules.models import RuleTrigger, TriggerState

__all__ = ["aftersale_trigger", "order_triggers", "record_trigger"]

_UNPAID = frozenset({10, 12, 13})
"""Order statuses before payment (spec §2): unpaid, gift pending, group buy pending."""
_PAID = frozenset({20, 21, 30, 100})
_SHIPPED = frozenset({21, 30, 100})

_trigger = RuleTrigger.__table__


def caused_by_rule(origin: str) -> bool:
    return origin.startswith("rule:")


async def record_trigger(
    work: Work, *, store_id: int, event: TriggerEvent, payload: dict[str, Any], origin: str
) -> int | None:
    """Queue ``event`` for the rule engine in ``work``'s transaction; None when a rule caused it."""
    if caused_by_rule(origin):
        return None
    now = utcnow()
    result = await work.execute(
        sa.insert(_trigger)
        .values(
            store_id=store_id,
            event=event.value,
            payload=payload,
            origin=origin[:40],
            state=TriggerState.PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        .returning(_trigger.c.id)
    )
    return int(result.scalar_one())


def aftersale_trigger(previous_status: str | None, status: str) -> TriggerEvent | None:
    """Which trigger storing an after-sale fires: created when new, updated when its status moved."""
    if previous_status is None:
        return TriggerEvent.AFTERSALE_CREATED
    if previous_status != status:
        return TriggerEvent.AFTERSALE_UPDATED
    return None


def order_triggers(previous_status: int | None, status: int) -> list[TriggerEvent]:
    """Which triggers storing an order fires: paid when it moves into a paid status (or arrives
    already paid), shipped when it moves into a shipped one. An order first seen already shipped
    (a backfill, a reconciliation) fires neither: those moments passed before the desk knew it."""
    if previous_status is None:
        return [TriggerEvent.ORDER_PAID] if status == 20 else []
    fired = []
    if previous_status in _UNPAID and status in _PAID:
        fired.append(TriggerEvent.ORDER_PAID)
    if previous_status not in _SHIPPED and status in _SHIPPED:
        fired.append(TriggerEvent.ORDER_SHIPPED)
    return fired
