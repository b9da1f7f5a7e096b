"""After-sale requests (售后单), as last read from the platform (``getaftersaleorder``)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from desk.db import Base, BigId, TimestampMixin

__all__ = ["AfterSale"]


class AfterSale(TimestampMixin, Base):
    """One after-sale request: ``type`` REFUND (仅退款), RETURN (退货退款) or EXCHANGE (换货)."""

    __tablename__ = "aftersale"
    __table_args__ = (
        sa.UniqueConstraint("store_id", "after_sale_order_id"),
        sa.Index("ix_aftersale_store_created", "store_id", "create_time"),  # a store's latest requests
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("store.id", ondelete="CASCADE"))
    after_sale_order_id: Mapped[str] = mapped_column(sa.String(32))
    order_id: Mapped[str] = mapped_column(sa.String(32), index=True)
    buyer_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("buyer.id", ondelete="SET NULL"), index=True
    )
    openid: Mapped[str] = mapped_column(sa.String(128), default="")
    status: Mapped[str] = mapped_column(sa.String(48))
    type: Mapped[str] = mapped_column(sa.String(16))
    product_id: Mapped[str] = mapped_column(sa.String(32), default="")
    sku_id: Mapped[str] = mapped_column(sa.String(32), default="")
    count: Mapped[int] = mapped_column(default=1)
    refund_amount: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    refund_reason: Mapped[int] = mapped_column(default=0)
    reason: Mapped[str] = mapped_column(sa.String(64), default="")
    reason_text: Mapped[str] = mapped_column(sa.String(255), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    receive_product: Mapped[bool] = mapped_column(default=False)
    return_waybill_id: Mapped[str] = mapped_column(sa.String(64), default="")
    return_delivery_id: Mapped[str] = mapped_column(sa.String(32), default="")
    return_delivery_name: Mapped[str] = mapped_column(sa.String(64), default="")
    merchant_deadline: Mapped[dt.datetime | None] = mapped_column(default=None)
    """When the merchant's time to act runs out (the platform sends seconds left)."""
    create_time: Mapped[dt.datetime]
    update_time: Mapped[dt.datetime]
    fetched_at: Mapped[dt.datetime]
