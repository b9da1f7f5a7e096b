"""The sidebar's routes, under the conversation they sit beside: ``/inbox/c/<id>/sidebar``.

Every route first checks that the agent may see the conversation (404 otherwise); each action
then calls one service, limited to the agent's stores, and answers with the sidebar redrawn and
what happened (422 with the reason when refused: htmx swaps it in like a success).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, cast

from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.auth import requires_role
from desk.accounts.models import Role, User
from desk.aftersales.status import AfterSaleAction
from desk.errors import Invalid
from desk.inbox.access import conversation_for
from desk.runtime import Runtime
from desk.sidebar import actions
from desk.sidebar.aftersale_cards import aftersale_brief
from desk.sidebar.find import find_orders
from desk.sidebar.platform_reads import reject_reasons, reveal_phone
from desk.sidebar.view import read_sidebar

__all__ = ["ROUTES", "SidebarController"]

Form = Body(media_type=RequestEncodingType.URL_ENCODED)

_DECISIONS = {
    "approve": AfterSaleAction.APPROVE,
    "confirm-receipt": AfterSaleAction.CONFIRM_RECEIPT,
    "reject": AfterSaleAction.REJECT,
    "negotiate": AfterSaleAction.NEGOTIATE,
}


def _platform_id(value: str) -> str:
    """An order or after-sale id from the path: the platform's digits, else 404."""
    if not (value.isascii() and value.isdigit() and len(value) <= 32):
        raise NotFoundException()
    return value


def _runtime(state: State) -> Runtime:
    return cast(Runtime, state.runtime)


