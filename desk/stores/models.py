"""Connected Channels stores and WeCom corps, with their credentials encrypted at rest."""

from __future__ import annotations

import datetime as dt
import enum

import msgspec
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from desk.db import Base, BigId, TimestampMixin
from desk.i18n import Message

__all__ = ["ConnectionHealthMixin", "PlatformToken", "Store", "TokenApi", "WeComCorp"]

_problem = msgspec.json.Decoder(Message)


class TokenApi(enum.StrEnum):
    """How a store's access tokens are fetched (stored as the value)."""

    STABLE = "stable"
    """``POST /cgi-bin/stable_token``, the default: fetching it again does not retire it, and
    the platform keeps it apart from the classic tokens other tools may fetch."""
    CLASSIC = "classic"
    """``GET /cgi-bin/token``: every fetch retires the previous token within five minutes; for
    merchants whose setup needs the classic token."""


class ConnectionHealthMixin:
    """Whether the platform accepts the account's credentials, as last seen (see
    :mod:`desk.stores.health`): ``connection_error`` holds the problem as an encoded
    :class:`~desk.i18n.Message` since ``connection_error_at``, and is empty while calls work."""

    connection_error: Mapped[str | None] = mapped_column(sa.Text, default=None)
    connection_error_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    @property
    def connection_problem(self) -> Message | None:
        """The recorded problem, ready to show in the reader's language."""
        if not self.connection_error:
            return None
        try:
            return _problem.decode(self.connection_error)
        except msgspec.DecodeError:  # written by hand or by another version: show it as it is
            return Message("stores.check.unknown", {"detail": self.connection_error[:200]})


class Store(ConnectionHealthMixin, TimestampMixin, Base):
    """One Channels store (视频号小店).

    ``key`` is a random public slug that names the store in its push URL
    (``/webhooks/channels/{key}``) so that URLs do not reveal the appid or an enumerable id.
    The ``*_enc`` columns hold Fernet ciphertext (see :mod:`desk.secret_box`). Names are
    unique: agents, filters and ``desk stores sync NAME`` tell stores apart by them.
    """

    __tablename__ = "store"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    appid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    appsecret_enc: Mapped[str] = mapped_column(sa.Text)
    token_enc: Mapped[str] = mapped_column(sa.Text)
    aes_key_enc: Mapped[str] = mapped_column(sa.Text)
    token_api: Mapped[str] = mapped_column(sa.String(16), default=TokenApi.STABLE, server_default="stable")
    """A :class:`TokenApi` value."""
    is_active: Mapped[bool] = mapped_column(default=True)
    timezone: Mapped[str] = mapped_column(sa.String(64), default="Asia/Shanghai")
    # The store score's reply-rate rules (design: reply-rate), kept per store because platforms
    # differ and the exact rule is unverified (spec §9): consultations opened between these
    # minutes of the local day count (08:00–24:00 by default; start > end wraps midnight) …
    assessment_start_min: Mapped[int] = mapped_column(default=480, server_default="480")
    assessment_end_min: Mapped[int] = mapped_column(default=1440, server_default="1440")
    # … and one answered by a human within this many seconds is answered in time.
    reply_deadline_s: Mapped[int] = mapped_column(default=180, server_default="180")
    # Reconciliation watermarks: everything updated before these instants has been compared.
    orders_synced_until: Mapped[dt.datetime | None] = mapped_column(default=None)
    aftersales_synced_until: Mapped[dt.datetime | None] = mapped_column(default=None)


class WeComCorp(ConnectionHealthMixin, TimestampMixin, Base):
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


class PlatformToken(Base):
    """An app's access token shared by every process through the database (when there is no
    Redis), with the lease that lets one process at a time refresh it (see
    :mod:`desk.stores.tokens`). Times are epoch seconds, as the token refresher counts them."""

    __tablename__ = "platform_token"

    key: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    """:func:`desk.platform.tokens.token_key`: the API, the appid or corpid, a secret fingerprint."""
    token_enc: Mapped[str | None] = mapped_column(sa.Text, default=None)
    expires_at: Mapped[float] = mapped_column(sa.Float, default=0.0)
    refresh_at: Mapped[float] = mapped_column(sa.Float, default=0.0)
    lock_owner: Mapped[str | None] = mapped_column(sa.String(96), default=None)
    lock_until: Mapped[float] = mapped_column(sa.Float, default=0.0)
