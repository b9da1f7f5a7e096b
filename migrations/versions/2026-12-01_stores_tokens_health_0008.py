"""stores: token API choice, connection health, unique names; shared access tokens

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 09:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Store names become unique: older duplicates keep their name with " #<id>" appended
    # (the first of each name keeps it as it is).
    op.execute(
        "UPDATE store SET name = substr(name, 1, 40) || ' #' || CAST(id AS TEXT) "
        "WHERE id NOT IN (SELECT MIN(id) FROM store GROUP BY name)"
    )
    with op.batch_alter_table("store", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("token_api", sa.String(length=16), server_default="stable", nullable=False)
        )
        batch_op.add_column(sa.Column("connection_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("connection_error_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_store_name"), ["name"])

    with op.batch_alter_table("wecom_corp", schema=None) as batch_op:
        batch_op.add_column(sa.Column("connection_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("connection_error_at", sa.DateTime(timezone=True), nullable=True))

    op.create_table(
        "platform_token",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("token_enc", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("refresh_at", sa.Float(), nullable=False),
        sa.Column("lock_owner", sa.String(length=96), nullable=True),
        sa.Column("lock_until", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_platform_token")),
    )


def downgrade() -> None:
    op.drop_table("platform_token")
    with op.batch_alter_table("wecom_corp", schema=None) as batch_op:
        batch_op.drop_column("connection_error_at")
        batch_op.drop_column("connection_error")
    with op.batch_alter_table("store", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_store_name"), type_="unique")
        batch_op.drop_column("connection_error_at")
        batch_op.drop_column("connection_error")
        batch_op.drop_column("token_api")
