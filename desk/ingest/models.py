"""Platform pushes as they arrived, and where each one is in being applied."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from desk.db import Base, BigId, utcnow

__all__ = ["EventSource", "EventState", "KfCursor", "PlatformEvent", "PushHour"]


class EventSource(enum.StrEnum):
    CHANNELS = "channels"
    WECOM = "wecom"


class EventState(enum.StrEnum):
    PENDING = "pending"
    """Stored and acknowledged; waiting for (another) try."""
    PROCESSING = "processing"
    """Claimed by a worker until ``claimed_until``; reclaimed after that if the worker died."""
    DONE = "done"
    PARKED = "parked"
    """Failed ``worker_max_attempts`` times; shown to admins with its error and a replay button."""
    IGNORED = "ignored"
    """An event type desk does not act on (stored and logged, never an error)."""


def _state_enum() -> sa.Enum:
    return sa.Enum(EventState, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


def _partial_index(name: str, *columns: str, where: str, unique: bool = False) -> sa.Index:
    """An index over the rows matching ``where`` only, on PostgreSQL and SQLite alike."""
    return sa.Index(
        name, *columns, unique=unique, postgresql_where=sa.text(where), sqlite_where=sa.text(where)
    )


class PlatformEvent(Base):
    """One push from the platform, stored before it is acknowledged.

    ``dedup_key`` is unique per store (or per corp for WeCom pushes), so the platform's retries of
    the same push insert nothing. ``payload`` is the decrypted message exactly as received.
    """

    __tablename__ = "platform_event"
    __table_args__ = (
        # Every index here is paid for by every push on the hot path, so each is as small as it
        # can be: partial indexes hold only the rows their queries look for.
        _partial_index(
            "uq_platform_event_store_dedup",
            "store_id",
            "dedup_key",
            unique=True,
            where="store_id IS NOT NULL",
        ),
        _partial_index(
            "uq_platform_event_corp_dedup", "corp_id", "dedup_key", unique=True, where="corp_id IS NOT NULL"
        ),
        # The queue proper: only unfinished events, in claim order. Small however many events are
        # kept, and scanned in id order so a claim stops after one batch.
        _partial_index("ix_platform_event_due", "id", where="state IN ('pending', 'processing')"),
        # What the admin page lists: parked events, newest first.
        _partial_index("ix_platform_event_parked", "id", where="state = 'parked'"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[EventSource] = mapped_column(
        sa.Enum(EventSource, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    store_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("store.id", ondelete="CASCADE"))
    corp_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("wecom_corp.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(sa.String(64))
    dedup_key: Mapped[str] = mapped_column(sa.String(200))
    payload: Mapped[str] = mapped_column(sa.Text)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    state: Mapped[EventState] = mapped_column(_state_enum(), default=EventState.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(sa.Text, default=None)
    applied_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class PushHour(Base):
    """How many pushes a store's URL received in one hour, and when the latest came.

    Kept by the ingest writer with each batch it commits (one upsert per store), so the store
    page tells whether pushes arrive without counting a day of stored events on every load.
    """

    __tablename__ = "push_hour"

    store_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("store.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[dt.datetime] = mapped_column(primary_key=True)
    """The hour's start (UTC)."""
    pushes: Mapped[int] = mapped_column(default=0)
    last_received_at: Mapped[dt.datetime]


class KfCursor(Base):
    """The ``next_cursor`` of WeCom kf ``sync_msg`` per kf account, so no message is read twice."""

    __tablename__ = "kf_cursor"

    corp_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("wecom_corp.id", ondelete="CASCADE"), primary_key=True
    )
    open_kfid: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    cursor: Mapped[str] = mapped_column(sa.String(255), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
