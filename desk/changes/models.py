"""The ``change_event`` table: every change event, in the order it was recorded."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from desk.db import Base, BigId, utcnow

__all__ = ["ChangeEvent"]


class ChangeEvent(Base):
    """One change event, written in the transaction of the change it describes.

    Its id orders events and is the SSE event id a page resumes from after a dropped connection.
    Rows are kept for ``DESK_EVENT_RETENTION_DAYS``: long enough for any page to catch up and for
    rules and metrics to read them.
    """

    __tablename__ = "change_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("store.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(sa.String(40))
    origin: Mapped[str] = mapped_column(sa.String(40), default="platform")
    payload: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
