"""Buyers, orders and messages written as the desk stores them, for the search tests."""

from __future__ import annotations

import datetime as dt
import itertools

import sqlalchemy as sa

from desk.db import utcnow
from desk.inbox.filing import record_buyer_message
from desk.inbox.models import Channel, Message, Sender
from desk.orders.models import Buyer, Order
from desk.runtime import Runtime
from desk.stores.models import Store

_ids = itertools.count(1)
START = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)


def at(minutes: int) -> dt.datetime:
    return START + dt.timedelta(minutes=minutes)


async def add_buyer(runtime: Runtime, store: Store, nickname: str = "", openid: str = "") -> int:
    openid = openid or f"o_buyer_{next(_ids)}"
    async with runtime.db.engine.begin() as conn:
        return int(
            (
                await conn.execute(
                    sa.insert(Buyer.__table__)
                    .values(
                        store_id=store.id,
                        openid=openid,
                        nickname=nickname,
                        created_at=utcnow(),
                        updated_at=utcnow(),
                    )
                    .returning(Buyer.__table__.c.id)
                )
            ).scalar_one()
        )


async def add_order(
    runtime: Runtime,
    store: Store,
    order_id: str,
    *,
    buyer_id: int | None,
    openid: str = "",
    created: dt.datetime = START,
    receiver_name: str = "",
) -> None:
    async with runtime.db.engine.begin() as conn:
        await conn.execute(
            sa.insert(Order.__table__).values(
                store_id=store.id,
                order_id=order_id,
                buyer_id=buyer_id,
                openid=openid,
                create_time=created,
                update_time=created,
                fetched_at=created,
                receiver_name=receiver_name,
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        )


async def buyer_says(
    runtime: Runtime,
    store: Store,
    text: str,
    *,
    peer: str,
    buyer_id: int | None = None,
    sent: dt.datetime = START,
) -> int:
    """File a buyer's message as the worker does; its id."""
    async with runtime.db.transaction() as conn:
        message_id = await record_buyer_message(
            conn,
            store_id=store.id,
            channel=Channel.COMMKF,
            peer_id=peer,
            buyer_id=buyer_id,
            platform_msg_id=f"m{next(_ids)}",
            msg_type="text",
            text=text,
            payload={},
            sent_at=sent,
        )
    assert message_id is not None
    return message_id


async def add_message(
    runtime: Runtime,
    conversation_id: int,
    store: Store,
    text: str,
    *,
    sender: Sender = Sender.AGENT,
    sent: dt.datetime = START,
    message_id: int | None = None,
) -> int:
    """Store a message directly (an agent's reply, a note, or one with a chosen id)."""
    values = {
        "conversation_id": conversation_id,
        "store_id": store.id,
        "sender": sender,
        "text": text,
        "payload": {},
        "sent_at": sent,
        "created_at": utcnow(),
    }
    if message_id is not None:
        values["id"] = message_id
    async with runtime.db.engine.begin() as conn:
        return int(
            (
                await conn.execute(
                    sa.insert(Message.__table__).values(**values).returning(Message.__table__.c.id)
                )
            ).scalar_one()
        )


async def conversation_of(runtime: Runtime, message_id: int) -> int:
    async with runtime.db.engine.connect() as conn:
        return int(
            (
                await conn.execute(
                    sa.select(Message.__table__.c.conversation_id).where(Message.__table__.c.id == message_id)
                )
            ).scalar_one()
        )
