"""Buyers and their orders, as last read from the platform (``order/get``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from desk.db import Base, BigId, TimestampMixin, utcnow

__all__ = ["Buyer", "BuyerTag", "Order", "OrderLine"]


class Buyer(TimestampMixin, Base):
    """A buyer as one store sees them (openids are per store); ``unionid`` links stores when known."""

    __tablename__ = "buyer"
    __table_args__ = (sa.UniqueConstraint("store_id", "openid"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("store.id", ondelete="CASCADE"))
    openid: Mapped[str] = mapped_column(sa.String(128))
    unionid: Mapped[str | None] = mapped_column(sa.String(128), index=True, default=None)
    nickname: Mapped[str] = mapped_column(sa.String(64), default="")


class BuyerTag(Base):
    """A label on a buyer (尺码, 物流, VIP, an RFM segment …) that the inbox filters by and rules test.

    ``source`` says who put it there: ``agent``, ``rule:<id>`` or ``segment`` (computed).
    """

    __tablename__ = "buyer_tag"
    __table_args__ = (sa.Index("ix_buyer_tag_tag", "tag"),)

    buyer_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("buyer.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(40), default="agent")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Order(TimestampMixin, Base):
    """An order (订单). Money in integer fen; names, phone and street arrive masked and stay so."""

    __tablename__ = "store_order"
    __table_args__ = (
        sa.UniqueConstraint("store_id", "order_id"),
        sa.Index("ix_store_order_store_created", "store_id", "create_time"),  # a store's latest orders
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("store.id", ondelete="CASCADE"))
    order_id: Mapped[str] = mapped_column(sa.String(32), index=True)
    """The platform's order id (digits). Indexed alone too: the inbox finds orders by id or id
    prefix across every store a user sees (:mod:`desk.inbox.search`)."""
    buyer_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("buyer.id", ondelete="SET NULL"), index=True
    )
    openid: Mapped[str] = mapped_column(sa.String(128), default="")
    status: Mapped[int] = mapped_column(default=0)
    create_time: Mapped[dt.datetime]
    update_time: Mapped[dt.datetime]
    pay_time: Mapped[dt.datetime | None] = mapped_column(default=None)
    product_price: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    order_price: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    freight: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    discounted_price: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    receiver_name: Mapped[str] = mapped_column(sa.String(64), default="")
    receiver_tel_masked: Mapped[str] = mapped_column(sa.String(32), default="")
    province: Mapped[str] = mapped_column(sa.String(32), default="")
    city: Mapped[str] = mapped_column(sa.String(32), default="")
    county: Mapped[str] = mapped_column(sa.String(32), default="")
    address_detail_masked: Mapped[str] = mapped_column(sa.String(255), default="")
    address_hash: Mapped[str] = mapped_column(sa.String(64), default="")
    uses_virtual_number: Mapped[bool] = mapped_column(default=False)
    deliveries: Mapped[list[Any]] = mapped_column(default=list)
    customer_notes: Mapped[str] = mapped_column(sa.Text, default="")
    merchant_notes: Mapped[str] = mapped_column(sa.Text, default="")
    order_scene: Mapped[int] = mapped_column(default=0)
    open_aftersale_count: Mapped[int] = mapped_column(default=0)
    address_change: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    """The new address the buyer asked for (masked, with ``applied_at``) while the merchant has
    not answered; None when no change is pending."""
    fetched_at: Mapped[dt.datetime]
    """When desk last read this order from the platform (reconciliation skips fresher copies)."""

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.position", lazy="selectin"
    )


class OrderLine(Base):
    """One SKU line of an order."""

    __tablename__ = "order_line"
    __table_args__ = (sa.UniqueConstraint("order_pk", "position"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_pk: Mapped[int] = mapped_column(BigId, sa.ForeignKey("store_order.id", ondelete="CASCADE"))
    position: Mapped[int]
    # Both indexed: a 一货一址 import checks its ids against the SKUs and products a store sold.
    product_id: Mapped[str] = mapped_column(sa.String(32), index=True)
    sku_id: Mapped[str] = mapped_column(sa.String(32), index=True)
    title: Mapped[str] = mapped_column(sa.String(255), default="")
    thumb_img: Mapped[str] = mapped_column(sa.String(512), default="")
    sku_cnt: Mapped[int] = mapped_column(default=1)
    sale_price: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    real_price: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    on_aftersale_sku_cnt: Mapped[int] = mapped_column(default=0)
    finish_aftersale_sku_cnt: Mapped[int] = mapped_column(default=0)

    order: Mapped[Order] = relationship(back_populates="lines")
