"""rules: durable triggers for the rule engine, and rule runs

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 21:10:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "rule_trigger",
        sa.Column("id", _ID, nullable=False),
        sa.Column("store_id", _ID, nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("payload", _JSON, nullable=False),
        sa.Column("origin", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["store.id"], name=op.f("fk_rule_trigger_store_id_store"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_trigger")),
    )
    with op.batch_alter_table("rule_trigger", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rule_trigger_due",
            ["next_attempt_at"],
            unique=False,
            postgresql_where=sa.text("state IN ('pending', 'processing')"),
            sqlite_where=sa.text("state IN ('pending', 'processing')"),
        )
    op.create_table(
        "rule_run",
        sa.Column("id", _ID, nullable=False),
        sa.Column("trigger_pk", _ID, nullable=True),
        sa.Column("store_id", _ID, nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("rule_version", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("conditions", _JSON, nullable=False),
        sa.Column("actions", _JSON, nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("approvals", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["store.id"], name=op.f("fk_rule_run_store_id_store"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["trigger_pk"],
            ["rule_trigger.id"],
            name=op.f("fk_rule_run_trigger_pk_rule_trigger"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_run")),
    )
    with op.batch_alter_table("rule_run", schema=None) as batch_op:
        batch_op.create_index("ix_rule_run_rule_created", ["rule_id", "created_at"], unique=False)
        batch_op.create_index(
            "ix_rule_run_store_rule_created", ["store_id", "rule_id", "created_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("rule_run")
    op.drop_table("rule_trigger")
