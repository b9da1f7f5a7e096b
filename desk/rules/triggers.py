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

__all__ = ["aftersale_trigger", "record_trigger"]

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
