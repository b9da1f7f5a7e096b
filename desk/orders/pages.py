"""The order page (``/orders/{order_id}``): the order, its after-sales and the buttons that act.

Every button is a form (CSRF-protected like every form of the desk) calling the same services as
the API and the sidebar; the decision goes out as a command, and the page then follows it: while
one is under way the after-sales section re-polls itself, so the new status appears once the
platform answered. A refused action re-renders the page with the reason beside its after-sale.
"""

from __future__ import annotations

from typing import Annotated, Any, cast

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.auth import requires_role
from desk.accounts.models import Role, User
from desk.aftersales.actions import Decision, decide
from desk.aftersales.interception import confirm_interception, fail_interception, request_interception
from desk.aftersales.reject_reasons import SCENES, reject_reasons
from desk.aftersales.status import (
    AFTERSALE_STATUS_TONES,
    AfterSaleAction,
    aftersale_status_label,
    aftersale_type_label,
)
from desk.audit.service import Actor
from desk.errors import Invalid
from desk.orders.actions import answer_address_change, set_merchant_note
from desk.orders.detail import order_detail
from desk.orders.full_address import REVEAL_ROLE, FullAddress, reveal_full_address
from desk.orders.status import ORDER_STATUS_TONES, order_status_label
from desk.runtime import Runtime
from desk.stores.clients import PlatformClients
from desk.tone import Tone

__all__ = ["LABELS", "ROUTES", "OrderPageController"]

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
LABELS: dict[str, Any] = {
    "aftersale_status_label": aftersale_status_label,
    "aftersale_type_label": aftersale_type_label,
    "aftersale_tone": lambda status: AFTERSALE_STATUS_TONES.get(status, Tone.WAITING).value,
    "order_status_label": order_status_label,
    "order_tone": lambda status: ORDER_STATUS_TONES.get(status, Tone.WAITING).value,
}
"""How statuses read on the order page and the after-sales list (their owners' words)."""
NOTICES = frozenset({"queued", "repeated", "intercepting", "intercept_failed"})


class DecisionForm(msgspec.Struct, kw_only=True):
    """Any after-sale button's fields (each form sends the ones its decision needs)."""

    address_id: str = ""
    reject_reason_type: str = ""
    reject_reason: str = ""
    merchant_update_type: str = ""
    update_reason_type: str = ""
    merchant_update_desc: str = ""
    reason: str = ""


class AnswerForm(msgspec.Struct, kw_only=True):
    why: str = ""


class NoteForm(msgspec.Struct, kw_only=True):
    note: str = ""


def _number(value: str) -> int | None:
    """A form's number, or None when blank or not a number (the service then names what is missing)."""
    value = value.strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None


def _runtime(request: Request[Any, Any, Any]) -> Runtime:
    return cast(Runtime, request.app.state.runtime)


def _actor(user: User) -> Actor:
    return Actor.user(user.id, user.display_name or user.username)


def _decision(action: AfterSaleAction, form: DecisionForm) -> Decision:
    return Decision(
        action=action,
        address_id=form.address_id.strip(),
        reject_reason_type=_number(form.reject_reason_type),
        reject_reason=form.reject_reason.strip()[:200],
        merchant_update_type=_number(form.merchant_update_type),
        update_reason_type=_number(form.update_reason_type),
        merchant_update_desc=form.merchant_update_desc.strip()[:200],
    )


