"""``/api/v1/orders`` and ``/api/v1/buyers``: orders for integrations (token auth; the token user's stores).

Searching (by store, status, order id or phone's last four digits), one order, a buyer's orders
across stores, and a ``POST`` per action — answer the buyer's address change, write the merchant
note — answered 202 with the command a worker runs; the same ``request_id`` again answers with
that first command. Orders outside the token user's stores are 404.
"""

from __future__ import annotations

from typing import Annotated, Any, cast

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import (
    HTTP_202_ACCEPTED,
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
)
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.models import User
from desk.accounts.scoping import store_ids_for
from desk.api import ApiErrorOut, action_refusal, api_language, refusal
from desk.commands.replay import Accepted
from desk.commands.schemas import AcceptedOut
from desk.errors import Invalid
from desk.orders.buyers import orders_of_buyer
from desk.orders.keyed_actions import answer_address_change_once, set_merchant_note_once
from desk.orders.schemas import (
    AddressChangeAnswerIn,
    BuyerOrderOut,
    MerchantNoteIn,
    OrderOut,
    OrderPageOut,
    OrderSummaryOut,
)
from desk.orders.search import OrderFilter, find_orders, parse_order_query
from desk.orders.services import order_with_buyer
from desk.paging import MAX_LIMIT, MAX_PAGE
from desk.runtime import Runtime

__all__ = ["ROUTES", "BuyersApiController", "OrdersApiController"]

PAGE_SIZE = 50
BUYER_ORDERS = 50

_ACTION_RESPONSES = {
    HTTP_400_BAD_REQUEST: ResponseSpec(ApiErrorOut, description="The request is malformed."),
    HTTP_404_NOT_FOUND: ResponseSpec(ApiErrorOut, description="Not an order of your stores."),
    HTTP_409_CONFLICT: ResponseSpec(
        ApiErrorOut,
        description="Nothing to answer (no address change pending), or the `request_id` was used "
        "for another request.",
    ),
    HTTP_422_UNPROCESSABLE_ENTITY: ResponseSpec(
        ApiErrorOut, description="Refused: the field and the reason are in `extra`."
    ),
}


def _runtime(request: Request[Any, Any, Any]) -> Runtime:
    return cast(Runtime, request.app.state.runtime)


def _accepted(request: Request[User, Any, Any], result: Accepted | Invalid) -> AcceptedOut:
    if isinstance(result, Invalid):
        raise action_refusal(result, api_language(request))
    return AcceptedOut.of(result)


class OrdersApiController(Controller):
    path = "/api/v1/orders"
    tags = ["orders"]  # noqa: RUF012 - Litestar reads this class attribute

    @get(
        "/",
        name="api:orders:list",
        responses={
            HTTP_400_BAD_REQUEST: ResponseSpec(ApiErrorOut, description="A filter is malformed."),
            HTTP_404_NOT_FOUND: ResponseSpec(ApiErrorOut, description="`store` is not one of yours."),
        },
    )
    async def list_orders(
        self,
        *,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        store: Annotated[int | None, QueryParameter(description="Only this store's.")] = None,
        order_status: Annotated[
            int | None,
            QueryParameter(name="status", description="The platform's order status, e.g. 20 to ship."),
        ] = None,
        q: Annotated[
            str,
            QueryParameter(
                description="An order id, or the last 4 digits of the receiver's phone.", max_length=64
            ),
        ] = "",
        page: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)] = 1,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)] = PAGE_SIZE,
    ) -> OrderPageOut:
        """Orders across your stores, newest first; receiver name and phone masked. Follow
        `next_page` to the end."""
        query = parse_order_query(q)
        if isinstance(query, Invalid):
            raise refusal(query, api_language(request), default=HTTP_400_BAD_REQUEST)
        allowed = store_ids_for(request.user)
        if store is not None and allowed is not None and store not in allowed:
            raise NotFoundException(f"no store {store} among yours")
        result = await find_orders(
            db_session,
            request.user,
            OrderFilter(store_id=store, status=order_status, query=query),
            page=page,
            limit=limit,
        )
        return OrderPageOut(
            items=[OrderSummaryOut.of(row) for row in result.rows],
            page=result.page,
            limit=result.limit,
            next_page=result.next_page,
        )

    @get("/{order_id:str}", name="api:orders:get")
    async def get_order(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        order_id: FromPath[str],
    ) -> OrderOut:
        """The order with the platform's ``order_id``, its lines and buyer; 404 outside your stores."""
        order, buyer = await order_with_buyer(db_session, request.user, order_id)
        return OrderOut.of(order, buyer)

    @post(
        "/{order_id:str}/address-change/accept",
        name="api:orders:address_change:accept",
        status_code=HTTP_202_ACCEPTED,
        responses=_ACTION_RESPONSES,
    )
    async def accept_address_change(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        order_id: FromPath[str],
        data: JSONBody[AddressChangeAnswerIn],
    ) -> AcceptedOut:
        """Ship the order to the address the buyer asked for (409 when no change is pending)."""
        return await self._answer(request, db_session, order_id, data, accept=True)

    @post(
        "/{order_id:str}/address-change/reject",
        name="api:orders:address_change:reject",
        status_code=HTTP_202_ACCEPTED,
        responses=_ACTION_RESPONSES,
    )
    async def reject_address_change(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        order_id: FromPath[str],
        data: JSONBody[AddressChangeAnswerIn],
    ) -> AcceptedOut:
        """Keep the order's address; the buyer's request is declined (409 when none is pending)."""
        return await self._answer(request, db_session, order_id, data, accept=False)

    @post(
        "/{order_id:str}/merchant-note",
        name="api:orders:merchant_note",
        status_code=HTTP_202_ACCEPTED,
        responses=_ACTION_RESPONSES,
    )
    async def merchant_note(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        order_id: FromPath[str],
        data: JSONBody[MerchantNoteIn],
    ) -> AcceptedOut:
        """Write the merchant note (seen in the store backend, never by the buyer)."""
        runtime = _runtime(request)
        result = await set_merchant_note_once(
            db_session,
            runtime.wakeup,
            user=request.user,
            order_id=order_id,
            note=data.note,
            key=data.request_id,
            now=runtime.clock.now(),
        )
        return _accepted(request, result)

    @staticmethod
    async def _answer(
        request: Request[User, Any, Any],
        session: AsyncSession,
        order_id: str,
        data: AddressChangeAnswerIn,
        *,
        accept: bool,
    ) -> AcceptedOut:
        runtime = _runtime(request)
        result = await answer_address_change_once(
            session,
            runtime.wakeup,
            user=request.user,
            order_id=order_id,
            accept=accept,
            why=data.why,
            key=data.request_id,
            now=runtime.clock.now(),
        )
        return _accepted(request, result)


class BuyersApiController(Controller):
    path = "/api/v1/buyers"
    tags = ["orders"]  # noqa: RUF012 - Litestar reads this class attribute

    @get(
        "/{buyer_id:int}/orders",
        name="api:buyers:orders",
        responses={HTTP_404_NOT_FOUND: ResponseSpec(ApiErrorOut, description="Not a buyer of your stores.")},
    )
    async def buyer_orders(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        buyer_id: FromPath[int],
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)] = BUYER_ORDERS,
    ) -> list[BuyerOrderOut]:
        """The buyer's orders, newest first — with the same person's orders in your other stores
        when the platform links them (a shared unionid). 404 for a buyer outside your stores."""
        orders = await orders_of_buyer(db_session, request.user, buyer_id, limit=limit)
        return [BuyerOrderOut.of(order) for order in orders]


ROUTES = [OrdersApiController, BuyersApiController]
