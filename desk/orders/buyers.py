"""Buyers as people: one person behind the openids several stores know them by, and their orders.

The platform gives each store its own openid for a buyer, so an openid never links two stores —
the same string in two stores is a coincidence, not evidence. Only a ``unionid`` (sent when the
stores are bound to one Open Platform account) says two stores' buyers are one person. The inbox
links a conversation (a store's openid) to that person's orders in every store the agent may see.
"""

from __future__ import annotations

import datetime as dt

import msgspec
import sqlalchemy as sa
from litestar.exceptions import NotFoundException

from desk.accounts.models import User
from desk.accounts.scoping import store_ids_for
from desk.db import Work
from desk.orders.models import Buyer, Order
from desk.stores.models import Store

__all__ = ["BuyerOrder", "orders_of_buyer", "same_person_buyer_ids"]

_buyer = Buyer.__table__
_order = Order.__table__


class BuyerOrder(msgspec.Struct, frozen=True, kw_only=True):
    """One order of a buyer, as a list of their orders shows it."""

    id: int
    store_id: int
    store_name: str
    order_id: str
    """The platform's order id (what agents search and quote)."""
    status: int
    create_time: dt.datetime
    order_price: int
    """Fen."""
    buyer_id: int | None


async def same_person_buyer_ids(work: Work, buyer_id: int) -> list[int]:
    """The buyer ``buyer_id`` and every other store's buyer with the same ``unionid``: one person.

    Without a unionid the buyer is known in their own store only. Ids ascending; empty when
    there is no buyer ``buyer_id``.
    """
    row = (await work.execute(sa.select(_buyer.c.unionid).where(_buyer.c.id == buyer_id))).first()
    if row is None:
        return []
    if not row.unionid:
        return [buyer_id]
    return list(
        (
            await work.execute(
                sa.select(_buyer.c.id).where(_buyer.c.unionid == row.unionid).order_by(_buyer.c.id)
            )
        ).scalars()
    )


async def orders_of_buyer(work: Work, user: User, buyer_id: int, *, limit: int = 50) -> list[BuyerOrder]:
    """The orders of the buyer ``buyer_id`` and of the same person in other stores
    (:func:`same_person_buyer_ids`), in the stores ``user`` may see, newest first.

    Orders are the buyer's by their openid in that store (stored as ``Order.buyer_id``).

    Raises:
        NotFoundException: when the buyer does not exist or belongs to a store ``user`` may not see.
    """
    allowed = store_ids_for(user)
    store_id = (
        await work.execute(sa.select(_buyer.c.store_id).where(_buyer.c.id == buyer_id))
    ).scalar_one_or_none()
    if store_id is None or (allowed is not None and store_id not in allowed):
        raise NotFoundException()
    buyers = await same_person_buyer_ids(work, buyer_id)
    stmt = (
        sa.select(
            _order.c.id,
            _order.c.store_id,
            Store.name.label("store_name"),
            _order.c.order_id,
            _order.c.status,
            _order.c.create_time,
            _order.c.order_price,
            _order.c.buyer_id,
        )
        .join(Store, Store.id == _order.c.store_id)
        .where(_order.c.buyer_id.in_(buyers))
        .order_by(_order.c.create_time.desc(), _order.c.id.desc())
        .limit(limit)
    )
    if allowed is not None:
        stmt = stmt.where(_order.c.store_id.in_(allowed))
    return [BuyerOrder(**row._asdict()) for row in (await work.execute(stmt)).all()]
