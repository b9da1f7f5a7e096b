"""Conversations with buyers and the messages in them."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from desk.db import Base, BigId, TimestampMixin, utcnow

__all__ = [
    "AgentPresence",
    "Channel",
    "Conversation",
    "ConversationStatus",
    "Delivery",
    "Message",
    "Presence",
    "QuickReply",
    "Sender",
]


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


class ConversationStatus(enum.StrEnum):
    OPEN = "open"
    """Being worked on, or waiting for a human (``waiting_since`` is set then)."""
    PENDING = "pending"
    """The agent waits for the buyer (a photo, a waybill); a buyer message reopens it."""
    RESOLVED = "resolved"
    """Done; a buyer message reopens it."""


class Presence(enum.StrEnum):
    ONLINE = "online"
    """Takes new conversations, up to their capacity."""
    AWAY = "away"
    """Keeps their conversations, takes no new ones."""
    OFFLINE = "offline"
    """Takes none; their unanswered conversations go back to the pool after a grace period."""


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
        # The queue's first part: who waits for a human, nearest to the deadline first.
        sa.Index(
            "ix_conversation_store_deadline",
            "store_id",
            "deadline_at",
            postgresql_where=sa.text("deadline_at IS NOT NULL"),
            sqlite_where=sa.text("deadline_at IS NOT NULL"),
        ),
        sa.Index("ix_conversation_assignee_status", "assignee_id", "status"),
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
    deadline_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    """When the reply deadline of the waiting buyer runs out (``waiting_since`` + the deadline)."""
    assignee_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    assigned_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    status: Mapped[ConversationStatus] = mapped_column(
        _str_enum(ConversationStatus), default=ConversationStatus.OPEN
    )
    last_human_reply_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(default=None)


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


class AgentPresence(Base):
    """An agent's availability for new conversations, and what assignment needs to be fair."""

    __tablename__ = "agent_presence"

    user_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[Presence] = mapped_column(_str_enum(Presence), default=Presence.OFFLINE)
    manual: Mapped[bool] = mapped_column(default=True)
    """Chosen by the agent (kept), or set by the desk when their pages went quiet (undone when
    they come back)."""
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    """When a page of the agent last told us it is open (live stream heartbeats)."""
    last_assigned_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    """Round-robin among agents equally loaded: the one assigned longest ago goes first."""
    capacity: Mapped[int] = mapped_column(default=10)
    """Most open conversations assigned at once."""


class QuickReply(TimestampMixin, Base):
    """A saved answer (话术): shared by a store's agents (``store_id``) or an agent's own (``owner_id``)."""

    __tablename__ = "quick_reply"
    __table_args__ = (
        sa.CheckConstraint("(store_id IS NULL) <> (owner_id IS NULL)", name="shared_or_personal"),
        # One title per set: agents pick and search by title, and imports match rows by it.
        sa.Index("ix_quick_reply_store_title", "store_id", "title", unique=True),
        sa.Index("ix_quick_reply_owner_title", "owner_id", "title", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("store.id", ondelete="CASCADE"), default=None
    )
    owner_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("user_account.id", ondelete="CASCADE"), default=None
    )
    title: Mapped[str] = mapped_column(sa.String(40))
    """What the picker shows and searches, e.g. ``发货时间``."""
    text: Mapped[str] = mapped_column(sa.Text)
    """May hold variables: {买家昵称} {订单号} {物流单号} (see :mod:`desk.inbox.quick_replies`)."""
    uses: Mapped[int] = mapped_column(default=0)
