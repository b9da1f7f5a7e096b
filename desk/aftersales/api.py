"""``/api/v1/aftersales``: after-sale requests for integrations (token auth, store-scoped).

Listing (deadline soonest first), one request, and a ``POST`` per decision. Decisions answer 202
with the command that carries them to the platform (a worker runs it); the same ``request_id``
again answers with that first command. Requests outside the token user's stores are 404; a
decision the request's status no longer allows (a colleague or the platform got there first) is
409, naming who handled it; incomplete input is 422.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, cast

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import (
    HTTP_202_ACCEPTED,
    HTTP_204_NO_CONTENT,
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
)
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.models import User
from desk.accounts.scoping import store_ids_for
from desk.aftersales.actions import Decision
from desk.aftersales.keyed_actions import decide_once, intercept_once, resolve_interception
from desk.aftersales.listing import AfterSaleFilter, find_aftersales, parse_status
from desk.aftersales.schemas import (
    AfterSaleListItemOut,
    AfterSaleOut,
    AfterSalePageOut,
    ApproveIn,
    ConfirmReceiptIn,
    InterceptIn,
    NegotiateIn,
    RejectIn,
)
from desk.aftersales.services import aftersale_with_buyer
from desk.aftersales.status import AfterSaleAction
from desk.api import ApiErrorOut, action_refusal, api_language, refusal
from desk.commands.replay import Accepted
from desk.commands.schemas import AcceptedOut
from desk.errors import Invalid
from desk.i18n import Message as Text
from desk.paging import MAX_LIMIT, MAX_PAGE
from desk.runtime import Runtime

__all__ = ["ROUTES", "AfterSalesApiController"]

PAGE_SIZE = 50

_ACTION_RESPONSES = {
    HTTP_400_BAD_REQUEST: ResponseSpec(ApiErrorOut, description="The request is malformed."),
    HTTP_404_NOT_FOUND: ResponseSpec(ApiErrorOut, description="Not an after-sale of your stores."),
    HTTP_409_CONFLICT: ResponseSpec(
        ApiErrorOut,
        description="Its status allows no such decision now (already handled by …), or the "
        "`request_id` was used for another request.",
    ),
    HTTP_422_UNPROCESSABLE_ENTITY: ResponseSpec(
        ApiErrorOut, description="Refused: the field and the reason are in `extra`."
    ),
}


def _runtime(request: Request[Any, Any, Any]) -> Runtime:
    return cast(Runtime, request.app.state.runtime)


class AfterSalesApiController(Controller):
    path = "/api/v1/aftersales"
    tags = ["aftersales"]  # noqa: RUF012 - Litestar reads this class attribute

    @get(
        "/",
        name="api:aftersales:list",
        responses={
            HTTP_400_BAD_REQUEST: ResponseSpec(ApiErrorOut, description="A filter is malformed."),
            HTTP_404_NOT_FOUND: ResponseSpec(ApiErrorOut, description="`store` is not one of yours."),
        },
    )
    async def list_aftersales(
        self,
        *,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        store: Annotated[int | None, QueryParameter(description="Only this store's.")] = None,
        aftersale_status: Annotated[
            str,
            QueryParameter(
                name="status",
                description="A platform status (e.g. `MERCHANT_PROCESSING`), or `actionable` for "
                "every request waiting for the merchant. Default: all.",
            ),
        ] = "",
        deadline_before: Annotated[
            dt.datetime | None,
            QueryParameter(
                description="Only requests whose merchant deadline runs out before this instant "
                "(ISO 8601 with its offset, e.g. `2026-12-01T12:00:00Z`)."
            ),
        ] = None,
        page: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)] = 1,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)] = PAGE_SIZE,
    ) -> AfterSalePageOut:
        """After-sales across your stores, the merchant deadline soonest first (requests with no
        deadline — nothing for the merchant to do — last). Follow `next_page` to the end."""
        language = api_language(request)
        status = parse_status(aftersale_status)
        if isinstance(status, Invalid):
            raise refusal(status, language, default=HTTP_400_BAD_REQUEST)
        if deadline_before is not None and deadline_before.tzinfo is None:
            raise refusal(
                Invalid({"deadline_before": Text("orders.api.naive_time")}),
                language,
                default=HTTP_400_BAD_REQUEST,
            )
        _check_store(request.user, store)
        result = await find_aftersales(
            db_session,
            request.user,
            AfterSaleFilter(store_id=store, status=status, deadline_before=deadline_before),
            page=page,
            limit=limit,
        )
        return AfterSalePageOut(
            items=[AfterSaleListItemOut.of(row) for row in result.rows],
            page=result.page,
            limit=result.limit,
            next_page=result.next_page,
        )

    @get("/{after_sale_order_id:str}", name="api:aftersales:get")
    async def get_aftersale(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        after_sale_order_id: FromPath[str],
    ) -> AfterSaleOut:
        """The after-sale with the platform's ``after_sale_order_id``; 404 outside your stores."""
        aftersale, buyer = await aftersale_with_buyer(db_session, request.user, after_sale_order_id)
        return AfterSaleOut.of(aftersale, buyer)

    @post(
        "/{after_sale_order_id:str}/approve",
        name="api:aftersales:approve",
        status_code=HTTP_202_ACCEPTED,
        responses=_ACTION_RESPONSES,
    )
    async def approve(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        after_sale_order_id: FromPath[str],
        data: JSONBody[ApproveIn],
    ) -> AcceptedOut:
        """Approve a request awaiting review: refund-only is refunded at once; a return (or
        exchange) is agreed with a return address — `address_id`, else the one bound to the SKU
        (一货一址); the answer says which."""
        decision = Decision(
            action=AfterSaleAction.APPROVE, address_id=data.address_id, why=data.why, key=data.request_id
        )
        return await _decide(request, db_session, after_sale_order_id, decision)

    @post(
        "/{after_sale_order_id:str}/confirm-receipt",
        name="api:aftersales:confirm_receipt",
        status_code=HTTP_202_ACCEPTED,
        responses=_ACTION_RESPONSES,
    )
    async def confirm_receipt(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        after_sale_order_id: FromPath[str],
        data: JSONBody[ConfirmReceiptIn],
    ) -> AcceptedOut:
        """The returned goods arrived (status `MERCHANT_WAIT_RECEIPT`): refund the buyer."""
        decision = Decision(action=AfterSaleAction.CONFIRM_RECEIPT, why=data.why, key=data.request_id)
        return await _decide(request, db_session, after_sale_order_id, decision)

    @post(
        "/{after_sale_order_id:str}/reject",
        name="api:aftersales:reject",
        status_code=HTTP_202_ACCEPTED,
        responses=_ACTION_RESPONSES,
    )
    async def reject(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        after_sale_order_id: FromPath[str],
        data: JSONBody[RejectIn],
    ) -> AcceptedOut:
        """Reject with one of the platform's reasons (`reject_reason_type`). Some requests must
        be negotiated first: the command then fails with errcode 10021068 — negotiate instead."""
        decision = Decision(
            action=AfterSaleAction.REJECT,
            reject_reason_type=data.reject_reason_type,
            reject_reason=data.reject_reason,
            why=data.why,
            key=data.request_id,
        )
        return await _decide(request, db_session, after_sale_order_id, decision)

    @post(
        "/{after_sale_order_id:str}/negotiate",
        name="api:aftersales:negotiate",
        status_code=HTTP_202_ACCEPTED,
        responses=_ACTION_RESPONSES,
    )
    async def negotiate(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        after_sale_order_id: FromPath[str],
        data: JSONBody[NegotiateIn],
    ) -> AcceptedOut:
        """协商 (`merchantupdateaftersale`): needs `merchant_update_type` and `update_reason_type`."""
        decision = Decision(
            action=AfterSaleAction.NEGOTIATE,
            merchant_update_type=data.merchant_update_type,
            update_reason_type=data.update_reason_type,
            merchant_update_desc=data.merchant_update_desc,
            negotiate_type=data.negotiate_type,
            amount=data.amount,
            why=data.why,
            key=data.request_id,
        )
        return await _decide(request, db_session, after_sale_order_id, decision)

    @post(
        "/{after_sale_order_id:str}/intercept",
        name="api:aftersales:intercept",
        status_code=HTTP_202_ACCEPTED,
        responses=_ACTION_RESPONSES,
    )
    async def intercept(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        after_sale_order_id: FromPath[str],
        data: JSONBody[InterceptIn],
    ) -> AcceptedOut:
        """订单拦截: the buyer wants a refund of a shipped order; ask the courier to stop the
        parcel (the platform has no call for it: the desk's courier hook runs). The refund is
        approved when the interception is confirmed. 409 when the request is not a refund-only
        one awaiting review or its order has not shipped (then simply approve)."""
        runtime = _runtime(request)
        result = await intercept_once(
            db_session,
            runtime.wakeup,
            user=request.user,
            after_sale_order_id=after_sale_order_id,
            reason=data.reason,
            key=data.request_id,
            now=runtime.clock.now(),
        )
        return _accepted(request, result)

    @post(
        "/{after_sale_order_id:str}/interception/confirm",
        name="api:aftersales:interception:confirm",
        status_code=HTTP_202_ACCEPTED,
        responses=_ACTION_RESPONSES,
    )
    async def confirm_interception(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        after_sale_order_id: FromPath[str],
    ) -> AcceptedOut:
        """The courier stopped the parcel: the interception is closed and the refund approved (the
        answer is the refund's command; asking again answers with it too). 409 when no
        interception is open."""
        result = await _resolve(request, db_session, after_sale_order_id, stopped=True)
        if result is None:  # pragma: no cover - a confirmation always names the refund's command
            raise RuntimeError("a confirmed interception without a refund")
        return result

    @post(
        "/{after_sale_order_id:str}/interception/fail",
        name="api:aftersales:interception:fail",
        status_code=HTTP_204_NO_CONTENT,
        responses=_ACTION_RESPONSES,
    )
    async def fail_interception(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        after_sale_order_id: FromPath[str],
    ) -> None:
        """The parcel could not be stopped (delivered already, say): the interception is closed as
        failed; negotiate with the buyer instead. Nothing is sent to the platform."""
        await _resolve(request, db_session, after_sale_order_id, stopped=False)