class OrderPageController(Controller):
    path = "/orders"
    include_in_schema = False
    guards = [requires_role(Role.AGENT)]  # noqa: RUF012 - Litestar reads this class attribute

    @get("/{order_id:str}", name="orders:detail")
    async def detail(
        self,
        request: HTMXRequest,
        db_session: NamedDependency[AsyncSession],
        order_id: FromPath[str],
        part: FromQuery[str] = "",
        notice: FromQuery[str] = "",
    ) -> Template:
        """The order; an htmx poll for ``part=aftersales`` gets just its after-sales section."""
        if request.htmx and part == "aftersales":
            return await _page(request, db_session, order_id, template="orders/_aftersales.html")
        return await _page(request, db_session, order_id, notice=notice)

    @post("/{order_id:str}/aftersales/{after_sale_order_id:str}/{action:str}", name="orders:decide")
    async def decide_aftersale(
        self,
        *,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        order_id: FromPath[str],
        after_sale_order_id: FromPath[str],
        action: FromPath[str],
        data: Annotated[DecisionForm, Form],
    ) -> Template | Redirect:
        """One decision (``approve``, ``confirm_receipt``, ``reject``, ``negotiate``) or ``intercept``."""
        runtime, user = _runtime(request), request.user
        if action == "intercept":
            intercepted = await request_interception(
                db_session,
                runtime.wakeup,
                actor=_actor(user),
                after_sale_order_id=after_sale_order_id,
                reason=data.reason.strip()[:255],
                user=user,
                now=runtime.clock.now(),
            )
            if isinstance(intercepted, Invalid):
                return await _refused(request, db_session, order_id, after_sale_order_id, intercepted)
            return _back(order_id, after_sale_order_id, "intercepting")
        try:
            chosen = AfterSaleAction(action)
        except ValueError:
            raise NotFoundException() from None
        result = await decide(
            db_session,
            runtime.wakeup,
            actor=_actor(user),
            after_sale_order_id=after_sale_order_id,
            decision=_decision(chosen, data),
            user=user,
            now=runtime.clock.now(),
        )
        if isinstance(result, Invalid):
            return await _refused(request, db_session, order_id, after_sale_order_id, result)
        return _back(order_id, after_sale_order_id, "queued" if result.created else "repeated")

    @post("/{order_id:str}/interceptions/{interception_id:int}/{outcome:str}", name="orders:interception")
    async def interception(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        order_id: FromPath[str],
        interception_id: FromPath[int],
        outcome: FromPath[str],
    ) -> Template | Redirect:
        """The courier answered: ``confirm`` (stopped: approve the refund) or ``fail``."""
        runtime, user = _runtime(request), request.user
        if outcome == "confirm":
            result: Any = await confirm_interception(
                db_session,
                runtime.wakeup,
                actor=_actor(user),
                interception_id=interception_id,
                user=user,
                now=runtime.clock.now(),
            )
            notice = "queued"
        else:
            result = await fail_interception(
                db_session,
                actor=_actor(user),
                interception_id=interception_id,
                user=user,
                now=runtime.clock.now(),
            )
            notice = "intercept_failed"
        if isinstance(result, Invalid):
            return await _refused(request, db_session, order_id, "", result)
        return _back(order_id, "", notice)

    @post("/{order_id:str}/address-change/{answer:str}", name="orders:address_change")
    async def address_change(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        order_id: FromPath[str],
        answer: FromPath[str],
        data: Annotated[AnswerForm, Form],
    ) -> Template | Redirect:
        """Accept (``accept``) or decline (``reject``) the buyer's new address."""
        runtime, user = _runtime(request), request.user
        result = await answer_address_change(
            db_session,
            runtime.wakeup,
            actor=_actor(user),
            order_id=order_id,
            accept=answer == "accept",
            user=user,
            why=data.why.strip()[:255],
            now=runtime.clock.now(),
        )
        if isinstance(result, Invalid):
            return await _refused(request, db_session, order_id, "order", result)
        return _back(order_id, "", "queued" if result.created else "repeated")

    @post(
        "/{order_id:str}/full-address",
        name="orders:full_address",
        guards=[requires_role(REVEAL_ROLE)],
        status_code=200,
    )
    async def full_address(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        order_id: FromPath[str],
    ) -> Template:
        """Show the receiver's full address and phone once (read from the platform; audited)."""
        runtime = _runtime(request)
        clients = PlatformClients(runtime)
        try:
            result = await reveal_full_address(
                db_session, clients, user=request.user, order_id=order_id, now=runtime.clock.now()
            )
        finally:
            await clients.aclose()
        if isinstance(result, Invalid):
            return await _refused(request, db_session, order_id, "address", result)
        return await _page(request, db_session, order_id, full_address=result)

    @post("/{order_id:str}/merchant-note", name="orders:merchant_note")
    async def merchant_note(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        order_id: FromPath[str],
        data: Annotated[NoteForm, Form],
    ) -> Template | Redirect:
        runtime, user = _runtime(request), request.user
        result = await set_merchant_note(
            db_session,
            runtime.wakeup,
            actor=_actor(user),
            order_id=order_id,
            note=data.note,
            user=user,
            now=runtime.clock.now(),
        )
        if isinstance(result, Invalid):
            return await _refused(request, db_session, order_id, "order", result, note=data.note)
        return _back(order_id, "", "queued" if result.created else "repeated")


def _back(order_id: str, after_sale_order_id: str, notice: str) -> Redirect:
    anchor = f"#aftersale-{after_sale_order_id}" if after_sale_order_id else ""
    return Redirect(f"/orders/{order_id}?notice={notice}{anchor}")


async def _refused(
    request: Request[User, Any, Any],
    session: AsyncSession,
    order_id: str,
    where: str,
    invalid: Invalid,
    *,
    note: str | None = None,
) -> Template:
    # A refused decision is in the audit trail; keep it although the answer is not a success.
    await session.commit()
    return await _page(
        request,
        session,
        order_id,
        errors={where: invalid},
        note=note,
        status_code=HTTP_422_UNPROCESSABLE_ENTITY,
    )


async def _page(
    request: Request[User, Any, Any],
    session: AsyncSession,
    order_id: str,
    *,
    template: str = "orders/detail.html",
    notice: str = "",
    errors: dict[str, Invalid] | None = None,
    note: str | None = None,
    full_address: FullAddress | None = None,
    status_code: int = 200,
) -> Template:
    user = request.user
    runtime = _runtime(request)
    detail = await order_detail(session, user, order_id)
    reasons = []
    if any(AfterSaleAction.REJECT in card.actions for card in detail.aftersales):
        reasons = await reject_reasons(runtime, detail.order.store_id)
    return Template(
        template,
        context={
            "detail": detail,
            "order": detail.order,
            "now": runtime.clock.now(),
            "reject_reasons": {
                kind: [r for r in reasons if r.reject_scene == scene] for kind, scene in SCENES.items()
            },
            "notice": notice if notice in NOTICES else "",
            "errors": {where: invalid.errors for where, invalid in (errors or {}).items()},
            "note": detail.order.merchant_notes if note is None else note,
            "full_address": full_address,
            "may_reveal": user.role.at_least(REVEAL_ROLE),
            "item_titles": {line.sku_id: line.title for line in detail.order.lines},
            **LABELS,
        },
        status_code=status_code,
    )


ROUTES = [OrderPageController]
