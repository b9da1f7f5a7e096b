"""The ``rule`` and ``rule_version`` tables: rules live in the database, every save a new version."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from desk.db import Base, BigId, TimestampMixin, utcnow

__all__ = ["RuleRow", "RuleRun", "RuleTrigger", "RuleVersion", "TriggerState"]


class RuleRow(TimestampMixin, Base):
    """A rule as it stands now (``body`` is the rule's Struct as builtins, as in its file).

    ``enabled`` and ``priority`` are copies of the body's, kept as columns so that the engine and
    the rules list can filter and sort without decoding every rule.
    """

    __tablename__ = "rule"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rule_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    version: Mapped[int] = mapped_column(default=1)
    file: Mapped[str] = mapped_column(sa.String(120), default="rules.toml")
    """The file it came from (``desk rules export`` writes it back there), and its place in it."""
    position: Mapped[int] = mapped_column(default=0)
    enabled: Mapped[bool] = mapped_column(default=False)
    priority: Mapped[int] = mapped_column(default=100)
    body: Mapped[dict[str, Any]] = mapped_column(default=dict)


class RuleVersion(Base):
    """One saved version of a rule (append-only: what an automated action cites)."""

    __tablename__ = "rule_version"
    __table_args__ = (sa.UniqueConstraint("rule_pk", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rule_pk: Mapped[int] = mapped_column(BigId, sa.ForeignKey("rule.id", ondelete="CASCADE"))
    version: Mapped[int]
    body: Mapped[dict[str, Any]] = mapped_column(default=dict)
    saved_by: Mapped[str] = mapped_column(sa.String(64), default="")
    """Who saved it: ``cli``, ``defaults``, or the admin's ``user:<id>``."""
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TriggerState:
    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    PARKED = "parked"


class RuleTrigger(Base):
    """A trigger waiting for the rule engine: written in the transaction of the change that caused
    it, so no rule misses an after-sale because a process died; claimed and evaluated once."""

    __tablename__ = "rule_trigger"
    __table_args__ = (
        sa.Index(
            "ix_rule_trigger_due",
            "next_attempt_at",
            postgresql_where=sa.text("state IN ('pending', 'processing')"),
            sqlite_where=sa.text("state IN ('pending', 'processing')"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    store_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("store.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(sa.String(40))
    """The trigger's name (``aftersale.created`` …)."""
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """The ids to read the facts by (``aftersale_pk``, ``wait_seconds`` …)."""
    origin: Mapped[str] = mapped_column(sa.String(40), default="platform")
    state: Mapped[str] = mapped_column(sa.String(16), default=TriggerState.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(sa.Text, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RuleRun(Base):
    """A rule that matched an event: which version, the conditions as seen, each action's outcome."""

    __tablename__ = "rule_run"
    __table_args__ = (
        sa.Index("ix_rule_run_rule_created", "rule_id", "created_at"),
        sa.Index("ix_rule_run_store_rule_created", "store_id", "rule_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    trigger_pk: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("rule_trigger.id", ondelete="SET NULL"), default=None
    )
    store_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("store.id", ondelete="CASCADE"))
    rule_id: Mapped[str] = mapped_column(sa.String(64))
    rule_version: Mapped[int]
    event: Mapped[str] = mapped_column(sa.String(40))
    subject: Mapped[str] = mapped_column(sa.String(80), default="")
    conditions: Mapped[list[Any]] = mapped_column(default=list)
    """Every predicate checked: path, held, the value seen."""
    actions: Mapped[list[Any]] = mapped_column(default=list)
    """Each action with its outcome (``done``, ``failed``, ``skipped``, ``superseded``) and detail."""
    outcome: Mapped[str] = mapped_column(sa.String(16))
    """``done`` (every action done), ``partial``, ``failed`` or ``fuse`` (held back by the fuse)."""
    approvals: Mapped[int] = mapped_column(default=0)
    """Auto-approvals this run made (what the per-store hourly fuse counts)."""
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
