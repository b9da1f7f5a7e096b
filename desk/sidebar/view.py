"""What the sidebar shows for one conversation: the buyer, their orders and their after-sales.

Everything is read for the person behind the conversation (every store's buyer with the same
``unionid``, :func:`desk.orders.buyers.same_person_buyer_ids`) and only in the stores the agent
may see. Phones and addresses stay masked as the platform sent them; the latest outbound command
on each order and after-sale is shown with its outcome, so an agent sees queued → done / failed.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import msgspec
import sqlalchemy as sa
from litestar.exceptions import NotFoundException

from desk.accounts.models import Role, User
from desk.accounts.scoping import store_ids_for
from desk.aftersales.addresses import return_address_for
from desk.aftersales.models import AfterSale, Interception, InterceptionState, MerchantAddress
from desk.aftersales.status import (
    ACTIONS_BY_STATUS,
    AFTERSALE_STATUS_TONES,
    AfterSaleAction,
    aftersale_status_label,
    aftersale_type_label,
)
from desk.commands.errors import describe_error
from desk.commands.models import CommandState, OutboundCommand
from desk.db import Work
from desk.i18n import Message
from desk.inbox.access import conversation_for
from desk.inbox.queue import buyer_label
from desk.orders.buyers import same_person_buyer_ids
from desk.orders.models import Buyer, BuyerTag, Order, OrderLine
from desk.orders.privacy import masked_phone
from desk.orders.status import ORDER_STATUS_TONES, SHIPPED_STATUSES, order_status_label
from desk.stores.models import Store
from desk.tone import Tone

__all__ = [
    "MAX_ORDERS",
    "AddressOption",
    "AfterSaleBrief",
    "AfterSaleView",
    "BuyerView",
    "CommandView",
    "OrderView",
    "SidebarView",
    "aftersale_brief",
    "command_views",
    "order_views",
    "read_sidebar",
]

MAX_ORDERS = 50
"""Orders (and after-sales) shown at most: a buyer's latest; older ones are in the store backend."""

_order = Order.__table__
_line = OrderLine.__table__
_aftersale = AfterSale.__table__
_command = OutboundCommand.__table__
_address = MerchantAddress.__table__
_interception = Interception.__table__


class CommandView(msgspec.Struct, frozen=True, kw_only=True):
    """The latest action asked through the desk on an order or after-sale, and where it stands."""

    kind: str
    state: CommandState
    by: str
    error: Message | None = None
    """For a failed one: the platform errcode's meaning."""
    error_code: int | None = None


class ItemView(msgspec.Struct, frozen=True, kw_only=True):
    title: str
    sku_id: str
    count: int
    price: int
    """Fen, per item as sold (``sale_price``)."""


class DeliveryView(msgspec.Struct, frozen=True, kw_only=True):
    courier: str
    waybill_id: str


class OrderView(msgspec.Struct, frozen=True, kw_only=True):
    store_id: int
    store_name: str
    order_id: str
    status: int
    status_label: Message
    tone: Tone
    items: list[ItemView]
    paid: int
    """What the buyer paid, in fen (``order_price``)."""
    receiver: str
    phone: str
    """Masked (``183****2807``)."""
    address: str
    """Region and the masked street, as the platform sent them."""
    deliveries: list[DeliveryView]
    merchant_notes: str
    address_change: str
    """The new address the buyer asked for (masked), or empty when none waits for an answer."""
    interceptable: bool
    """Shipped: a refund of it means stopping the parcel (拦截)."""
    created_at: dt.datetime
    command: CommandView | None = None


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


class BuyerView(msgspec.Struct, frozen=True, kw_only=True):
    buyer_id: int | None
    name: str
    stores: list[str]
    tags: list[str]
    phone: str
    """Masked; ``phone_order_id`` names the order whose full number a manager may reveal."""
    phone_order_id: str
    may_reveal: bool


