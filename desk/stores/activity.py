"""What is arriving in a store: its latest buyer conversations, orders and after-sales.

The store page shows three panels, which htmx re-polls every few seconds. Each is asked of the
domain that owns its rows (:mod:`desk.inbox.recent`, :mod:`desk.orders.queries`,
:mod:`desk.aftersales.queries`); this module only puts them side by side.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.models import User
from desk.aftersales.queries import AfterSaleRow, latest_aftersales
from desk.inbox.recent import ConversationRow, latest_conversations
from desk.orders.queries import OrderRow, latest_orders
from desk.panels import Panel

__all__ = ["PanelName", "StoreActivity", "activity_panel", "store_activity"]


class PanelName(enum.StrEnum):
    """The panels of the store page; also the ``?panel=`` a polling request asks for."""

    CONVERSATIONS = "conversations"
    ORDERS = "orders"
    AFTERSALES = "aftersales"


class StoreActivity(msgspec.Struct, frozen=True):
    """Everything the store page shows of what has been arriving."""

    conversations: Panel[ConversationRow]
    orders: Panel[OrderRow]
    aftersales: Panel[AfterSaleRow]


async def store_activity(
    session: AsyncSession, user: User, store_id: int, *, now: dt.datetime | None = None
) -> StoreActivity:
    """The three panels of one store's page, as ``user`` may see them (nothing outside their stores)."""
    return StoreActivity(
        conversations=await latest_conversations(session, user, store_id=store_id, now=now),
        orders=await latest_orders(session, user, store_id=store_id),
        aftersales=await latest_aftersales(session, user, store_id=store_id),
    )


_PANELS: dict[PanelName, Callable[..., Awaitable[Panel[Any]]]] = {
    PanelName.CONVERSATIONS: latest_conversations,
    PanelName.ORDERS: latest_orders,
    PanelName.AFTERSALES: latest_aftersales,
}


async def activity_panel(
    session: AsyncSession, user: User, name: PanelName, *, store_id: int | None = None
) -> Panel[Any]:
    """One panel alone, for the polling request that refreshes just that panel."""
    return await _PANELS[name](session, user, store_id=store_id)
