"""The variables a quick reply may hold, and their values for one conversation's buyer.

Each variable reads one fact about the buyer from :class:`BuyerFacts`, gathered once per
conversation. A variable without a value for this buyer is reported as missing (the picker
marks it) — never replaced by a guess, and never sent as ``{订单号}``. In particular
``{买家昵称}`` is the buyer's nickname only: the masked receiver name (``林**``) and the openid
tail the queue falls back to are fine for an agent to recognise a buyer, not to greet them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import msgspec
import sqlalchemy as sa

from desk.db import Work
from desk.inbox.access import ConversationState
from desk.inbox.models import Channel
from desk.inbox.placeholders import placeholder_names
from desk.orders.models import Buyer, Order
from desk.stores.models import Store

__all__ = [
    "RECENT_ORDERS",
    "VARIABLES",
    "BuyerFacts",
    "Variable",
    "buyer_facts",
    "unfilled_variables",
    "unknown_variables",
    "values_for",
]

RECENT_ORDERS = 20
"""How many of the buyer's latest orders are searched for the latest shipped one."""

_order = Order.__table__.c


class BuyerFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What the variables can say about one conversation's buyer (empty: not known)."""

    nickname: str = ""
    store_name: str = ""
    order_id: str = ""
    """The buyer's latest order in this store (by creation time)."""
    waybill_id: str = ""
    """The newest parcel of the buyer's latest order that has shipped."""
    courier: str = ""
    """The courier carrying that parcel (e.g. 顺丰速运)."""


class Variable(NamedTuple):
    """A variable: its name as written between braces, the i18n key describing it, its value."""

    name: str
    description_key: str
    value: Callable[[BuyerFacts], str]


VARIABLES: dict[str, Variable] = {
    v.name: v
    for v in (
        Variable("买家昵称", "quick_replies.variable.nickname", lambda f: f.nickname),
        Variable("订单号", "quick_replies.variable.order_id", lambda f: f.order_id),
        Variable("物流单号", "quick_replies.variable.waybill_id", lambda f: f.waybill_id),
        Variable("快递公司", "quick_replies.variable.courier", lambda f: f.courier),
        Variable("店铺名称", "quick_replies.variable.store_name", lambda f: f.store_name),
    )
}
"""Every variable a quick reply may use, by name."""


def unknown_variables(text: str) -> list[str]:
    """The placeholder names in ``text`` that are not variables (each once, in order)."""
    return [name for name in placeholder_names(text) if name not in VARIABLES]


def unfilled_variables(text: str) -> list[str]:
    """The variables still written as ``{name}`` in a text about to be sent (each once, in order).

    A composer or send path uses it to stop a quick reply whose value was missing from reaching
    the buyer as ``{订单号}``.
    """
    return [name for name in placeholder_names(text) if name in VARIABLES]


def values_for(facts: BuyerFacts) -> dict[str, str]:
    """Each variable's value for the buyer ``facts`` describes (empty when unknown)."""
    return {name: variable.value(facts) for name, variable in VARIABLES.items()}


def _latest_parcel(deliveries: list[Any]) -> dict[str, Any] | None:
    parcels = [p for p in deliveries if isinstance(p, dict) and p.get("waybill_id")]
    if not parcels:
        return None
    # max() keeps the first of equals; reversed, the later parcel in the list wins a tie.
    return max(reversed(parcels), key=lambda p: p.get("delivery_time") or 0)


async def buyer_facts(work: Work, conversation: ConversationState) -> BuyerFacts:
    """The facts about ``conversation``'s buyer that variables are filled from.

    Orders are the buyer's in the conversation's store: by buyer id, or by openid for a commkf
    chat not yet linked to a buyer. The waybill is the newest parcel of the latest order among
    the buyer's :data:`RECENT_ORDERS` latest that has one.
    """
    store_name = (
        await work.execute(sa.select(Store.name).where(Store.id == conversation.store_id))
    ).scalar_one_or_none() or ""
    nickname = ""
    if conversation.buyer_id is not None:
        nickname = (
            await work.execute(sa.select(Buyer.nickname).where(Buyer.id == conversation.buyer_id))
        ).scalar_one_or_none() or ""
        whose = _order.buyer_id == conversation.buyer_id
    elif conversation.channel is Channel.COMMKF:
        whose = _order.openid == conversation.peer_id
    else:
        return BuyerFacts(store_name=store_name)
    rows = (
        await work.execute(
            sa.select(_order.order_id, _order.deliveries)
            .where(_order.store_id == conversation.store_id, whose)
            .order_by(_order.create_time.desc(), _order.id.desc())
            .limit(RECENT_ORDERS)
        )
    ).all()
    order_id = rows[0].order_id if rows else ""
    waybill_id = courier = ""
    for row in rows:
        if parcel := _latest_parcel(row.deliveries or []):
            waybill_id = str(parcel["waybill_id"])
            courier = str(parcel.get("delivery_name") or "")
            break
    return BuyerFacts(
        nickname=nickname.strip(),
        store_name=store_name,
        order_id=order_id,
        waybill_id=waybill_id,
        courier=courier,
    )
