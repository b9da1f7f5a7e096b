"""Keeping buyers and orders in step with the platform, and reading them back.

Orders are written only from what ``order/get`` returned, never from a push's own fields: pushes
arrive out of order, twice, or not at all, while ``order/get`` always tells the current state
with its ``update_time``. Writes are upserts that refuse to replace a row with an older
``update_time``, so two workers fetching the same order at different moments cannot let the
earlier answer win, and applying the same answer twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from desk.accounts.models import User
from desk.accounts.scoping import get_scoped
from desk.changes.events import OrderChanged
from desk.changes.record import record
from desk.db import clip, epoch_to_utc, guarded_upsert, insert_for, utcnow
from desk.metrics.orders import note_order
from desk.orders.models import Buyer, Order, OrderLine
from desk.platform.channels_types import ChannelsOrder, DeliveryInfo
from desk.rules.triggers import order_triggers, record_trigger

__all__ = [
    "order_with_buyer",
    "save_buyer",
    "save_order",
]

_buyer = Buyer.__table__
_order = Order.__table__
_line = OrderLine.__table__


@functools.cache
def _buyer_upsert(dialect_name: str) -> sa.Insert:
    insert = insert_for(dialect_name, _buyer)
    return insert.on_conflict_do_update(
        index_elements=[_buyer.c.store_id, _buyer.c.openid],
        set_={
            "unionid": sa.func.coalesce(insert.excluded.unionid, _buyer.c.unionid),
            "updated_at": insert.excluded.updated_at,
        },
    ).returning(_buyer.c.id)


_find_buyer = sa.select(_buyer.c.id, _buyer.c.unionid).where(
    _buyer.c.store_id == sa.bindparam("store_id"), _buyer.c.openid == sa.bindparam("openid")
)
_current_order = (
    sa.select(_order.c.status)
    .where(_order.c.store_id == sa.bindparam("store_id"), _order.c.order_id == sa.bindparam("order_id"))
    .with_for_update()  # two workers storing the same order take turns, so each sees the other's status
)
_delete_lines = sa.delete(_line).where(_line.c.order_pk == sa.bindparam("order_pk"))
_insert_lines = sa.insert(_line)


async def save_buyer(conn: AsyncConnection, store_id: int, openid: str, unionid: str = "") -> int | None:
    """The id of the buyer ``openid`` of ``store_id``, created on first sight.

    A buyer is known per store by openid; ``unionid`` (present only when the store is bound to an
    Open Platform account) is filled in when it arrives and never cleared by a later answer
    without one. Returns None when there is no openid to know the buyer by.
    """
    if not openid:
        return None
    row = (await conn.execute(_find_buyer, {"store_id": store_id, "openid": openid})).first()
    if row is not None and (not unionid or row.unionid == unionid):
        return int(row.id)
    now = utcnow()
    values = {
        "store_id": store_id,
        "openid": openid,
        "unionid": unionid or None,
        "nickname": "",
        "created_at": now,
        "updated_at": now,
    }
    return int((await conn.execute(_buyer_upsert(conn.dialect.name), values)).scalar_one())


async def save_order(
    conn: AsyncConnection,
    store_id: int,
    order: ChannelsOrder,
    fetched_at: dt.datetime,
    *,
    origin: str = "platform",
) -> int | None:
    """Store what ``order/get`` answered at ``fetched_at``: the order, its lines and its buyer.

    The row is replaced only when the answer is newer (``update_time``, then ``fetched_at``) than
    the stored one; an older answer is dropped and None returned. Address fields stay masked as
    received. Returns the order's primary key when written, after recording ``OrderChanged``
    with the status it had before (None for an order seen for the first time).
    """
    previous = (
        await conn.execute(_current_order, {"store_id": store_id, "order_id": order.order_id})
    ).scalar_one_or_none()
    detail = order.order_detail
    address = detail.delivery_info.address_info
    now = utcnow()
    buyer_id = await save_buyer(conn, store_id, order.openid, order.unionid)
    values: dict[str, Any] = {
        "store_id": store_id,
        "order_id": order.order_id,
        "buyer_id": buyer_id,
        "openid": order.openid,
        "status": order.status,
        "create_time": epoch_to_utc(order.create_time),
        "update_time": epoch_to_utc(order.update_time),
        "pay_time": epoch_to_utc(detail.pay_info.pay_time) if detail.pay_info.pay_time else None,
        "product_price": detail.price_info.product_price,
        "order_price": detail.price_info.order_price,
        "freight": detail.price_info.freight,
        "discounted_price": detail.price_info.discounted_price,
        "receiver_name": clip(address.user_name, _order.c.receiver_name),
        "receiver_tel_masked": clip(address.tel_number, _order.c.receiver_tel_masked),
        "province": clip(address.province_name, _order.c.province),
        "city": clip(address.city_name, _order.c.city),
        "county": clip(address.county_name, _order.c.county),
        "address_detail_masked": clip(address.detail_info, _order.c.address_detail_masked),
        "address_hash": clip(address.hash_code, _order.c.address_hash),
        "uses_virtual_number": address.use_tel_number == 1,
        "deliveries": msgspec.to_builtins(detail.delivery_info.delivery_product_info),
        "customer_notes": detail.ext_info.customer_notes,
        "merchant_notes": detail.ext_info.merchant_notes,
        "order_scene": detail.ext_info.order_scene,
        "address_change": _address_change(detail.delivery_info),
        "open_aftersale_count": (
            order.aftersale_detail.on_aftersale_order_cnt if order.aftersale_detail else 0
        ),
        "fetched_at": fetched_at,
        "created_at": now,
        "updated_at": now,
    }
    upsert = guarded_upsert(conn.dialect.name, _order, ("store_id", "order_id"), tuple(values))
    order_pk = (await conn.execute(upsert, values)).scalar_one_or_none()
    if order_pk is None:
        return None
    await conn.execute(_delete_lines, {"order_pk": order_pk})
    lines = [
        {
            "order_pk": order_pk,
            "position": position,
            "product_id": product.product_id,
            "sku_id": product.sku_id,
            "title": clip(product.title, _line.c.title),
            "thumb_img": clip(product.thumb_img, _line.c.thumb_img),
            "sku_cnt": product.sku_cnt,
            "sale_price": product.sale_price,
            "real_price": product.real_price,
            "on_aftersale_sku_cnt": product.on_aftersale_sku_cnt,
            "finish_aftersale_sku_cnt": product.finish_aftersale_sku_cnt,
        }
        for position, product in enumerate(detail.product_infos)
    ]
    if lines:
        await conn.execute(_insert_lines, lines)
    await note_order(
        conn, store_id=store_id, order_pk=int(order_pk), buyer_id=buyer_id, pay_time=values["pay_time"]
    )
    await record(
        conn,
        OrderChanged(
            store_id=store_id,
            origin=origin,
            order_pk=int(order_pk),
            order_id=order.order_id,
            buyer_id=buyer_id,
            status=order.status,
            previous_status=previous,
        ),
    )
    for event in order_triggers(previous, order.status):  # in this transaction: see desk.rules.triggers
        await record_trigger(
            conn, store_id=store_id, event=event, payload={"order_pk": int(order_pk)}, origin=origin
        )
    return int(order_pk)


def _address_change(delivery: DeliveryInfo) -> dict[str, Any] | None:
    """The buyer's pending request for another address (as masked as the platform sends it)."""
    review = delivery.address_under_review
    if review is None:
        return None
    return {
        "user_name": review.user_name,
        "tel_number": review.tel_number,
        "region": " ".join(p for p in (review.province_name, review.city_name, review.county_name) if p),
        "detail": review.detail_info,
        "applied_at": delivery.address_apply_time,
    }


async def order_with_buyer(session: AsyncSession, user: User, order_id: str) -> tuple[Order, Buyer | None]:
    """The order with the platform's ``order_id`` in ``user``'s stores, and its buyer.

    Raises:
        NotFoundException: when there is no such order in the stores ``user`` may see.
    """
    order = await get_scoped(session, Order, user, Order.order_id == order_id)
    buyer = await session.get(Buyer, order.buyer_id) if order.buyer_id is not None else None
    return order, buyer
