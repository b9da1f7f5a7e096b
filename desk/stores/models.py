"""Connected Channels stores and WeCom corps, with their credentials encrypted at rest."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from desk.db import Base, BigId, TimestampMixin

__all__ = ["Store", "WeComCorp"]


class Store(TimestampMixin, Base):
    """One Channels store (视频号小店).

    ``key`` is a random public slug that names the store in its push URL
    (``/webhooks/channels/{key}``) so that URLs do not reveal the appid or an enumerable id.
    The ``*_enc`` columns hold Fernet ciphertext (see :mod:`desk.stores.secrets`).
    """

    __tablename__ = "store"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    appid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    appsecret_enc: Mapped[str] = mapped_column(sa.Text)
    token_enc: Mapped[str] = mapped_column(sa.Text)
    aes_key_enc: Mapped[str] = mapped_column(sa.Text)
    is_active: Mapped[bool] = mapped_column(default=True)
    timezone: Mapped[str] = mapped_column(sa.String(64), default="Asia/Shanghai")
    # Reconciliation watermarks: everything updated before these instants has been compared.
    orders_synced_until: Mapped[dt.datetime | None] = mapped_column(default=None)
    aftersales_synced_until: Mapped[dt.datetime | None] = mapped_column(default=None)


class WeComCorp(TimestampMixin, Base):
    """A WeCom (企业微信) corp: its kf accounts and contact ways hand buyers to staff.

    Buyers who write through a WeCom kf account are filed under ``default_store_id``.
    """

    __tablename__ = "wecom_corp"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    corpid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    secret_enc: Mapped[str] = mapped_column(sa.Text)
    token_enc: Mapped[str] = mapped_column(sa.Text)
    aes_key_enc: Mapped[str] = mapped_column(sa.Text)
    default_store_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("store.id", ondelete="SET NULL"), default=None
    )
    is_active: Mapped[bool] = mapped_column(default=True)
