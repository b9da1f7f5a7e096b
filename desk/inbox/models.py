"""Conversations with buyers and the messages in them."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from desk.db import Base, BigId, TimestampMixin, utcnow

__all__ = ["Channel", "Conversation", "Delivery", "Message", "Sender"]


class Channel(enum.StrEnum):
    COMMKF = "commkf"
    """The store's own customer-service API (自研客服, pushes to the store's URL)."""
    WECOM_KF = "wecom_kf"
    """WeCom 微信客服, read with ``kf/sync_msg``."""


class Sender(enum.StrEnum):
    BUYER = "buyer"
    AGENT = "agent"
    AUTO = "auto"
    """Rules, welcome messages, bots: they do not close a consultation."""
    SYSTEM = "system"
    NOTE = "note"
    """An agent's internal note: shown to colleagues, never sent to the buyer."""


class Delivery(enum.StrEnum):
    """Where a message the desk sends stands (None for messages that arrived)."""

    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


def _str_enum(cls: type[enum.StrEnum]) -> sa.Enum:
    return sa.Enum(cls, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class Conversation(TimestampMixin, Base):
    """All messages between one buyer and one store over one channel.

    ``peer_id`` is the buyer's openid (commkf) or ``open_kfid/external_userid`` (WeCom kf).
    """

    __tablename__ = "conversation"
    __table_args__ = (
        sa.UniqueConstraint("store_id", "channel", "peer_id"),
        sa.Index("ix_conversation_store_last_message", "store_id", "last_message_at"),  # latest chats
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("store.id", ondelete="CASCADE"))
    buyer_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("buyer.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[Channel] = mapped_column(_str_enum(Channel))
    peer_id: Mapped[str] = mapped_column(sa.String(200))
    last_message_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_buyer_message_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    waiting_since: Mapped[dt.datetime | None] = mapped_column(default=None, index=True)
    """The first buyer message no human has answered yet; None when nobody waits."""
    assignee_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )


class Message(Base):
    """One message. Incoming ones carry the platform's id, which makes redelivery harmless."""

    __tablename__ = "message"
    __table_args__ = (
        sa.UniqueConstraint("conversation_id", "platform_msg_id"),
        sa.Index("ix_message_conversation_sent", "conversation_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("conversation.id", ondelete="CASCADE"))
    store_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("store.id", ondelete="CASCADE"))
    sender: Mapped[Sender] = mapped_column(_str_enum(Sender))
    platform_msg_id: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    msg_type: Mapped[str] = mapped_column(sa.String(32), default="text")
    text: Mapped[str] = mapped_column(sa.Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sent_at: Mapped[dt.datetime]
    author_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    delivery: Mapped[Delivery | None] = mapped_column(_str_enum(Delivery), default=None)
    command_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("outbound_command.id", ondelete="SET NULL"), default=None
    )
    """The command sending it (messages the desk sends)."""
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
