"""The ``outbound_command`` table: what the desk asked the platform to do, and what came of it."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from desk.db import Base, BigId, utcnow

__all__ = ["CommandState", "OutboundCommand"]


class CommandState(enum.StrEnum):
    QUEUED = "queued"
    """Stored; waiting for its (next) try. A command retried after a platform outage is here too."""
    SENDING = "sending"
    """Claimed by a worker, which is calling the platform."""
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    """The platform refused it (``error_code``), or it could not be done after every retry."""


class OutboundCommand(Base):
    """One change asked of the platform: a reply to a buyer, an after-sale decision …

    ``idempotency_key`` is unique per store: the same key given twice (a double click, a client's
    retry) finds the first command instead of making a second. For calls the platform itself
    de-duplicates (``commkf/sendmsg``'s ``request_id``) the key is passed on to it.
    """

    __tablename__ = "outbound_command"
    __table_args__ = (
        sa.UniqueConstraint("store_id", "idempotency_key"),
        # The queue: only unfinished commands, in claim order (as for platform_event).
        sa.Index(
            "ix_outbound_command_due",
            "id",
            postgresql_where=sa.text("state IN ('queued', 'sending')"),
            sqlite_where=sa.text("state IN ('queued', 'sending')"),
        ),
        sa.Index("ix_outbound_command_subject", "subject"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("store.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    idempotency_key: Mapped[str] = mapped_column(sa.String(80))
    payload: Mapped[dict[str, Any]] = mapped_column()
    subject: Mapped[str] = mapped_column(sa.String(80), default="")
    """What it acts on, e.g. ``message:12`` or ``aftersale:7``: pages look commands up by it."""
    origin: Mapped[str] = mapped_column(sa.String(40), default="system")
    """``user:<id>``, ``rule:<id>`` or ``system``: who asked."""
    created_by_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("user_account.id", ondelete="SET NULL"), default=None
    )
    state: Mapped[CommandState] = mapped_column(
        sa.Enum(CommandState, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        default=CommandState.QUEUED,
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(sa.Text, default=None)
    error_code: Mapped[int | None] = mapped_column(default=None)
    """The platform's errcode when it refused the command."""
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """What the platform answered on success (e.g. the sent message's ``msg_id``)."""
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)
