"""The metrics tables: facts (append-only), hourly rollups, and the state that turns changes into facts."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from desk.db import Base, BigId

__all__ = ["AfterSaleClock", "MetricFact", "MetricFactPending", "MetricRollup", "OpenConsultation"]


class MetricFact(Base):
    """One thing that happened, as the figures count it; never updated, never deleted by the desk.

    ``key`` names the event it records (``opened:<conversation>:<message>`` …) and is unique, so
    recording the same change twice (a redelivered push, a retried transaction) writes one fact.
    ``local_day`` / ``local_hour`` are the store's calendar at ``at`` when the fact was written: a
    fact carries everything a rollup needs, so rollups can be recomputed from facts alone.
    """

    __tablename__ = "metric_fact"
    __table_args__ = (sa.Index("ix_metric_fact_store_kind_day", "store_id", "kind", "local_day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(80), unique=True)
    store_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("store.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    """A :class:`desk.metrics.facts.FactKind` value."""
    at: Mapped[dt.datetime]
    """The instant the fact counts at (a consultation counts when it opened)."""
    local_day: Mapped[dt.date] = mapped_column(sa.Date)
    local_hour: Mapped[int] = mapped_column(sa.SmallInteger)
    agent_id: Mapped[int | None] = mapped_column(BigId, default=None)
    """The answering agent (no foreign key: facts outlive deleted users)."""
    buyer_id: Mapped[int | None] = mapped_column(BigId, default=None)
    seconds: Mapped[int | None] = mapped_column(sa.Integer, default=None)
    """A duration: first response, or after-sale completion (negotiation excluded)."""
    in_window: Mapped[bool] = mapped_column(default=True)
    in_time: Mapped[bool] = mapped_column(default=False)
    automatic: Mapped[bool] = mapped_column(default=False)
    detail: Mapped[str] = mapped_column(sa.String(16), default="")
    """The after-sale type (``REFUND`` / ``RETURN`` / ``EXCHANGE``) for after-sale facts."""


class MetricFactPending(Base):
    """A fact not yet added to the rollups (see :func:`desk.metrics.rollups.apply_pending`).

    Rollup rows are shared by every change of a store's hour; upserting them in the transaction
    of each change would make unrelated transactions (a buyer's message, an agent's reply, an
    order) wait on each other in any order — and deadlock. The change writes its fact and this
    row (inserts, contended by nobody); an applier adds pending facts to the rollups moments later.
    """

    __tablename__ = "metric_fact_pending"

    fact_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("metric_fact.id", ondelete="CASCADE"), primary_key=True
    )


class MetricRollup(Base):
    """Counts and sums per store, local day and hour, and agent (``agent_id`` 0: the whole store).

    Only additive quantities live here, so a fact adds to its row with one upsert and a period's
    figure is a sum over rows. Percentiles are read from facts (see :mod:`desk.metrics.figures`).
    """

    __tablename__ = "metric_rollup"

    store_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("store.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    hour: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    agent_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    consultations: Mapped[int] = mapped_column(default=0)
    answered: Mapped[int] = mapped_column(default=0)
    answered_in_time: Mapped[int] = mapped_column(default=0)
    response_s: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    outside_consultations: Mapped[int] = mapped_column(default=0)
    outside_answered: Mapped[int] = mapped_column(default=0)
    outside_in_time: Mapped[int] = mapped_column(default=0)
    aftersales: Mapped[int] = mapped_column(default=0)
    refund_only_done: Mapped[int] = mapped_column(default=0)
    refund_only_s: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    return_refund_done: Mapped[int] = mapped_column(default=0)
    return_refund_s: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    completed_automatically: Mapped[int] = mapped_column(default=0)
    aftersales_handled: Mapped[int] = mapped_column(default=0)
    """Completed after-sales a person decided (on an agent's row: that agent, the last to act)."""
    orders: Mapped[int] = mapped_column(default=0)


class OpenConsultation(Base):
    """A consultation waiting for its first human reply (one at most per conversation)."""

    __tablename__ = "metric_open_consultation"

    conversation_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("conversation.id", ondelete="CASCADE"), primary_key=True
    )
    store_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("store.id", ondelete="CASCADE"))
    opened_at: Mapped[dt.datetime]
    in_window: Mapped[bool] = mapped_column(default=True)
    opening_key: Mapped[str | None] = mapped_column(sa.String(80), default=None)
    """The key of the fact that counted its opening; None when it was reopened (its opening
    was counted before, by the fact of the consultation a failed reply did not answer)."""


class AfterSaleClock(Base):
    """The running completion clock of one after-sale request (see :mod:`desk.metrics.aftersales`)."""

    __tablename__ = "metric_aftersale_clock"

    aftersale_pk: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("aftersale.id", ondelete="CASCADE"), primary_key=True
    )
    store_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("store.id", ondelete="CASCADE"))
    requested_at: Mapped[dt.datetime]
    paused_since: Mapped[dt.datetime | None] = mapped_column(default=None)
    paused_s: Mapped[int] = mapped_column(default=0)
    rule_acted: Mapped[bool] = mapped_column(default=False)
    human_acted: Mapped[bool] = mapped_column(default=False)
    handled_by: Mapped[int | None] = mapped_column(BigId, default=None)
    """The desk user who last acted on it (no foreign key: facts outlive deleted users)."""
    completed: Mapped[bool] = mapped_column(default=False)