async def _resolve(
    request: Request[User, Any, Any], session: AsyncSession, after_sale_order_id: str, *, stopped: bool
) -> AcceptedOut | None:
    runtime = _runtime(request)
    result = await resolve_interception(
        session,
        runtime.wakeup,
        user=request.user,
        after_sale_order_id=after_sale_order_id,
        stopped=stopped,
        now=runtime.clock.now(),
    )
    return None if result is None else _accepted(request, result)


async def _decide(
    request: Request[User, Any, Any], session: AsyncSession, after_sale_order_id: str, decision: Decision
) -> AcceptedOut:
    runtime = _runtime(request)
    result = await decide_once(
        session,
        runtime.wakeup,
        user=request.user,
        after_sale_order_id=after_sale_order_id,
        decision=decision,
        now=runtime.clock.now(),
    )
    if isinstance(result, Invalid):
        # A refused decision is in the audit trail (who tried what, and why not): keep it, though
        # the answer is an error and errors roll the request's work back.
        await session.commit()
    return _accepted(request, result)


def _accepted(request: Request[User, Any, Any], result: Accepted | Invalid) -> AcceptedOut:
    if isinstance(result, Invalid):
        raise action_refusal(result, api_language(request))
    return AcceptedOut.of(result)


def _check_store(user: User, store_id: int | None) -> None:
    allowed = store_ids_for(user)
    if store_id is not None and allowed is not None and store_id not in allowed:
        raise NotFoundException(f"no store {store_id} among yours")


ROUTES = [AfterSalesApiController]
