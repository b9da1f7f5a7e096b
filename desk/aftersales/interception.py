"""订单拦截: stopping a shipped parcel whose buyer asked for a refund, then refunding.

The platform has no call for it — the courier stops parcels. So an interception is recorded on
the desk's 拦截 list and asked of the courier through a hook (an outbound command, like every
call that changes something outside the desk):

* with ``DESK_INTERCEPT_WEBHOOK_URL`` set, a JSON POST to that URL (the merchant's courier
  integration), whose answer may carry the courier's reference;
* without, nothing is sent: the interception is only recorded, for the agent to arrange with the
  courier by phone.

When the courier confirms the parcel stopped, an agent (or the integration, through the API)
confirms the interception and the refund is approved; if it could not be stopped, the agent
marks it failed and negotiates with the buyer instead.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from desk.accounts.models import User
from desk.accounts.scoping import store_ids_for
from desk.aftersales.actions import Decision, DecisionResult, decide
from desk.aftersales.models import AfterSale, Interception, InterceptionState
from desk.aftersales.status import AfterSaleAction
from desk.audit.models import Outcome as AuditOutcome
from desk.audit.service import Actor, close_for_command, open_entry
from desk.commands.kinds import ClaimedCommand, CommandContext, CommandFailedError, Outcome
from desk.commands.models import CommandState
from desk.commands.service import enqueue
from desk.db import Work, utcnow
from desk.errors import Invalid
from desk.i18n import Message as Text
from desk.orders.models import Order
from desk.orders.status import SHIPPED_STATUSES
from desk.wakeup import Wakeup

__all__ = [
    "KINDS",
    "RequestInterception",
    "confirm_interception",
    "fail_interception",
    "request_interception",
]

_interception = Interception.__table__
_aftersale = AfterSale.__table__
_order = Order.__table__


class _HookRequest(msgspec.Struct, frozen=True):
    interception_id: int
    order_id: str
    after_sale_order_id: str
    waybill_id: str
    delivery_id: str
    reason: str


class RequestInterception:
    """The courier hook, as a command (see the module docstring)."""

    name = "order.intercept"

    async def run(self, ctx: CommandContext, command: ClaimedCommand) -> dict[str, Any]:
        url: str = ctx.settings.intercept_webhook_url
        if not url:
            return {"reference": "", "recorded_only": True}
        request = msgspec.convert(command.payload, _HookRequest)
        response = await ctx.clients.http.post(
            url, content=msgspec.json.encode(request), headers={"content-type": "application/json"}
        )
        if response.status_code >= 500:
            raise httpx.HTTPStatusError(
                "the courier hook is unavailable", request=response.request, response=response
            )
        if response.status_code >= 400:
            raise CommandFailedError(
                f"the courier hook refused: {response.status_code} {response.text[:200]}"
            )
        answer = response.json() if response.content else {}
        return {"reference": str(answer.get("reference", ""))[:64] if isinstance(answer, dict) else ""}

    async def settle(self, conn: AsyncConnection, command: ClaimedCommand, outcome: Outcome) -> None:
        succeeded = outcome.state is CommandState.SUCCEEDED
        interception_id = int(command.payload["interception_id"])
        if succeeded:
            await conn.execute(
                sa.update(_interception)
                .where(_interception.c.id == interception_id)
                .values(courier_reference=str(outcome.result.get("reference", "")), updated_at=utcnow())
            )
        await close_for_command(
            conn, command.id, succeeded=succeeded, error_code=outcome.error_code, error=outcome.error
        )


KINDS = {RequestInterception.name: RequestInterception()}


async def request_interception(
    work: Work,
    wakeup: Wakeup | None,
    *,
    actor: Actor,
    after_sale_order_id: str,
    reason: str = "",
    user: User | None = None,
    key: str = "",
    now: dt.datetime | None = None,
) -> int | Invalid:
    """Ask to stop the parcel of a refund-only request on a shipped order; the interception's id.

    ``key`` (an API caller's) names the courier command; by default the interception does.

    Refused for a request that is not refund-only, not awaiting the merchant, or whose order has
    not shipped (then approving the refund is enough) or has no waybill.
    """
    stmt = (
        sa.select(
            _aftersale.c.store_id,
            _aftersale.c.order_id,
            _aftersale.c.type,
            _aftersale.c.status,
            _order.c.status.label("order_status"),
            _order.c.deliveries,
        )
        .join(
            _order,
            sa.and_(_order.c.store_id == _aftersale.c.store_id, _order.c.order_id == _aftersale.c.order_id),
        )
        .where(_aftersale.c.after_sale_order_id == after_sale_order_id)
    )
    if user is not None and (allowed := store_ids_for(user)) is not None:
        stmt = stmt.where(_aftersale.c.store_id.in_(allowed))
    row = (await work.execute(stmt)).first()
    if row is None:
        return Invalid({"aftersale": Text("aftersales.error.not_found")})
    if row.type != "REFUND" or row.status != "MERCHANT_PROCESSING":
        return Invalid({"aftersale": Text("aftersales.error.not_interceptable", {"status": row.status})})
    if row.order_status not in SHIPPED_STATUSES:
        return Invalid({"aftersale": Text("aftersales.error.not_shipped")})
    existing = (
        await work.execute(
            sa.select(_interception.c.id).where(
                _interception.c.store_id == row.store_id,
                _interception.c.after_sale_order_id == after_sale_order_id,
                _interception.c.state == InterceptionState.REQUESTED,
            )
        )
    ).scalar_one_or_none()
    if existing is not None:
        return int(existing)  # asked already: one interception per request
    delivery = (row.deliveries or [{}])[-1]
    now = now or utcnow()
    interception_id = int(
        (
            await work.execute(
                sa.insert(_interception)
                .values(
                    store_id=row.store_id,
                    order_id=row.order_id,
                    after_sale_order_id=after_sale_order_id,
                    waybill_id=str(delivery.get("waybill_id", "")),
                    delivery_id=str(delivery.get("delivery_id", "")),
                    state=InterceptionState.REQUESTED,
                    reason=reason[:255],
                    courier_reference="",
                    requested_by_id=actor.user_id,
                    created_at=now,
                    updated_at=now,
                )
                .returning(_interception.c.id)
            )
        ).scalar_one()
    )
    request = _HookRequest(
        interception_id=interception_id,
        order_id=row.order_id,
        after_sale_order_id=after_sale_order_id,
        waybill_id=str(delivery.get("waybill_id", "")),
        delivery_id=str(delivery.get("delivery_id", "")),
        reason=reason,
    )
    ref = await enqueue(
        work,
        wakeup,
        store_id=row.store_id,
        kind=RequestInterception.name,
        key=f"intercept:{key or interception_id}"[:80],
        payload=msgspec.to_builtins(request),
        subject=f"order:{row.order_id}",
        origin=actor.key,
        created_by_id=actor.user_id,
    )
    await open_entry(
        work,
        store_id=row.store_id,
        actor=actor,
        action="order.intercept",
        subject=f"aftersale:{after_sale_order_id}",
        reason=reason,
        details={"order_id": row.order_id, "waybill_id": request.waybill_id},
        command_id=ref.id,
        now=now,
    )
    return interception_id


async def _interception_for(work: Work, user: User | None, interception_id: int) -> Any:
    stmt = sa.select(_interception).where(_interception.c.id == interception_id)
    if user is not None and (allowed := store_ids_for(user)) is not None:
        stmt = stmt.where(_interception.c.store_id.in_(allowed))
    return (await work.execute(stmt)).first()


async def confirm_interception(
    work: Work,
    wakeup: Wakeup | None,
    *,
    actor: Actor,
    interception_id: int,
    user: User | None = None,
    now: dt.datetime | None = None,
) -> DecisionResult | Invalid:
    """The courier stopped the parcel: mark it so and approve the refund."""
    row = await _interception_for(work, user, interception_id)
    if row is None:
        return Invalid({"interception": Text("aftersales.error.not_found")})
    if row.state != InterceptionState.REQUESTED:
        return Invalid({"interception": Text("aftersales.error.interception_closed", {"state": row.state})})
    await work.execute(
        sa.update(_interception)
        .where(_interception.c.id == interception_id)
        .values(state=InterceptionState.CONFIRMED, resolved_at=now or utcnow(), updated_at=now or utcnow())
    )
    return await decide(
        work,
        wakeup,
        actor=actor,
        after_sale_order_id=row.after_sale_order_id,
        decision=Decision(action=AfterSaleAction.APPROVE, why="拦截成功 / parcel intercepted"),
        store_id=row.store_id,
        now=now,
    )


async def fail_interception(
    work: Work,
    *,
    actor: Actor,
    interception_id: int,
    user: User | None = None,
    now: dt.datetime | None = None,
) -> Invalid | None:
    """The parcel could not be stopped; the agent negotiates with the buyer instead."""
    row = await _interception_for(work, user, interception_id)
    if row is None:
        return Invalid({"interception": Text("aftersales.error.not_found")})
    if row.state != InterceptionState.REQUESTED:
        return Invalid({"interception": Text("aftersales.error.interception_closed", {"state": row.state})})
    await work.execute(
        sa.update(_interception)
        .where(_interception.c.id == interception_id)
        .values(state=InterceptionState.FAILED, resolved_at=now or utcnow(), updated_at=now or utcnow())
    )
    await open_entry(
        work,
        store_id=row.store_id,
        actor=actor,
        action="order.intercept.failed",
        subject=f"aftersale:{row.after_sale_order_id}",
        outcome=AuditOutcome.FAILED,
        now=now,
    )
    return None
