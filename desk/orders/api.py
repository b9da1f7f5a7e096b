"""``/api/v1/orders``: orders for integrations (token auth; only the token user's stores)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.models import User
from desk.orders.schemas import OrderOut
from desk.orders.services import order_with_buyer

__all__ = ["ROUTES", "OrdersApiController"]


class OrdersApiController(Controller):
    path = "/api/v1/orders"
    tags = ["orders"]  # noqa: RUF012 - Litestar reads this class attribute

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


ROUTES = [OrdersApiController]