class SidebarController(Controller):
    path = "/inbox/c/{conversation_id:int}/sidebar"
    guards = [requires_role(Role.AGENT)]  # noqa: RUF012 - Litestar reads this class attribute
    include_in_schema = False

    async def _render(
        self,
        state: State,
        session: AsyncSession,
        user: User,
        conversation_id: int,
        outcome: actions.Done | Invalid | None = None,
    ) -> Template:
        view = await read_sidebar(session, user, conversation_id)
        context: dict[str, Any] = {
            "sidebar": view,
            "now": _runtime(state).clock.now(),
            # One id per drawing: a double click on "send order card" sends one card.
            "card_request_id": uuid.uuid4().hex[:12],
        }
        if isinstance(outcome, Invalid):
            context["errors"] = outcome.errors
            return Template("sidebar/_sidebar.html", context=context, status_code=422)
        if outcome is not None:
            context["notice"] = outcome.notice
        return Template("sidebar/_sidebar.html", context=context)

    @get("/", name="sidebar:show")
    async def show(
        self,
        *,
        request: HTMXRequest,
        state: State,
        db_session: NamedDependency[AsyncSession],
        conversation_id: FromPath[int],
    ) -> Template:
        """The sidebar (loaded beside the thread, refreshed on the buyer's change signals)."""
        return await self._render(state, db_session, request.user, conversation_id)

    @get("/find", name="sidebar:find")
    async def find(
        self,
        *,
        request: HTMXRequest,
        db_session: NamedDependency[AsyncSession],
        conversation_id: FromPath[int],
        q: FromQuery[str] = "",
    ) -> Template:
        """Orders by id or phone last 4 in the agent's stores (200 either way: htmx shows it)."""
        await conversation_for(db_session, request.user, conversation_id)
        found = await find_orders(db_session, request.user, q)
        context: dict[str, Any] = {"conversation_id": conversation_id, "q": q}
        if isinstance(found, Invalid):
            context["errors"] = found.errors
        else:
            context["found"] = found
        return Template("sidebar/_found.html", context=context)

    @get("/aftersales/{after_sale_order_id:str}/reject-form", name="sidebar:reject-form")
    async def reject_form(
        self,
        *,
        request: HTMXRequest,
        state: State,
        db_session: NamedDependency[AsyncSession],
        conversation_id: FromPath[int],
        after_sale_order_id: FromPath[str],
    ) -> Template:
        """The reject form with the platform's reasons for this type of after-sale."""
        await conversation_for(db_session, request.user, conversation_id)
        brief = await aftersale_brief(db_session, request.user, _platform_id(after_sale_order_id))
        reasons = await reject_reasons(_runtime(state), brief.store_id, brief.type)
        return Template(
            "sidebar/_reject_form.html",
            context={"conversation_id": conversation_id, "a": brief, "reasons": reasons},
        )

    @post("/aftersales/{after_sale_order_id:str}/{decision:str}", name="sidebar:decide", status_code=200)
    async def decide(
        self,
        *,
        request: HTMXRequest,
        state: State,
        db_session: NamedDependency[AsyncSession],
        conversation_id: FromPath[int],
        after_sale_order_id: FromPath[str],
        decision: FromPath[str],
        data: Annotated[actions.DecideForm, Form],
    ) -> Template:
        """Approve, confirm receipt and refund, reject, negotiate — or intercept the parcel."""
        after_sale_order_id = _platform_id(after_sale_order_id)
        await conversation_for(db_session, request.user, conversation_id)
        runtime = _runtime(state)
        now = runtime.clock.now()
        if decision == "intercept":
            outcome = await actions.intercept(
                db_session,
                runtime.wakeup,
                user=request.user,
                after_sale_order_id=after_sale_order_id,
                form=actions.InterceptForm(reason=data.merchant_update_desc),
                now=now,
            )
        elif decision in _DECISIONS:
            outcome = await actions.decide_from_form(
                db_session,
                runtime.wakeup,
                user=request.user,
                after_sale_order_id=after_sale_order_id,
                action=_DECISIONS[decision],
                form=data,
                now=now,
            )
        else:
            raise NotFoundException()
        return await self._render(
            state,
            db_session,
            request.user,
            conversation_id,
            outcome,
        )

    @post("/interceptions/{interception_id:int}/{answer:str}", name="sidebar:intercepted", status_code=200)
    async def intercepted(
        self,
        *,
        request: HTMXRequest,
        state: State,
        db_session: NamedDependency[AsyncSession],
        conversation_id: FromPath[int],
        interception_id: FromPath[int],
        answer: FromPath[str],
    ) -> Template:
        """The courier stopped the parcel (``confirmed``: the refund is approved) or not (``failed``)."""
        if answer not in ("confirmed", "failed"):
            raise NotFoundException()
        await conversation_for(db_session, request.user, conversation_id)
        runtime = _runtime(state)
        outcome = await actions.intercepted(
            db_session,
            runtime.wakeup,
            user=request.user,
            interception_id=interception_id,
            stopped=answer == "confirmed",
            now=runtime.clock.now(),
        )
        return await self._render(state, db_session, request.user, conversation_id, outcome)

    @post(
        "/orders/{order_id:str}/address-change/{answer:str}", name="sidebar:address-change", status_code=200
    )
    async def address_change(
        self,
        *,
        request: HTMXRequest,
        state: State,
        db_session: NamedDependency[AsyncSession],
        conversation_id: FromPath[int],
        order_id: FromPath[str],
        answer: FromPath[str],
    ) -> Template:
        """Accept or reject the buyer's request to ship the order elsewhere."""
        order_id = _platform_id(order_id)
        if answer not in ("accept", "reject"):
            raise NotFoundException()
        await conversation_for(db_session, request.user, conversation_id)
        runtime = _runtime(state)
        outcome = await actions.answer_change(
            db_session,
            runtime.wakeup,
            user=request.user,
            order_id=order_id,
            accept=answer == "accept",
            now=runtime.clock.now(),
        )
        return await self._render(state, db_session, request.user, conversation_id, outcome)

    @post("/orders/{order_id:str}/note", name="sidebar:note", status_code=200)
    async def note(
        self,
        *,
        request: HTMXRequest,
        state: State,
        db_session: NamedDependency[AsyncSession],
        conversation_id: FromPath[int],
        order_id: FromPath[str],
        data: Annotated[actions.NoteForm, Form],
    ) -> Template:
        """Write the order's merchant note."""
        order_id = _platform_id(order_id)
        await conversation_for(db_session, request.user, conversation_id)
        runtime = _runtime(state)
        outcome = await actions.note(
            db_session,
            runtime.wakeup,
            user=request.user,
            order_id=order_id,
            form=data,
            now=runtime.clock.now(),
        )
        return await self._render(state, db_session, request.user, conversation_id, outcome)

    @post("/orders/{order_id:str}/card", name="sidebar:card", status_code=200)
    async def card(
        self,
        *,
        request: HTMXRequest,
        state: State,
        db_session: NamedDependency[AsyncSession],
        conversation_id: FromPath[int],
        order_id: FromPath[str],
        data: Annotated[actions.CardForm, Form],
    ) -> Template:
        """Send the order into the chat as a card."""
        order_id = _platform_id(order_id)
        runtime = _runtime(state)
        outcome = await actions.card(
            db_session,
            runtime.wakeup,
            user=request.user,
            conversation_id=conversation_id,
            order_id=order_id,
            form=data,
            now=runtime.clock.now(),
        )
        return await self._render(state, db_session, request.user, conversation_id, outcome)

    @post("/orders/{order_id:str}/phone", name="sidebar:phone", status_code=200)
    async def phone(
        self,
        *,
        request: HTMXRequest,
        state: State,
        db_session: NamedDependency[AsyncSession],
        conversation_id: FromPath[int],
        order_id: FromPath[str],
    ) -> Template:
        """The receiver's full phone, for managers and admins (each reveal is audited)."""
        order_id = _platform_id(order_id)
        await conversation_for(db_session, request.user, conversation_id)
        runtime = _runtime(state)
        result = await reveal_phone(
            db_session, runtime, user=request.user, order_id=order_id, now=runtime.clock.now()
        )
        if isinstance(result, Invalid):
            forbidden = not request.user.role.at_least(Role.MANAGER)
            return Template(
                "sidebar/_phone.html",
                context={"errors": result.errors},
                status_code=403 if forbidden else 422,
            )
        return Template("sidebar/_phone.html", context={"phone": result})


ROUTES = [SidebarController]
