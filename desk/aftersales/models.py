"""After-sale requests (售后单), as last read from the platform (``getaftersaleorder``)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from desk.db import Base, BigId, TimestampMixin, utcnow

__all__ = [
    "AfterSale",
    "Complaint",
    "Interception",
    "InterceptionState",
    "MerchantAddress",
    "ReturnAddressBinding",
]


class AfterSale(TimestampMixin, Base):
    """One after-sale request: ``type`` REFUND (仅退款), RETURN (退货退款) or EXCHANGE (换货)."""

    __tablename__ = "aftersale"
    __table_args__ = (
        sa.UniqueConstraint("store_id", "after_sale_order_id"),
        sa.Index("ix_aftersale_store_created", "store_id", "create_time"),  # a store's latest requests
        # 扫码退单: the warehouse finds a returned parcel's after-sale by its waybill.
        sa.Index("ix_aftersale_return_waybill", "return_waybill_id"),
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
    media_ids: Mapped[list[Any]] = mapped_column(default=list)
    """The buyer's evidence (``details.media_id_list``)."""
    complaint_id: Mapped[str] = mapped_column(sa.String(32), default="")
    create_time: Mapped[dt.datetime]
    update_time: Mapped[dt.datetime]
    fetched_at: Mapped[dt.datetime]


class MerchantAddress(TimestampMixin, Base):
    """One of a store's merchant addresses (``merchant/address/*``), as last synced.

    ``address_id`` is the platform's; only addresses marked ``recv_addr`` take returns.
    """

    __tablename__ = "merchant_address"
    __table_args__ = (sa.UniqueConstraint("store_id", "address_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("store.id", ondelete="CASCADE"))
    address_id: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(64), default="")
    receiver: Mapped[str] = mapped_column(sa.String(64), default="")
    phone: Mapped[str] = mapped_column(sa.String(32), default="")
    region: Mapped[str] = mapped_column(sa.String(128), default="")
    """Province, city and county, space-separated."""
    detail: Mapped[str] = mapped_column(sa.String(255), default="")
    is_return: Mapped[bool] = mapped_column(default=False)
    """``recv_addr``: returns may be sent here."""
    is_default_return: Mapped[bool] = mapped_column(default=False)
    synced_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ReturnAddressBinding(TimestampMixin, Base):
    """一货一址: which return address a SKU, a product or (``scope='store'``) the store uses.

    When a return is approved the most specific binding wins: the SKU's, then the product's,
    then the store default.
    """

    __tablename__ = "return_address_binding"
    __table_args__ = (
        sa.UniqueConstraint("store_id", "scope", "ref"),
        sa.CheckConstraint("scope IN ('sku', 'product', 'store')", name="scope"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("store.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(sa.String(8))
    ref: Mapped[str] = mapped_column(sa.String(32), default="")
    """The SKU id or product id; empty for the store default."""
    address_id: Mapped[str] = mapped_column(sa.String(32))


class InterceptionState(enum.StrEnum):
    REQUESTED = "requested"
    """Asked of the courier; the parcel may still be on its way to the buyer."""
    CONFIRMED = "confirmed"
    """The courier stopped the parcel: the refund can be approved."""
    FAILED = "failed"
    """The parcel could not be stopped (delivered, say): negotiate with the buyer instead."""
    CANCELLED = "cancelled"


class Interception(TimestampMixin, Base):
    """订单拦截: stopping a shipped parcel whose buyer wants a refund (the platform has no call for
    it; the courier does it, through the pluggable hook in :mod:`desk.aftersales.interception`)."""

    __tablename__ = "interception"
    __table_args__ = (sa.Index("ix_interception_store_state", "store_id", "state"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("store.id", ondelete="CASCADE"))
    order_id: Mapped[str] = mapped_column(sa.String(32))
    after_sale_order_id: Mapped[str] = mapped_column(sa.String(32), default="")
    waybill_id: Mapped[str] = mapped_column(sa.String(64), default="")
    delivery_id: Mapped[str] = mapped_column(sa.String(32), default="")
    state: Mapped[InterceptionState] = mapped_column(
        sa.Enum(
            InterceptionState, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]
        ),
        default=InterceptionState.REQUESTED,
    )
    reason: Mapped[str] = mapped_column(sa.String(255), default="")
    courier_reference: Mapped[str] = mapped_column(sa.String(64), default="")
    """What the courier's system called the request, when it answered one."""
    requested_by_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("user_account.id", ondelete="SET NULL"), default=None
    )
    resolved_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class Complaint(TimestampMixin, Base):
    """纠纷/投诉: a buyer's complaint to the platform about an after-sale, with its deadline."""

    __tablename__ = "complaint"
    __table_args__ = (
        sa.UniqueConstraint("store_id", "complaint_id"),
        # The open complaints, the soonest deadline first.
        sa.Index("ix_complaint_status_deadline", "status", "merchant_deadline"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("store.id", ondelete="CASCADE"))
    complaint_id: Mapped[str] = mapped_column(sa.String(32))
    after_sale_order_id: Mapped[str] = mapped_column(sa.String(32), default="")
    order_id: Mapped[str] = mapped_column(sa.String(32), default="")
    status: Mapped[int] = mapped_column(default=0)
    """``complaint_status``: 100 awaiting the merchant … 112 mediated, 116 closed (spec §3)."""
    merchant_deadline: Mapped[dt.datetime | None] = mapped_column(default=None)
    event_time: Mapped[dt.datetime]
    """When the platform announced this status (pushes can arrive out of order)."""
