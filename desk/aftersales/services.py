"""Keeping after-sale requests in step with the platform.

Like orders, after-sales are written only from ``getaftersaleorder`` answers and only over an
older (or equal) ``update_time``, so redelivered or reordered events leave the newest state.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from desk.accounts.models import User
from desk.accounts.scoping import get_scoped
from desk.aftersales.models import AfterSale, Complaint
from desk.changes.events import AfterSaleChanged
from desk.changes.record import record
from desk.db import clip, epoch_to_utc, guarded_upsert, insert_for, utcnow
from desk.metrics.aftersales import note_aftersale
from desk.orders.models import Buyer
from desk.orders.services import save_buyer
from desk.platform.channels_types import ChannelsAfterSale
from desk.rules.triggers import aftersale_trigger, record_trigger

__all__ = ["aftersale_with_buyer", "save_aftersale", "save_complaint"]

_aftersale = AfterSale.__table__
_complaint = Complaint.__table__
COMPLAINT_AWAITING_MERCHANT = 100
COMPLAINT_RESPONSE_TIME = dt.timedelta(hours=48)
_current = (
    sa.select(_aftersale.c.status)
    .where(
        _aftersale.c.store_id == sa.bindparam("store_id"),
        _aftersale.c.after_sale_order_id == sa.bindparam("after_sale_order_id"),
    )
    .with_for_update()  # two workers storing the same request take turns (see save_order)
)


async def save_aftersale(
    conn: AsyncConnection,
    store_id: int,
    aftersale: ChannelsAfterSale,
    fetched_at: dt.datetime,
    *,
    origin: str = "platform",
) -> int | None:
    """Store what ``getaftersaleorder`` answered at ``fetched_at``, with its buyer.

    The platform reports the merchant's remaining time as seconds left (``deadline``); it is kept
    as the instant it runs out, counted from when the answer was fetched. An answer older than
    the stored row is dropped (None returned); otherwise ``AfterSaleChanged`` is recorded (with
    the status before, None for a new request), a rule trigger queued when the request is new or
    its status moved, and the row's primary key returned.
    """
    now = utcnow()
    previous = (
        await conn.execute(
            _current, {"store_id": store_id, "after_sale_order_id": aftersale.after_sale_order_id}
        )
    ).scalar_one_or_none()
    return_info = aftersale.return_info
    buyer_id = await save_buyer(conn, store_id, aftersale.openid, aftersale.unionid)
    values: dict[str, Any] = {
        "store_id": store_id,
        "after_sale_order_id": aftersale.after_sale_order_id,
        "buyer_id": buyer_id,
        "order_id": aftersale.order_id,
        "openid": aftersale.openid,
        "status": aftersale.status,
        "type": aftersale.type,
        "product_id": aftersale.product_info.product_id,
        "sku_id": aftersale.product_info.sku_id,
        "count": aftersale.product_info.count,
        "refund_amount": aftersale.refund_info.amount,
        "refund_reason": aftersale.refund_info.refund_reason,
        "reason": clip(aftersale.reason, _aftersale.c.reason),
        "reason_text": clip(aftersale.reason_text, _aftersale.c.reason_text),
        "description": aftersale.details.desc,
        "media_ids": list(aftersale.details.media_id_list),
        "complaint_id": clip(aftersale.complaint_id, _aftersale.c.complaint_id),
        "receive_product": aftersale.details.receive_product,
        "return_waybill_id": clip(return_info.waybill_id, _aftersale.c.return_waybill_id),
        "return_delivery_id": clip(return_info.delivery_id, _aftersale.c.return_delivery_id),
        "return_delivery_name": clip(return_info.delivery_name, _aftersale.c.return_delivery_name),
        "merchant_deadline": (
            fetched_at + dt.timedelta(seconds=aftersale.deadline) if aftersale.deadline > 0 else None
        ),
        "create_time": epoch_to_utc(aftersale.create_time),
        "update_time": epoch_to_utc(aftersale.update_time),
        "fetched_at": fetched_at,
        "created_at": now,
        "updated_at": now,
    }
    upsert = guarded_upsert(conn.dialect.name, _aftersale, ("store_id", "after_sale_order_id"), tuple(values))
    pk = (await conn.execute(upsert, values)).scalar_one_or_none()
    if pk is None:
        return None
    await note_aftersale(
        conn,
        store_id=store_id,
        aftersale_pk=int(pk),
        kind=aftersale.type,
        status=aftersale.status,
        requested_at=values["create_time"],
        updated_at=values["update_time"],
        origin=origin,
    )
    await record(
        conn,
        AfterSaleChanged(
            store_id=store_id,
            origin=origin,
            aftersale_pk=int(pk),
            after_sale_order_id=aftersale.after_sale_order_id,
            order_id=aftersale.order_id,
            buyer_id=buyer_id,
            kind=aftersale.type,
            status=aftersale.status,
            previous_status=previous,
        ),
    )
    if (event := aftersale_trigger(previous, aftersale.status)) is not None:
        # In this transaction: the rules see every after-sale that was stored (see desk.rules.triggers).
        await record_trigger(
            conn, store_id=store_id, event=event, payload={"aftersale_pk": int(pk)}, origin=origin
        )
    return int(pk)


async def save_complaint(
    conn: AsyncConnection,
    store_id: int,
    *,
    complaint_id: str,
    after_sale_order_id: str,
    order_id: str,
    status: int,
    event_time: dt.datetime,
) -> None:
    """Keep a complaint's newest status (pushes can arrive out of order: an older one is dropped).

    The platform names no deadline in the push; while the complaint awaits the merchant (status
    100), the desk counts :data:`COMPLAINT_RESPONSE_TIME` from the push [U: the rules for dispute
    responses were not in the documents found; keep it configurable when they are].
    """
    deadline = event_time + COMPLAINT_RESPONSE_TIME if status == COMPLAINT_AWAITING_MERCHANT else None
    now = utcnow()
    insert = insert_for(conn.dialect.name, _complaint)
    await conn.execute(
        insert.values(
            store_id=store_id,
            complaint_id=complaint_id,
            after_sale_order_id=after_sale_order_id,
            order_id=order_id,
            status=status,
            merchant_deadline=deadline,
            event_time=event_time,
            created_at=now,
            updated_at=now,
        ).on_conflict_do_update(
            index_elements=[_complaint.c.store_id, _complaint.c.complaint_id],
            set_={
                "status": insert.excluded.status,
                "merchant_deadline": insert.excluded.merchant_deadline,
                "event_time": insert.excluded.event_time,
                "updated_at": insert.excluded.updated_at,
            },
            where=_complaint.c.event_time <= insert.excluded.event_time,
        )
    )


async def aftersale_with_buyer(
    session: AsyncSession, user: User, after_sale_order_id: str
) -> tuple[AfterSale, Buyer | None]:
    """The after-sale with the platform's id in ``user``'s stores, and its buyer.

    Raises:
        NotFoundException: when there is no such after-sale in the stores ``user`` may see.
    """
    aftersale = await get_scoped(
        session, AfterSale, user, AfterSale.after_sale_order_id == after_sale_order_id
    )
    buyer = await session.get(Buyer, aftersale.buyer_id) if aftersale.buyer_id is not None else None
    return aftersale, buyer
