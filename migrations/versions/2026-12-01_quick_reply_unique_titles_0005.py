"""quick replies: one title per shared or personal set

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 18:00:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The unique indexes lead with the same column as the plain ones they replace, so lookups by
    # store or owner keep their index. NULLs are distinct: a store's set and a user's set never clash.
    with op.batch_alter_table("quick_reply", schema=None) as batch_op:
        batch_op.drop_index("ix_quick_reply_store")
        batch_op.drop_index("ix_quick_reply_owner")
        batch_op.create_index("ix_quick_reply_store_title", ["store_id", "title"], unique=True)
        batch_op.create_index("ix_quick_reply_owner_title", ["owner_id", "title"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("quick_reply", schema=None) as batch_op:
        batch_op.drop_index("ix_quick_reply_owner_title")
        batch_op.drop_index("ix_quick_reply_store_title")
        batch_op.create_index("ix_quick_reply_owner", ["owner_id"], unique=False)
        batch_op.create_index("ix_quick_reply_store", ["store_id"], unique=False)
