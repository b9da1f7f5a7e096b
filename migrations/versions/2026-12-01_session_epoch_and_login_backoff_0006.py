"""session epoch on users; login back-off counters

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 00:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing users start at epoch 0, which is also what sessions from before this carry.
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_epoch", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "backoff_counter",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("blocked_until", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_backoff_counter")),
    )
    with op.batch_alter_table("backoff_counter", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_backoff_counter_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("backoff_counter", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_backoff_counter_expires_at"))
    op.drop_table("backoff_counter")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("session_epoch")
