"""After-sales as the sidebar shows them: type (换货 as an exchange), status, reason, the buyer's
words and evidence, the deadline, the decisions the status allows with the SKU's return address
chosen, interception, and the latest action on each."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import sqlalchemy as sa
from litestar.exceptions import NotFoundException

from desk.accounts.models import User
from desk.accounts.scoping import scoped
from desk.aftersales.addresses import return_address_for
from desk.aftersales.models import AfterSale, Interception, InterceptionState, MerchantAddress
from desk.aftersales.status import (
    ACTIONS_BY_STATUS,
    AFTERSALE_STATUS_TONES,
    AfterSaleAction,
    aftersale_status_label,
    aftersale_type_label,
)
from desk.db import Work
from desk.i18n import Message
from desk.sidebar.commands_shown import CommandView, command_views
from desk.sidebar.order_cards import MAX_ORDERS, OrderView
from desk.tone import Tone

__all__ = ["AddressOption", "AfterSaleBrief", "AfterSaleView", "aftersale_brief", "aftersale_views"]

_aftersale = AfterSale.__table__
_address = MerchantAddress.__table__
_interception = Interception.__table__


class AddressOption(msgspec.Struct, frozen=True, kw_only=True):
    address_id: str
    label: str


class AfterSaleView(msgspec.Struct, frozen=True, kw_only=True):
    store_id: int
    after_sale_order_id: str
    order_id: str
    type: str
    type_label: Message
    status: str
    status_label: Message
    tone: Tone
    reason: str
    description: str
    images: list[str]
    """The buyer's evidence: links when the platform gave URLs, else its media ids."""
    amount: int
    deadline: dt.datetime | None
    actions: frozenset[AfterSaleAction]
    return_address_id: str = ""
    """For a return awaiting review: the address bound to its SKU (一货一址), preselected."""
    return_address_source: str = ""
    address_options: list[AddressOption] = msgspec.field(default_factory=list)
    interceptable: bool = False
    interception: str = ""
    """The state of its interception, when one was asked."""
    open_interception_id: int | None = None
    """An interception waiting for the courier's answer: the agent confirms it (refund) or not."""
    command: CommandView | None = None


def _images(media_ids: list[Any]) -> list[str]:
    return [str(m) for m in media_ids or [] if str(m)]


async def _return_addresses(work: Work, store_id: int) -> list[AddressOption]:
    rows = await work.execute(
        sa.select(_address.c.address_id, _address.c.name, _address.c.region, _address.c.detail)
        .where(_address.c.store_id == store_id, _address.c.is_return)
        .order_by(_address.c.name, _address.c.address_id)
    )
    return [
        AddressOption(
            address_id=r.address_id,
            label=" ".join(p for p in (r.name, r.region, r.detail) if p) or r.address_id,
        )
        for r in rows
    ]


async def aftersale_views(
    work: Work, user: User, buyer_ids: list[int], orders: dict[str, OrderView]
) -> list[AfterSaleView]:
    stmt = scoped(
        sa.select(_aftersale)
        .where(_aftersale.c.buyer_id.in_(buyer_ids))
        .order_by(_aftersale.c.create_time.desc(), _aftersale.c.id.desc())
        .limit(MAX_ORDERS),
        _aftersale.c.store_id,
        user,
    )
    rows = list(await work.execute(stmt))
    commands = await command_views(work, [(r.store_id, f"aftersale:{r.after_sale_order_id}") for r in rows])
    # The latest interception of each request (ordered by id: later ones overwrite earlier ones).
    interceptions = {
        r.after_sale_order_id: (r.id, r.state)
        for r in await work.execute(
            sa.select(_interception.c.id, _interception.c.after_sale_order_id, _interception.c.state)
            .where(_interception.c.after_sale_order_id.in_([r.after_sale_order_id for r in rows]))
            .order_by(_interception.c.id)
        )
    }
    addresses: dict[int, list[AddressOption]] = {}
    views = []
    for a in rows:
        actions = ACTIONS_BY_STATUS.get(a.status, frozenset())
        chosen = ""
        source = ""
        options: list[AddressOption] = []
        if a.type != "REFUND" and AfterSaleAction.APPROVE in actions:
            bound = await return_address_for(work, a.store_id, sku_id=a.sku_id, product_id=a.product_id)
            if bound is not None:
                chosen, source = bound.address_id, bound.source
            if a.store_id not in addresses:
                addresses[a.store_id] = await _return_addresses(work, a.store_id)
            options = list(addresses[a.store_id])
            if bound is not None and all(o.address_id != chosen for o in options):
                options.insert(0, AddressOption(address_id=chosen, label=bound.label))
        order = orders.get(a.order_id)
        interception_id, interception = interceptions.get(a.after_sale_order_id, (None, None))
        views.append(
            AfterSaleView(
                store_id=a.store_id,
                after_sale_order_id=a.after_sale_order_id,
                order_id=a.order_id,
                type=a.type,
                type_label=aftersale_type_label(a.type),
                status=a.status,
                status_label=aftersale_status_label(a.status),
                tone=AFTERSALE_STATUS_TONES.get(a.status, Tone.WAITING),
                reason=a.reason_text or a.reason,
                description=a.description,
                images=_images(a.media_ids),
                amount=a.refund_amount,
                deadline=a.merchant_deadline if actions else None,
                actions=actions,
                return_address_id=chosen,
                return_address_source=source,
                address_options=options,
                interceptable=(
                    a.type == "REFUND"
                    and a.status == "MERCHANT_PROCESSING"
                    and order is not None
                    and order.interceptable
                    and interception != InterceptionState.REQUESTED
                ),
                interception=str(interception.value) if interception else "",
                open_interception_id=interception_id
                if interception == InterceptionState.REQUESTED and actions
                else None,
                command=commands.get(f"aftersale:{a.after_sale_order_id}"),
            )
        )
    return views


class AfterSaleBrief(msgspec.Struct, frozen=True, kw_only=True):
    """An after-sale as a form about it needs it: which one, in which store, of which type."""

    store_id: int
    after_sale_order_id: str
    type: str
    type_label: Message


async def aftersale_brief(work: Work, user: User, after_sale_order_id: str) -> AfterSaleBrief:
    """The after-sale ``after_sale_order_id`` in ``user``'s stores, else 404."""
    row = (
        await work.execute(
            scoped(
                sa.select(_aftersale.c.store_id, _aftersale.c.type).where(
                    _aftersale.c.after_sale_order_id == after_sale_order_id
                ),
                _aftersale.c.store_id,
                user,
            )
        )
    ).first()
    if row is None:
        raise NotFoundException()
    return AfterSaleBrief(
        store_id=row.store_id,
        after_sale_order_id=after_sale_order_id,
        type=row.type,
        type_label=aftersale_type_label(row.type),
    )
