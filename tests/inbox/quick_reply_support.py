"""Buyers, their chats and orders for the quick reply tests, written through the real services
(filing a buyer message, storing an order as ``order/get`` answers it)."""

from __future__ import annotations

import itertools

import sqlalchemy as sa

from desk.db import utcnow
from desk.inbox.filing import record_buyer_message
from desk.inbox.models import Channel, Conversation
from desk.orders.models import Buyer
from desk.orders.services import save_buyer, save_order
from desk.platform.channels_types import (
    ChannelsOrder,
    DeliveryInfo,
    DeliveryProductInfo,
    OrderDetail,
    OrderProduct,
)
from desk.runtime import Runtime

T0 = 1_764_547_200  # 2025-12-01 00:00 UTC
_ids = itertools.count(1)


def parcel(waybill_id: str, courier: str = "顺丰速运", at: int = T0 + 3600) -> DeliveryProductInfo:
    return DeliveryProductInfo(
        waybill_id=waybill_id, delivery_id="SF", delivery_name=courier, delivery_time=at
    )


def channels_order(
    order_id: str, openid: str, *, created: int = T0, parcels: list[DeliveryProductInfo] | None = None
) -> ChannelsOrder:
    return ChannelsOrder(
        order_id=order_id,
        status=30 if parcels else 20,
        create_time=created,
        update_time=created + 60,
        openid=openid,
        order_detail=OrderDetail(
            product_infos=[OrderProduct(product_id="p1", sku_id="s1", title="冲锋衣", sku_cnt=1)],
            delivery_info=DeliveryInfo(delivery_product_info=parcels or []),
        ),
    )


async def save_orders(runtime: Runtime, store_id: int, *orders: ChannelsOrder) -> None:
    async with runtime.db.transaction() as conn:
        for order in orders:
            await save_order(conn, store_id, order, utcnow())


async def buyer_writes(
    runtime: Runtime,
    store_id: int,
    openid: str = "o_buyer",
    *,
    nickname: str = "",
    linked: bool = True,
    text: str = "在吗？",
) -> int:
    """A buyer of ``store_id`` writes; the conversation's id. ``linked``: the chat knows the buyer."""
    async with runtime.db.transaction() as conn:
        buyer_id = await save_buyer(conn, store_id, openid) if linked else None
        if buyer_id is not None and nickname:
            await conn.execute(sa.update(Buyer).where(Buyer.id == buyer_id).values(nickname=nickname))
        await record_buyer_message(
            conn,
            store_id=store_id,
            channel=Channel.COMMKF,
            peer_id=openid,
            buyer_id=buyer_id,
            platform_msg_id=f"m{next(_ids)}",
            msg_type="text",
            text=text,
            payload={},
            sent_at=utcnow(),
        )
        return (
            await conn.execute(
                sa.select(Conversation.id).where(
                    Conversation.store_id == store_id, Conversation.peer_id == openid
                )
            )
        ).scalar_one()
