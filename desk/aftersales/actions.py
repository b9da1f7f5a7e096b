"""Deciding after-sales: the service behind every approve / reject / negotiate button, rule and API call.

:func:`decide` checks the decision against what the desk knows (the status allows it; a return
has a return address — the one bound to its SKU unless one is chosen), stores it as an outbound
command (:mod:`desk.aftersales.commands`) and opens its audit entry, in the caller's transaction.
The platform is called by the worker, which re-reads the after-sale first.

The command's idempotency key names the after-sale, the decision and the status it was taken
in, so a double click, two agents deciding at once, or a rule and an agent on the same request
make one command: the later ones are told who already handled it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypedDict

import msgspec
import sqlalchemy as sa

from desk.accounts.models import User
from desk.accounts.scoping import store_ids_for
from desk.aftersales.addresses import return_address_for
from desk.aftersales.commands import Approve, DecisionPayload, Negotiate, Reject
from desk.aftersales.models import AfterSale
from desk.aftersales.status import ACTIONS_BY_STATUS, AfterSaleAction
from desk.audit.service import Actor, open_entry, refused
from desk.commands.models import OutboundCommand
from desk.commands.service import enqueue, retry_suffix
from desk.db import Work
from desk.errors import Invalid
from desk.i18n import Message as Text
from desk.platform.channels_types import AcceptType
from desk.wakeup import Wakeup

__all__ = ["Decision", "DecisionResult", "decide"]

_aftersale = AfterSale.__table__
_command = OutboundCommand.__table__


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """A decision as a person, a rule or an integration asks for it."""

    action: AfterSaleAction
    address_id: str = ""
    """A return's address; empty: the one bound to the SKU (一货一址)."""
    reject_reason_type: int | None = None
    reject_reason: str = ""
    merchant_update_type: int | None = None
    """Negotiation: 1 invite the buyer to cancel, 2 ask for evidence, 3 change the request."""
    update_reason_type: int | None = None
    merchant_update_desc: str = ""
    negotiate_type: int | None = None
    """For ``merchant_update_type`` 3: 1 refund only, 2 return and refund."""
    amount: int | None = None
    why: str = ""
    """The actor's reason, for the audit trail."""
    key: str = ""
    """The caller's idempotency key; empty: the after-sale, the decision and the status."""


class DecisionResult(msgspec.Struct, frozen=True, kw_only=True):
    command_id: int
    created: bool
    """False: the same decision was already asked (see ``handled_by``); nothing new was sent."""
    handled_by: str = ""
    address_id: str = ""
    audit_id: int | None = None


async def _load(work: Work, user: User | None, store_id: int | None, after_sale_order_id: str) -> Any:
    stmt = sa.select(
        _aftersale.c.id,
        _aftersale.c.store_id,
        _aftersale.c.after_sale_order_id,
        _aftersale.c.status,
        _aftersale.c.type,
        _aftersale.c.sku_id,
        _aftersale.c.product_id,
    ).where(_aftersale.c.after_sale_order_id == after_sale_order_id)
    if store_id is not None:
        stmt = stmt.where(_aftersale.c.store_id == store_id)
    if user is not None and (allowed := store_ids_for(user)) is not None:
        stmt = stmt.where(_aftersale.c.store_id.in_(allowed))
    return (await work.execute(stmt)).first()


