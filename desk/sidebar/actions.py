"""The sidebar's buttons: each form, as posted, handed to the service that owns the action.

Every action here is one call of an existing service (after-sale decisions, interception, order
answers, the order card); this module only turns the posted form into that call and its result
into what the agent reads: "sent to the platform", "already handled by …", or why not.
"""

from __future__ import annotations

import datetime as dt

import msgspec

from desk.accounts.models import User
from desk.aftersales.actions import Decision, DecisionResult, decide
from desk.aftersales.interception import confirm_interception, fail_interception, request_interception
from desk.aftersales.status import AfterSaleAction
from desk.audit.service import Actor
from desk.db import Work
from desk.errors import Invalid
from desk.i18n import Message as Text
from desk.inbox.replies import send_order_card
from desk.orders.actions import answer_address_change, set_merchant_note
from desk.wakeup import Wakeup

__all__ = [
    "NEGOTIATE_FIRST",
    "CardForm",
    "DecideForm",
    "Done",
    "InterceptForm",
    "NoteForm",
    "answer_change",
    "card",
    "decide_from_form",
    "intercept",
    "intercepted",
    "note",
]

NEGOTIATE_FIRST = 10021068
"""The platform's "negotiate with the buyer before rejecting": the sidebar offers 协商 instead."""


class DecideForm(msgspec.Struct, kw_only=True):
    address_id: str = ""
    reject_reason_type: str = ""
    reject_reason: str = ""
    merchant_update_type: str = ""
    update_reason_type: str = ""
    merchant_update_desc: str = ""


class NoteForm(msgspec.Struct, kw_only=True):
    note: str = ""


class InterceptForm(msgspec.Struct, kw_only=True):
    reason: str = ""


class CardForm(msgspec.Struct, kw_only=True):
    request_id: str = ""


class Done(msgspec.Struct, frozen=True, kw_only=True):
    """What the agent is told after a click that was accepted (refusals are :class:`Invalid`)."""

    notice: Text


def _actor(user: User) -> Actor:
    return Actor.user(user.id, user.display_name or user.username)


def _small_int(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 6 else None


def _decision(action: AfterSaleAction, form: DecideForm) -> Decision | Invalid:
    if action is AfterSaleAction.REJECT:
        reason_type = _small_int(form.reject_reason_type)
        if reason_type is None:
            return Invalid({"reject_reason_type": Text("aftersales.error.reason_required")})
        return Decision(
            action=action, reject_reason_type=reason_type, reject_reason=form.reject_reason.strip()[:200]
        )
    if action is AfterSaleAction.NEGOTIATE:
        kind, why = _small_int(form.merchant_update_type), _small_int(form.update_reason_type)
        if kind not in (1, 2, 3) or why is None or not form.merchant_update_desc.strip():
            return Invalid({"merchant_update_type": Text("sidebar.error.negotiation_incomplete")})
        return Decision(
            action=action,
            merchant_update_type=kind,
            update_reason_type=why,
            merchant_update_desc=form.merchant_update_desc.strip()[:200],
        )
    return Decision(action=action, address_id=form.address_id.strip()[:32])


async def decide_from_form(
    work: Work,
    wakeup: Wakeup | None,
    *,
    user: User,
    after_sale_order_id: str,
    action: AfterSaleAction,
    form: DecideForm,
    now: dt.datetime,
) -> Done | Invalid:
    """Approve, confirm receipt, reject or negotiate, as the sidebar's forms ask.

    A second click (or a colleague's) on the same decision makes no second command: the agent
    is told who handled it (:func:`desk.aftersales.actions.decide`).
    """
    decision = _decision(action, form)
    if isinstance(decision, Invalid):
        return decision
    result = await decide(
        work,
        wakeup,
        actor=_actor(user),
        after_sale_order_id=after_sale_order_id,
        decision=decision,
        user=user,
        now=now,
    )
    return _told(result)


def _told(result: DecisionResult | Invalid) -> Done | Invalid:
    if isinstance(result, Invalid):
        return result
    if not result.created:
        return Invalid({"action": Text("sidebar.notice.already_handled", {"name": result.handled_by or "?"})})
    return Done(notice=Text("sidebar.notice.queued"))


async def intercept(
    work: Work,
    wakeup: Wakeup | None,
    *,
    user: User,
    after_sale_order_id: str,
    form: InterceptForm,
    now: dt.datetime,
) -> Done | Invalid:
    """Ask the courier to stop the parcel of a refund-only request on a shipped order (拦截)."""
    result = await request_interception(
        work,
        wakeup,
        actor=_actor(user),
        after_sale_order_id=after_sale_order_id,
        reason=form.reason.strip()[:200],
        user=user,
        now=now,
    )
    if isinstance(result, Invalid):
        return result
    return Done(notice=Text("sidebar.notice.intercept_requested"))


async def intercepted(
    work: Work, wakeup: Wakeup | None, *, user: User, interception_id: int, stopped: bool, now: dt.datetime
) -> Done | Invalid:
    """The courier answered: the parcel stopped (the refund is approved) or it could not be."""
    if stopped:
        return _told(
            await confirm_interception(
                work, wakeup, actor=_actor(user), interception_id=interception_id, user=user, now=now
            )
        )
    failed = await fail_interception(
        work, actor=_actor(user), interception_id=interception_id, user=user, now=now
    )
    return failed if isinstance(failed, Invalid) else Done(notice=Text("sidebar.notice.intercept_failed"))


async def answer_change(
    work: Work, wakeup: Wakeup | None, *, user: User, order_id: str, accept: bool, now: dt.datetime
) -> Done | Invalid:
    """Accept or reject the buyer's pending address change; a second click answers nothing new."""
    result = await answer_address_change(
        work, wakeup, actor=_actor(user), order_id=order_id, accept=accept, user=user, now=now
    )
    if isinstance(result, Invalid):
        return result
    if not result.created:
        return Invalid({"action": Text("sidebar.notice.already_answered")})
    return Done(notice=Text("sidebar.notice.queued"))


async def note(
    work: Work, wakeup: Wakeup | None, *, user: User, order_id: str, form: NoteForm, now: dt.datetime
) -> Done | Invalid:
    """Write the merchant note of the order (the store backend shows it; the buyer never does)."""
    result = await set_merchant_note(
        work, wakeup, actor=_actor(user), order_id=order_id, note=form.note, user=user, now=now
    )
    if isinstance(result, Invalid):
        return result
    return Done(notice=Text("sidebar.notice.note_saved"))


async def card(
    work: Work,
    wakeup: Wakeup | None,
    *,
    user: User,
    conversation_id: int,
    order_id: str,
    form: CardForm,
    now: dt.datetime,
) -> Done | Invalid:
    """Send the order into the chat as a card (the buyer taps it to open the order)."""
    result = await send_order_card(
        work,
        wakeup,
        user=user,
        conversation_id=conversation_id,
        order_id=order_id,
        caption=f"[订单] {order_id}",
        request_id=form.request_id,
        now=now,
    )
    if isinstance(result, Invalid):
        return result
    return Done(notice=Text("sidebar.notice.card_sent"))