class SidebarView(msgspec.Struct, frozen=True, kw_only=True):
    conversation_id: int
    cards_for_store: int | None
    """The store whose orders may be sent into this chat as cards (store chat only), else None."""
    buyer: BuyerView
    buyer_ids: list[int]
    """Every buyer id of this person (the live stream signals ``buyer-<id>``)."""
    orders: list[OrderView]
    aftersales: list[AfterSaleView]
    pending: bool
    """Some action is still queued: the page checks again shortly."""


def _in_scope(stmt: Any, column: Any, user: User) -> Any:
    allowed = store_ids_for(user)
    return stmt if allowed is None else stmt.where(column.in_(allowed))


async def command_views(work: Work, store_subjects: list[tuple[int, str]]) -> dict[str, CommandView]:
    """The latest command per subject (``order:<id>``, ``aftersale:<id>``), with who asked it."""
    if not store_subjects:
        return {}
    subjects = {subject for _, subject in store_subjects}
    stores = {store_id for store_id, _ in store_subjects}
    latest = (
        sa.select(sa.func.max(_command.c.id))
        .where(_command.c.subject.in_(subjects), _command.c.store_id.in_(stores))
        .group_by(_command.c.store_id, _command.c.subject)
    )
    rows = await work.execute(
        sa.select(
            _command.c.subject,
            _command.c.kind,
            _command.c.state,
            _command.c.error_code,
            _command.c.last_error,
            _command.c.origin,
            User.display_name,
            User.username,
        )
        .outerjoin(User, User.id == _command.c.created_by_id)
        .where(_command.c.id.in_(latest))
    )
    return {
        row.subject: CommandView(
            kind=row.kind,
            state=row.state,
            by=str(row.display_name or row.username or row.origin),
            error=describe_error(row.error_code, row.last_error or "")
            if row.state == CommandState.FAILED
            else None,
            error_code=row.error_code if row.state == CommandState.FAILED else None,
        )
        for row in rows
    }


def _address_change_text(change: dict[str, Any] | None) -> str:
    if not change:
        return ""
    phone = masked_phone(str(change.get("tel_number") or ""))
    parts = [
        str(change.get("user_name") or ""),
        phone,
        str(change.get("region") or ""),
        str(change.get("detail") or ""),
    ]
    return " ".join(part for part in parts if part) or str(change)


def _deliveries(raw: list[Any]) -> list[DeliveryView]:
    out = []
    for delivery in raw or []:
        if isinstance(delivery, dict) and delivery.get("waybill_id"):
            courier = str(delivery.get("delivery_name") or delivery.get("delivery_id") or "")
            out.append(DeliveryView(courier=courier, waybill_id=str(delivery["waybill_id"])))
    return out


async def order_views(work: Work, user: User, where: Any, *, limit: int = MAX_ORDERS) -> list[OrderView]:
    """Orders matching ``where`` in ``user``'s stores, newest first, with lines and latest action."""
    top = (
        _in_scope(
            sa.select(_order, Store.name.label("store_name"))
            .join(Store, Store.id == _order.c.store_id)
            .where(where)
            .order_by(_order.c.create_time.desc(), _order.c.id.desc())
            .limit(limit),
            _order.c.store_id,
            user,
        )
    ).subquery("top")
    rows = list(
        await work.execute(
            sa.select(
                top,
                _line.c.title,
                _line.c.sku_id,
                _line.c.sku_cnt,
                _line.c.sale_price,
            )
            .outerjoin(_line, _line.c.order_pk == top.c.id)
            .order_by(top.c.create_time.desc(), top.c.id.desc(), _line.c.position)
        )
    )
    commands = await command_views(work, [(r.store_id, f"order:{r.order_id}") for r in rows])
    views = []
    for _, group in itertools.groupby(rows, key=lambda r: r.id):
        lines = list(group)
        o = lines[0]
        views.append(
            OrderView(
                store_id=o.store_id,
                store_name=o.store_name,
                order_id=o.order_id,
                status=o.status,
                status_label=order_status_label(o.status),
                tone=ORDER_STATUS_TONES.get(o.status, Tone.WAITING),
                items=[
                    ItemView(title=li.title, sku_id=li.sku_id, count=li.sku_cnt, price=li.sale_price)
                    for li in lines
                    if li.sku_id is not None
                ],
                paid=o.order_price,
                receiver=o.receiver_name,
                phone=masked_phone(o.receiver_tel_masked),
                address=" ".join(p for p in (o.province, o.city, o.county, o.address_detail_masked) if p),
                deliveries=_deliveries(o.deliveries),
                merchant_notes=o.merchant_notes,
                address_change=_address_change_text(o.address_change),
                interceptable=o.status in SHIPPED_STATUSES,
                created_at=o.create_time,
                command=commands.get(f"order:{o.order_id}"),
            )
        )
    return views


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


