"""message search index: trigram indexes (PostgreSQL), an FTS5 table (SQLite), order ids

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 09:00:00.000000+00:00

The inbox searches message text and buyer nicknames by substring, in Chinese as in Latin script
(see ``desk/inbox/search.py``). Word-based full-text search does not fit: Chinese has no spaces
between words. Both footprints index character trigrams instead:

- PostgreSQL: ``pg_trgm`` GIN indexes, which serve ``ILIKE '%…%'`` directly.
- SQLite: an FTS5 table with the ``trigram`` tokenizer (SQLite >= 3.34) over ``message.text``,
  stored as an *external content* table (it keeps no second copy of the text) and kept in step
  by triggers.

Neither can be described by SQLAlchemy models; ``desk.migrate.include_name`` keeps them out of
the models-versus-migrations comparison by their names (``*_fts*`` tables, ``ix_*_trgm`` indexes).

Beware on SQLite: a later migration that rebuilds the ``message`` table (``batch_alter_table``
copies and drops it) drops these triggers with it and must create them again.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER message_fts_insert AFTER INSERT ON message BEGIN
        INSERT INTO message_fts (rowid, text) VALUES (new.id, new.text);
    END
    """,
    # External content: FTS5 removes a row's trigrams only when told the exact old text.
    """
    CREATE TRIGGER message_fts_delete AFTER DELETE ON message BEGIN
        INSERT INTO message_fts (message_fts, rowid, text) VALUES ('delete', old.id, old.text);
    END
    """,
    # Only edits of the text itself; delivery-state updates (queued → sent) leave the index alone.
    """
    CREATE TRIGGER message_fts_update AFTER UPDATE OF text ON message BEGIN
        INSERT INTO message_fts (message_fts, rowid, text) VALUES ('delete', old.id, old.text);
        INSERT INTO message_fts (rowid, text) VALUES (new.id, new.text);
    END
    """,
)


def upgrade() -> None:
    # Order ids are searched exactly and by prefix, in every store at once (admins).
    op.create_index(op.f("ix_store_order_order_id"), "store_order", ["order_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # pg_trgm is a trusted extension (PostgreSQL >= 13): the database owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_message_text_trgm ON message USING gin (text gin_trgm_ops)")
        op.execute("CREATE INDEX ix_buyer_nickname_trgm ON buyer USING gin (nickname gin_trgm_ops)")
        return
    op.execute(
        "CREATE VIRTUAL TABLE message_fts USING fts5("
        "text, content='message', content_rowid='id', tokenize='trigram')"
    )
    for trigger in _SQLITE_TRIGGERS:
        op.execute(trigger)
    # Index the messages already stored.
    op.execute("INSERT INTO message_fts (message_fts) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_buyer_nickname_trgm")
        op.execute("DROP INDEX IF EXISTS ix_message_text_trgm")
        # The pg_trgm extension stays: other objects in the database may use it.
    else:
        for name in ("message_fts_update", "message_fts_delete", "message_fts_insert"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS message_fts")
    op.drop_index(op.f("ix_store_order_order_id"), table_name="store_order")
