"""The ``timer`` table."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from desk.db import Base, BigId, utcnow

__all__ = ["Timer", "TimerState"]


class TimerState:
    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    PARKED = "parked"


class Timer(Base):
    """One scheduled action: ``kind`` (a registered handler) with its ``payload``, due at
    ``next_attempt_at`` (the queue column: the due time, or a retry's)."""

    __tablename__ = "timer"
    __table_args__ = (
        sa.Index(
            "ix_timer_due",
            "next_attempt_at",
            postgresql_where=sa.text("state IN ('pending', 'processing')"),
            sqlite_where=sa.text("state IN ('pending', 'processing')"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(120), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    store_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("store.id", ondelete="CASCADE"))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    due_at: Mapped[dt.datetime]
    state: Mapped[str] = mapped_column(sa.String(16), default=TimerState.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime]
    claimed_by: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(sa.Text, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
