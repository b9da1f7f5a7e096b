"""What the order page shows: the order, its after-sales with the decisions each allows, and where
the last action on each stands.

The page asks each owner: the order from :mod:`desk.orders`, its after-sales, return addresses
and interceptions from :mod:`desk.aftersales`, progress from :mod:`desk.commands`.
"""

from __future__ import annotations

from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.models import User
from desk.aftersales.addresses import ChosenAddress, return_address_for
from desk.aftersales.commands import CHANGED
from desk.aftersales.listing import OrderAfterSale, aftersales_of_order
from desk.aftersales.models import Interception, InterceptionState, MerchantAddress
from desk.aftersales.status import ACTIONS_BY_STATUS, AfterSaleAction
from desk.commands.latest import LatestCommand, latest_commands
from desk.i18n import Message as Text
from desk.orders.commands import ANSWERED_ELSEWHERE
from desk.orders.models import Order
from desk.orders.privacy import masked_phone
from desk.orders.services import order_with_buyer
from desk.orders.status import SHIPPED_STATUSES
from desk.stores.models import Store

__all__ = ["AfterSaleCard", "OrderDetail", "Parcel", "ReturnAddress", "order_detail"]


class ReturnAddress(msgspec.Struct, frozen=True, kw_only=True):
    address_id: str
    label: str


class Parcel(msgspec.Struct, frozen=True, kw_only=True):
    courier: str
    waybill_id: str


class AfterSaleCard(msgspec.Struct, frozen=True, kw_only=True):
    """One after-sale of the order, with what may be done about it now."""

    aftersale: OrderAfterSale
    actions: frozenset[AfterSaleAction]
    can_intercept: bool
    """A refund-only request on a shipped order: the parcel can be stopped first (拦截)."""
    return_address: ChosenAddress | None
    """For a return awaiting review: the address its approval would use (一货一址)."""
    interception_id: int | None
    """An interception asked of the courier and not yet answered."""
    command: LatestCommand | None


class OrderDetail(msgspec.Struct, frozen=True, kw_only=True):
    order: Any
    """The :class:`~desk.orders.models.Order` with its lines."""
    store_name: str
    receiver_phone: str
    """Masked (the platform sends it masked; :func:`masked_phone` guards against a full one)."""
    parcels: list[Parcel]
    aftersales: list[AfterSaleCard]
    return_addresses: list[ReturnAddress]
    order_command: LatestCommand | None
    """The last address-change answer or note written from the desk."""

    @property
    def under_way(self) -> bool:
        """Whether an action still waits for the platform (the page then refreshes itself)."""
        commands = [card.command for card in self.aftersales] + [self.order_command]
        return any(command is not None and command.under_way for command in commands)


async def order_detail(session: AsyncSession, user: User, order_id: str) -> OrderDetail:
    """The order page's content for ``order_id`` in ``user``'s stores.

    Raises:
        NotFoundException: when the order is not in a store ``user`` may see.
    """
    order, _ = await order_with_buyer(session, user, order_id)
    store_name = (await session.execute(sa.select(Store.name).where(Store.id == order.store_id))).scalar_one()
    aftersales = await aftersales_of_order(session, order.store_id, order.order_id)
    subjects = [f"aftersale:{a.after_sale_order_id}" for a in aftersales]
    commands = {
        subject: _explained(command)
        for subject, command in (
            await latest_commands(session, order.store_id, [*subjects, f"order:{order.order_id}"])
        ).items()
    }
    interceptions = await _open_interceptions(session, order.store_id, order.order_id)
    cards = []
    for aftersale in aftersales:
        actions = ACTIONS_BY_STATUS.get(aftersale.status, frozenset())
        address = None
        if AfterSaleAction.APPROVE in actions and aftersale.type != "REFUND":
            address = await return_address_for(
                session, order.store_id, sku_id=aftersale.sku_id, product_id=aftersale.product_id
            )
        cards.append(
            AfterSaleCard(
                aftersale=aftersale,
                actions=actions,
                can_intercept=aftersale.type == "REFUND"
                and aftersale.status == "MERCHANT_PROCESSING"
                and order.status in SHIPPED_STATUSES
                and aftersale.after_sale_order_id not in interceptions,
                return_address=address,
                interception_id=interceptions.get(aftersale.after_sale_order_id),
                command=commands.get(f"aftersale:{aftersale.after_sale_order_id}"),
            )
        )
    return OrderDetail(
        order=order,
        store_name=store_name,
        receiver_phone=masked_phone(order.receiver_tel_masked),
        parcels=_parcels(order),
        aftersales=cards,
        return_addresses=await _return_addresses(session, order.store_id),
        order_command=commands.get(f"order:{order.order_id}"),
    )


_DESK_ERRORS = {
    CHANGED: Text("aftersales.error.changed"),
    ANSWERED_ELSEWHERE: Text("orders.error.no_address_change"),
}
"""The desk's own failure codes (a request that changed before the worker acted), in words."""


def _explained(command: LatestCommand) -> LatestCommand:
    if command.error is not None and command.error_code in _DESK_ERRORS:
        return msgspec.structs.replace(command, error=_DESK_ERRORS[command.error_code])
    return command


def _parcels(order: Order) -> list[Parcel]:
    return [
        Parcel(
            courier=str(parcel.get("delivery_name") or parcel.get("delivery_id") or ""),
            waybill_id=str(parcel.get("waybill_id", "")),
        )
        for parcel in order.deliveries or []
        if isinstance(parcel, dict) and parcel.get("waybill_id")
    ]


async def _return_addresses(session: AsyncSession, store_id: int) -> list[ReturnAddress]:
    rows = await session.execute(
        sa.select(
            MerchantAddress.address_id, MerchantAddress.name, MerchantAddress.region, MerchantAddress.detail
        )
        .where(MerchantAddress.store_id == store_id, MerchantAddress.is_return)
        .order_by(MerchantAddress.is_default_return.desc(), MerchantAddress.id)
    )
    return [
        ReturnAddress(
            address_id=row.address_id,
            label=" ".join(part for part in (row.name, row.region, row.detail) if part) or row.address_id,
        )
        for row in rows
    ]


async def _open_interceptions(session: AsyncSession, store_id: int, order_id: str) -> dict[str, int]:
    rows = await session.execute(
        sa.select(Interception.after_sale_order_id, Interception.id).where(
            Interception.store_id == store_id,
            Interception.order_id == order_id,
            Interception.state == InterceptionState.REQUESTED,
        )
    )
    return {row.after_sale_order_id: row.id for row in rows}
