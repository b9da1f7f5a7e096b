"""metrics: per-store assessment window and reply deadline; facts, hourly rollups, their state

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 21:10:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("store") as batch:
        batch.add_column(
            sa.Column("assessment_start_min", sa.Integer(), server_default="480", nullable=False)
        )
        batch.add_column(sa.Column("assessment_end_min", sa.Integer(), server_default="1440", nullable=False))
        batch.add_column(sa.Column("reply_deadline_s", sa.Integer(), server_default="180", nullable=False))
    op.create_table(
        "metric_fact",
        sa.Column("id", _id, nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("store_id", _id, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("local_hour", sa.SmallInteger(), nullable=False),
        sa.Column("agent_id", _id, nullable=True),
        sa.Column("buyer_id", _id, nullable=True),
        sa.Column("seconds", sa.Integer(), nullable=True),
        sa.Column("in_window", sa.Boolean(), nullable=False),
        sa.Column("in_time", sa.Boolean(), nullable=False),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["store.id"], name=op.f("fk_metric_fact_store_id_store"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_fact")),
        sa.UniqueConstraint("key", name=op.f("uq_metric_fact_key")),
    )
    op.create_index("ix_metric_fact_store_kind_day", "metric_fact", ["store_id", "kind", "local_day"])
    op.create_table(
        "metric_fact_pending",
        sa.Column("fact_id", _id, nullable=False),
        sa.ForeignKeyConstraint(
            ["fact_id"],
            ["metric_fact.id"],
            name=op.f("fk_metric_fact_pending_fact_id_metric_fact"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("fact_id", name=op.f("pk_metric_fact_pending")),
    )
    counts = [
        "consultations",
        "answered",
        "answered_in_time",
        "response_s",
        "outside_consultations",
        "outside_answered",
        "outside_in_time",
        "aftersales",
        "refund_only_done",
        "refund_only_s",
        "return_refund_done",
        "return_refund_s",
        "completed_automatically",
        "aftersales_handled",
        "orders",
    ]
    op.create_table(
        "metric_rollup",
        sa.Column("store_id", _id, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hour", sa.SmallInteger(), nullable=False),
        sa.Column("agent_id", _id, nullable=False),
        *[
            sa.Column(name, sa.BigInteger() if name.endswith("_s") else sa.Integer(), nullable=False)
            for name in counts
        ],
        sa.ForeignKeyConstraint(
            ["store_id"], ["store.id"], name=op.f("fk_metric_rollup_store_id_store"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("store_id", "day", "hour", "agent_id", name=op.f("pk_metric_rollup")),
    )
    op.create_table(
        "metric_open_consultation",
        sa.Column("conversation_id", _id, nullable=False),
        sa.Column("store_id", _id, nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("in_window", sa.Boolean(), nullable=False),
        sa.Column("opening_key", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_metric_open_consultation_conversation_id_conversation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["store.id"],
            name=op.f("fk_metric_open_consultation_store_id_store"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_metric_open_consultation")),
    )
    op.create_table(
        "metric_aftersale_clock",
        sa.Column("aftersale_pk", _id, nullable=False),
        sa.Column("store_id", _id, nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paused_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_s", sa.Integer(), nullable=False),
        sa.Column("rule_acted", sa.Boolean(), nullable=False),
        sa.Column("human_acted", sa.Boolean(), nullable=False),
        sa.Column("handled_by", _id, nullable=True),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["aftersale_pk"],
            ["aftersale.id"],
            name=op.f("fk_metric_aftersale_clock_aftersale_pk_aftersale"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["store.id"],
            name=op.f("fk_metric_aftersale_clock_store_id_store"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("aftersale_pk", name=op.f("pk_metric_aftersale_clock")),
    )


def downgrade() -> None:
    op.drop_table("metric_aftersale_clock")
    op.drop_table("metric_open_consultation")
    op.drop_table("metric_rollup")
    op.drop_table("metric_fact_pending")
    op.drop_index("ix_metric_fact_store_kind_day", table_name="metric_fact")
    op.drop_table("metric_fact")
    with op.batch_alter_table("store") as batch:
        batch.drop_column("reply_deadline_s")
        batch.drop_column("assessment_end_min")
        batch.drop_column("assessment_start_min")
