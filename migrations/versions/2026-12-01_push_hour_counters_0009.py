"""ingest: hourly push counters per store (the store page's connection line)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 19:40:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "push_hour",
        sa.Column("store_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pushes", sa.Integer(), nullable=False),
        sa.Column("last_received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["store.id"], name=op.f("fk_push_hour_store_id_store"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("store_id", "hour", name=op.f("pk_push_hour")),
    )
    # Count what is already stored, so the page does not start from nothing. SQLite keeps
    # timestamps as "YYYY-MM-DD HH:MM:SS.ffffff" text in UTC; PostgreSQL truncates natively.
    if op.get_bind().dialect.name == "postgresql":
        # In UTC, not the session's time zone (which may be half an hour off the hour).
        hour = "date_trunc('hour', received_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    else:
        hour = "substr(received_at, 1, 13) || ':00:00.000000'"
    # ``hour`` is one of the two fixed expressions above: no input reaches this statement.
    backfill = (
        "INSERT INTO push_hour (store_id, hour, pushes, last_received_at) "  # noqa: S608
        f"SELECT store_id, {hour}, count(*), max(received_at) FROM platform_event "
        f"WHERE store_id IS NOT NULL GROUP BY store_id, {hour}"
    )
    op.execute(backfill)


def downgrade() -> None:
    op.drop_table("push_hour")
