"""What the sidebar shows for one conversation: the buyer, their orders and their after-sales.

Everything is read for the person behind the conversation (every store's buyer with the same
``unionid``, :func:`desk.orders.buyers.same_person_buyer_ids`) and only in the stores the agent
may see. Phones and addresses stay masked as the platform sent them; the latest outbound command
on each order and after-sale is shown with its outcome, so an agent sees queued → done / failed.
"""

from __future__ import annotations

import msgspec
import sqlalchemy as sa

from desk.accounts.models import Role, User
from desk.accounts.scoping import scoped
from desk.commands.models import CommandState
from desk.db import Work
from desk.inbox.access import conversation_for
from desk.inbox.queue import buyer_label
from desk.orders.buyers import same_person_buyer_ids
from desk.orders.models import Buyer, BuyerTag, Order
from desk.sidebar.aftersale_cards import AfterSaleView, aftersale_views
from desk.sidebar.order_cards import OrderView, order_views
from desk.stores.models import Store

__all__ = ["BuyerView", "SidebarView", "read_sidebar"]

_order = Order.__table__


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
            scoped(
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
    aftersales = await aftersale_views(work, user, buyer_ids, by_id) if buyer_ids else []
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
