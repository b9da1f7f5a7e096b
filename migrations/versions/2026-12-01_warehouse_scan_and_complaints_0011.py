"""aftersales: find an after-sale by its return waybill (扫码退单); open complaints by deadline;
the audit trail by actor

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 21:00:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("aftersale", schema=None) as batch_op:
        batch_op.create_index("ix_aftersale_return_waybill", ["return_waybill_id"], unique=False)
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.create_index("ix_complaint_status_deadline", ["status", "merchant_deadline"], unique=False)

    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index("ix_audit_entry_actor", ["actor", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entry_actor")
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_index("ix_complaint_status_deadline")
    with op.batch_alter_table("aftersale", schema=None) as batch_op:
        batch_op.drop_index("ix_aftersale_return_waybill")
