"""After-sale figures: requests, completion times with negotiation paused, automatic completion.

* An after-sale **counts** (after-sale rate = after-sales / paid orders) on the local day it was
  requested (the platform's ``create_time``).
* Its **completion time** runs from the request to the refund (status ``MERCHANT_REFUND_SUCCESS``
  or ``MERCHANT_RETURN_SUCCESS``, at the platform's ``update_time``), minus the time spent in a
  merchant negotiation (协商: the buyer is asked to confirm a changed proposal — spec §9: that
  time is paused). Refund-only (``REFUND``) and return-refund (``RETURN``) are reported apart;
  exchanges have no refund and no completion time.
* It was **completed automatically** when the desk's rules took its decisions and no person did
  (a save caused by a ``rule:`` command and none by a ``user:`` one). Otherwise, when a desk user
  acted on it, it counts as **handled** by the last of them (the agent table's after-sales).

:func:`note_aftersale` is called by the after-sale owner each time it stores a new state; the
running clock of each request lives in ``metric_aftersale_clock``.
"""

from __future__ import annotations

import datetime as dt

import msgspec
import sqlalchemy as sa

from desk.db import Work
from desk.metrics.facts import FactKind, make_fact
from desk.metrics.models import AfterSaleClock
from desk.metrics.record import write_fact
from desk.metrics.window import calendar_of

__all__ = ["NEGOTIATING", "REFUNDED", "ClockState", "advance", "note_aftersale"]

_clock = AfterSaleClock.__table__

NEGOTIATING = frozenset(
    {"USER_WAIT_CONFIRM", "USER_WAIT_CONFIRM_UPDATE", "USER_WAIT_HANDLE_MERCHANT_AFTER_SALE"}
)
"""The buyer weighs the merchant's negotiated proposal: the completion clock stops."""
REFUNDED = frozenset({"MERCHANT_REFUND_SUCCESS", "MERCHANT_RETURN_SUCCESS"})
COMPLETION_TYPES = frozenset({"REFUND", "RETURN"})


class ClockState(msgspec.Struct, frozen=True):
    """Where one request's completion clock stands."""

    requested_at: dt.datetime
    paused_since: dt.datetime | None = None
    paused_s: int = 0
    rule_acted: bool = False
    human_acted: bool = False
    handled_by: int | None = None
    completed: bool = False


def advance(state: ClockState, *, status: str, at: dt.datetime, origin: str) -> tuple[ClockState, int | None]:
    """The clock after the request reached ``status`` at ``at`` (a save caused by ``origin``);
    with the completion time in seconds when this is the refund."""
    paused_since, paused_s = state.paused_since, state.paused_s
    if status in NEGOTIATING and paused_since is None:
        paused_since = at
    elif status not in NEGOTIATING and paused_since is not None:
        paused_s += max(0, int((at - paused_since).total_seconds()))
        paused_since = None
    new = msgspec.structs.replace(
        state,
        paused_since=paused_since,
        paused_s=paused_s,
        rule_acted=state.rule_acted or origin.startswith("rule:"),
        human_acted=state.human_acted or origin.startswith("user:"),
        handled_by=_user_of(origin) or state.handled_by,
    )
    if status in REFUNDED and not state.completed:
        completion = max(0, int((at - state.requested_at).total_seconds()) - paused_s)
        return msgspec.structs.replace(new, completed=True), completion
    return new, None


def _user_of(origin: str) -> int | None:
    kind, _, ident = origin.partition(":")
    return int(ident) if kind == "user" and ident.isdigit() else None


def completed_automatically(state: ClockState) -> bool:
    """Rules decided it and nobody at the desk did."""
    return state.rule_acted and not state.human_acted


_load = sa.select(_clock).where(_clock.c.aftersale_pk == sa.bindparam("pk"))


async def note_aftersale(
    work: Work,
    *,
    store_id: int,
    aftersale_pk: int,
    kind: str,
    status: str,
    requested_at: dt.datetime,
    updated_at: dt.datetime,
    origin: str,
) -> None:
    """Record a newly stored state of an after-sale request (see the module docstring)."""
    calendar = await calendar_of(work, store_id)
    row = (await work.execute(_load, {"pk": aftersale_pk})).one_or_none()
    if row is None:
        state = ClockState(requested_at=requested_at)
        requested = make_fact(
            calendar,
            key=f"requested:{aftersale_pk}",
            store_id=store_id,
            kind=FactKind.AFTERSALE_REQUESTED,
            at=requested_at,
            detail=kind[:16],
        )
        await write_fact(work, requested)
    else:
        state = ClockState(
            requested_at=row.requested_at,
            paused_since=row.paused_since,
            paused_s=row.paused_s,
            rule_acted=row.rule_acted,
            human_acted=row.human_acted,
            handled_by=row.handled_by,
            completed=row.completed,
        )
    state, completion = advance(state, status=status, at=updated_at, origin=origin)
    values = {"store_id": store_id, **msgspec.structs.asdict(state)}
    if row is None:
        await work.execute(sa.insert(_clock).values(aftersale_pk=aftersale_pk, **values))
    else:
        await work.execute(sa.update(_clock).where(_clock.c.aftersale_pk == aftersale_pk).values(**values))
    if completion is not None and kind in COMPLETION_TYPES:
        completed = make_fact(
            calendar,
            key=f"completed:{aftersale_pk}",
            store_id=store_id,
            kind=FactKind.AFTERSALE_COMPLETED,
            at=updated_at,
            seconds=completion,
            agent_id=state.handled_by if state.human_acted else None,
            automatic=completed_automatically(state),
            detail=kind,
        )
        await write_fact(work, completed)
