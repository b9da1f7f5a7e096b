"""The ``rule`` and ``rule_version`` tables: rules live in the database, every save a new version."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from desk.db import Base, BigId, TimestampMixin, utcnow

__all__ = ["RuleRow", "RuleVersion"]


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
