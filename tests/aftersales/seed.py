"""Rows a 一货一址 test starts from, written in bulk: SKUs a store has sold, its return addresses."""

from __future__ import annotations

import secrets

import sqlalchemy as sa

from desk.aftersales.models import MerchantAddress
from desk.db import utcnow
from desk.orders.models import Order, OrderLine
from desk.runtime import Runtime


async def sold(runtime: Runtime, store_id: int, lines: list[tuple[str, str]]) -> None:
    """One order of ``store_id`` with a line per ``(product_id, sku_id)``: SKUs the desk has seen."""
    now = utcnow()
    async with runtime.db.session() as session:
        order_pk = (
            await session.execute(
                sa.insert(Order.__table__).returning(Order.__table__.c.id),
                {
                    "store_id": store_id,
                    "order_id": str(secrets.randbelow(10**18) + 10**18),
                    "status": 20,
                    "create_time": now,
                    "update_time": now,
                    "fetched_at": now,
                    "deliveries": [],
                    "created_at": now,
                    "updated_at": now,
                },
            )
        ).scalar_one()
        if lines:
            await session.execute(
                sa.insert(OrderLine.__table__),
                [
                    {"order_pk": order_pk, "position": n, "product_id": product, "sku_id": sku}
                    for n, (product, sku) in enumerate(lines)
                ],
            )


async def warehouses(
    runtime: Runtime, store_id: int, address_ids: list[str], *, default: str = "", returns: bool = True
) -> None:
    """Synced merchant addresses of ``store_id`` (return addresses unless ``returns`` is False)."""
    now = utcnow()
    async with runtime.db.session() as session:
        await session.execute(
            sa.insert(MerchantAddress.__table__),
            [
                {
                    "store_id": store_id,
                    "address_id": address_id,
                    "name": f"仓库{address_id}",
                    "receiver": "王仓管",
                    "phone": "0571-88886666",
                    "region": "浙江省 杭州市 余杭区",
                    "detail": f"文一西路 {address_id} 号",
                    "is_return": returns,
                    "is_default_return": address_id == default,
                    "synced_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for address_id in address_ids
            ],
        )