async def _aftersale_views(
    work: Work, user: User, buyer_ids: list[int], orders: dict[str, OrderView]
) -> list[AfterSaleView]:
    stmt = _in_scope(
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


async def _buyer(
    work: Work,
    user: User,
    *,
    buyer_id: int | None,
    buyer_ids: list[int],
    peer_id: str,
    orders: list[OrderView],
) -> BuyerView:
    nickname = ""
    stores: list[str] = []
    tags: list[str] = []
    if buyer_ids:
        rows = await work.execute(
            _in_scope(
                sa.select(Buyer.id, Buyer.nickname, Store.name)
                .join(Store, Store.id == Buyer.store_id)
                .where(Buyer.id.in_(buyer_ids))
                .order_by(Buyer.id),
                Buyer.store_id,
                user,
            )
        )
        for row in rows:
            if row.id == buyer_id or not nickname:
                nickname = row.nickname or nickname
            if row.name not in stores:
                stores.append(row.name)
        tags = sorted(
            set(
                (
                    await work.execute(sa.select(BuyerTag.tag).where(BuyerTag.buyer_id.in_(buyer_ids)))
                ).scalars()
            )
        )
    latest = orders[0] if orders else None
    return BuyerView(
        buyer_id=buyer_id,
        name=buyer_label(nickname, latest.receiver if latest else None, peer_id),
        stores=stores,
        tags=tags,
        phone=latest.phone if latest else "",
        phone_order_id=latest.order_id if latest else "",
        may_reveal=user.role.at_least(Role.MANAGER),
    )


async def read_sidebar(work: Work, user: User, conversation_id: int) -> SidebarView:
    """The sidebar of ``conversation_id`` as ``user`` may see it (404 outside their stores)."""
    conversation = await conversation_for(work, user, conversation_id)
    buyer_ids = (
        await same_person_buyer_ids(work, conversation.buyer_id) if conversation.buyer_id is not None else []
    )
    orders = await order_views(work, user, _order.c.buyer_id.in_(buyer_ids)) if buyer_ids else []
    by_id = {o.order_id: o for o in orders}
    aftersales = await _aftersale_views(work, user, buyer_ids, by_id) if buyer_ids else []
    buyer = await _buyer(
        work,
        user,
        buyer_id=conversation.buyer_id,
        buyer_ids=buyer_ids,
        peer_id=conversation.peer_id,
        orders=orders,
    )
    underway = (CommandState.QUEUED, CommandState.SENDING)
    pending = any(
        c is not None and c.state in underway
        for c in [*(o.command for o in orders), *(a.command for a in aftersales)]
    )
    return SidebarView(
        conversation_id=conversation.id,
        cards_for_store=conversation.store_id if conversation.channel == "commkf" else None,
        buyer=buyer,
        buyer_ids=buyer_ids,
        orders=orders,
        aftersales=aftersales,
        pending=pending,
    )


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
            _in_scope(
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
