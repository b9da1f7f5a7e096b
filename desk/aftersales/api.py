"""``/api/v1/aftersales``: after-sale requests for integrations (token auth, store-scoped)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.models import User
from desk.aftersales.schemas import AfterSaleOut
from desk.aftersales.services import aftersale_with_buyer

__all__ = ["ROUTES", "AfterSalesApiController"]


class AfterSalesApiController(Controller):
    path = "/api/v1/aftersales"
    tags = ["aftersales"]  # noqa: RUF012 - Litestar reads this class attribute

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


ROUTES = [AfterSalesApiController]
