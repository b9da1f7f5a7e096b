"""Apply and check Alembic migrations, for ``desk db upgrade``, ``desk demo`` and the tests."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import msgspec
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy.ext.asyncio import AsyncEngine

from desk.paths import MIGRATIONS_DIR

__all__ = [
    "AppliedMigration",
    "SchemaOutOfDateError",
    "alembic_config",
    "current_revision",
    "head_revision",
    "include_name",
    "require_head",
    "upgrade",
    "upgrade_async",
]


def alembic_config(database_url: str) -> Config:
    """An Alembic config built in code, so no ``alembic.ini`` has to sit at the top level."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "%%(year)d-%%(month).2d-%%(day).2d_%%(slug)s_%%(rev)s")
    config.set_main_option("timezone", "UTC")
    config.attributes["database_url"] = database_url
    return config


class AppliedMigration(msgspec.Struct, frozen=True):
    """One migration :func:`upgrade` ran: its revision id and its message."""

    revision: str
    message: str


def include_name(name: str | None, type_: str, _parent_names: Mapping[str, str | None]) -> bool:
    """Whether Alembic compares the schema object ``name`` with the models.

    The search indexes (``desk.inbox.search``) are built by their migration alone: SQLAlchemy
    can describe neither SQLite's FTS5 table (nor the shadow tables it keeps, all named
    ``<table>_fts…``) nor PostgreSQL's trigram GIN indexes (``ix_…_trgm``).
    """
    if name is None:
        return True
    if type_ == "table":
        return "_fts" not in name
    if type_ == "index":
        return not name.endswith("_trgm")
    return True


def upgrade(database_url: str, revision: str = "head") -> list[AppliedMigration]:
    """Bring the database at ``database_url`` up to ``revision``, returning the migrations run
    (oldest first; empty when it was already there). Blocking: call from sync code."""
    config = alembic_config(database_url)
    applied: list[AppliedMigration] = []
    config.attributes["applied"] = applied  # migrations/env.py appends each step it runs
    command.upgrade(config, revision)
    return applied


async def upgrade_async(database_url: str, revision: str = "head") -> list[AppliedMigration]:
    """:func:`upgrade` from async code (Alembic's env runs its own event loop, so use a thread)."""
    return await asyncio.to_thread(upgrade, database_url, revision)


def head_revision() -> str | None:
    """The newest revision in ``migrations/``."""
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


def _is_known(revision: str) -> bool:
    try:
        return ScriptDirectory.from_config(alembic_config("")).get_revision(revision) is not None
    except CommandError:
        return False


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None when it was never migrated."""

    def read(connection: sa.Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(read)


async def require_head(engine: AsyncEngine) -> None:
    """Raise :class:`SchemaOutOfDateError` unless the database is at the newest revision.

    Serving on an unmigrated database would fail on the first query with an error no operator
    can act on; this names the fix instead.
    """
    current, head = await current_revision(engine), head_revision()
    if current == head:
        return
    if current is None:
        raise SchemaOutOfDateError(f"the database is not migrated (desk needs {head}): run `desk db upgrade`")
    if not _is_known(current):
        raise SchemaOutOfDateError(
            f"the database is at revision {current}, which this version of desk does not know "
            "(a newer desk migrated it): run that version, or upgrade this one"
        )
    raise SchemaOutOfDateError(
        f"the database is at revision {current} but desk needs {head}: run `desk db upgrade`"
    )


class SchemaOutOfDateError(RuntimeError):
    """The database schema is older (or newer) than this version of desk."""