async def _handled_by(work: Work, store_id: int, after_sale_order_id: str) -> str:
    """Who last decided this after-sale through the desk (for "already handled by …")."""
    row = (
        await work.execute(
            sa.select(User.display_name, User.username, _command.c.origin)
            .select_from(_command)
            .outerjoin(User, User.id == _command.c.created_by_id)
            .where(_command.c.store_id == store_id, _command.c.subject == f"aftersale:{after_sale_order_id}")
            .order_by(_command.c.id.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return ""
    return str(row.display_name or row.username or row.origin)


class _Base(TypedDict):
    after_sale_order_id: str
    expect_status: str


def _base(row: sa.Row[Any]) -> _Base:
    """What every decision names: the after-sale, and the status it was taken in."""
    return {"after_sale_order_id": row.after_sale_order_id, "expect_status": row.status}


def _approve(row: sa.Row[Any], decision: Decision, address_id: str | None) -> DecisionPayload:
    if row.type == "REFUND":
        return DecisionPayload(**_base(row), accept_type=int(AcceptType.REFUND))
    return DecisionPayload(**_base(row), accept_type=int(AcceptType.AGREE_RETURN), address_id=address_id)


def _confirm_receipt(row: sa.Row[Any], decision: Decision, address_id: str | None) -> DecisionPayload:
    return DecisionPayload(**_base(row), accept_type=int(AcceptType.REFUND))


def _reject(row: sa.Row[Any], decision: Decision, address_id: str | None) -> DecisionPayload | Text:
    if decision.reject_reason_type is None:
        return Text("aftersales.error.reason_required")
    return DecisionPayload(
        **_base(row),
        reject_reason_type=decision.reject_reason_type,
        reject_reason=decision.reject_reason or None,
    )


def _negotiate(row: sa.Row[Any], decision: Decision, address_id: str | None) -> DecisionPayload | Text:
    if decision.merchant_update_type is None or decision.update_reason_type is None:
        return Text("aftersales.error.negotiation_incomplete")
    return DecisionPayload(
        **_base(row),
        merchant_update_type=decision.merchant_update_type,
        update_reason_type=decision.update_reason_type,
        merchant_update_desc=decision.merchant_update_desc,
        negotiate_type=decision.negotiate_type,
        amount=decision.amount,
    )


_PAYLOADS = {
    AfterSaleAction.APPROVE: _approve,
    AfterSaleAction.CONFIRM_RECEIPT: _confirm_receipt,
    AfterSaleAction.REJECT: _reject,
    AfterSaleAction.NEGOTIATE: _negotiate,
}
"""What each decision sends: the platform call's arguments, or what is missing for it."""

_KIND = {
    AfterSaleAction.APPROVE: Approve.name,
    AfterSaleAction.CONFIRM_RECEIPT: Approve.name,
    AfterSaleAction.REJECT: Reject.name,
    AfterSaleAction.NEGOTIATE: Negotiate.name,
}


async def decide(
    work: Work,
    wakeup: Wakeup | None,
    *,
    actor: Actor,
    after_sale_order_id: str,
    decision: Decision,
    user: User | None = None,
    store_id: int | None = None,
    now: dt.datetime | None = None,
) -> DecisionResult | Invalid:
    """Take ``decision`` on the after-sale, as ``actor`` (``user`` limits it to their stores).

    Refused (recorded in the audit trail, nothing sent) when the after-sale is unknown, when its
    status allows no such decision (someone handled it already: they are named), when a return
    has no return address, or when a reject or negotiation lacks its reason.
    """
    row = await _load(work, user, store_id, after_sale_order_id)
    if row is None:
        return Invalid({"aftersale": Text("aftersales.error.not_found")})
    subject = f"aftersale:{after_sale_order_id}"
    action = f"aftersale.{decision.action.value}"
    if decision.action not in ACTIONS_BY_STATUS.get(row.status, frozenset()):
        by = await _handled_by(work, row.store_id, after_sale_order_id)
        problem = (
            Text("aftersales.error.already_handled", {"name": by, "status": row.status})
            if by
            else Text("aftersales.error.wrong_status", {"status": row.status})
        )
        await refused(
            work, store_id=row.store_id, actor=actor, action=action, subject=subject, why=problem.key
        )
        return Invalid({"action": problem})
    address_id: str | None = None
    if decision.action is AfterSaleAction.APPROVE and row.type != "REFUND":
        if decision.address_id:
            address_id = decision.address_id
        else:
            chosen = await return_address_for(
                work, row.store_id, sku_id=row.sku_id, product_id=row.product_id
            )
            if chosen is None:
                return Invalid({"address_id": Text("aftersales.error.no_return_address")})
            address_id = chosen.address_id
    payload = _PAYLOADS[decision.action](row, decision, address_id)
    if isinstance(payload, Text):
        return Invalid({"action": payload})
    key = decision.key or (
        f"{decision.action.value}:{after_sale_order_id}:{row.status}"
        + await retry_suffix(work, row.store_id, subject)
    )
    ref = await enqueue(
        work,
        wakeup,
        store_id=row.store_id,
        kind=_KIND[decision.action],
        key=f"aftersale:{key}"[:80],
        payload=msgspec.to_builtins(payload),
        subject=subject,
        origin=actor.key,
        created_by_id=actor.user_id,
    )
    if not ref.created:
        return DecisionResult(
            command_id=ref.id,
            created=False,
            handled_by=await _handled_by(work, row.store_id, after_sale_order_id),
            address_id=address_id or "",
        )
    audit_id = await open_entry(
        work,
        store_id=row.store_id,
        actor=actor,
        action=action,
        subject=subject,
        reason=decision.why,
        details={"status": row.status, "type": row.type, "address_id": address_id},
        command_id=ref.id,
        now=now,
    )
    return DecisionResult(command_id=ref.id, created=True, address_id=address_id or "", audit_id=audit_id)
