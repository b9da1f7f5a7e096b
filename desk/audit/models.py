"""The ``audit_entry`` table."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from desk.db import Base, BigId, utcnow

__all__ = ["AuditEntry", "Outcome"]


class Outcome(enum.StrEnum):
    PENDING = "pending"
    """Asked of the platform; not answered yet."""
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUSED = "refused"
    """Refused by the desk before reaching the platform (wrong status, already handled …)."""


class AuditEntry(Base):
    """One action: who (a user, a rule, the desk), what, on which order or after-sale, why, and
    how it ended. Entries for platform actions are written when the action is asked and completed
    when its outbound command ends."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        sa.Index("ix_audit_entry_store_created", "store_id", "created_at"),
        sa.Index("ix_audit_entry_subject", "subject"),
        sa.Index("ix_audit_entry_command", "command_id"),
        sa.Index("ix_audit_entry_actor", "actor", "id"),  # the trail filtered by who acted
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("store.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(sa.String(40))
    """``user:<id>``, ``rule:<id>`` or ``system``."""
    actor_name: Mapped[str] = mapped_column(sa.String(64), default="")
    action: Mapped[str] = mapped_column(sa.String(40))
    """e.g. ``aftersale.approve``, ``order.address_change.accept``."""
    subject: Mapped[str] = mapped_column(sa.String(80))
    """``aftersale:<after_sale_order_id>`` or ``order:<order_id>``."""
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    """Why, as the actor said (a rule's name and the conditions that held, an agent's note)."""
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    outcome: Mapped[Outcome] = mapped_column(
        sa.Enum(Outcome, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        default=Outcome.PENDING,
    )
    error_code: Mapped[int | None] = mapped_column(default=None)
    error: Mapped[str] = mapped_column(sa.Text, default="")
    command_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("outbound_command.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)
