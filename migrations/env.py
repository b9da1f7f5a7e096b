"""Alembic environment: async engine, desk's metadata, types rendered portably."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

from desk.app import metadata
from desk.migrate import include_name

config = context.config


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Our TypeDecorators (e.g. UTCDateTime) are rendered as the plain column type they store,
    # so migration files never import desk and stay valid when the package changes.
    if type_ != "type":
        return False
    if isinstance(obj, sa.types.TypeDecorator):
        return f"sa.{obj.impl!r}"
    if isinstance(obj, sa.JSON) and "postgresql" in obj._variant_mapping:
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return "sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')"
    return False


def record_applied(*, step: Any, **_: Any) -> None:
    # desk.migrate.upgrade passes a list to report which migrations ran (`desk db upgrade` prints it).
    applied = config.attributes.get("applied")
    if applied is not None and step.is_upgrade:
        from desk.migrate import AppliedMigration

        applied.append(AppliedMigration(step.up_revision_id, (step.up_revision.doc or "").strip()))


def _configure(connection: sa.Connection | None = None, url: str | None = None) -> None:
    context.configure(
        connection=connection,
        url=url,
        target_metadata=metadata,
        render_item=render_item,
        render_as_batch=True,  # SQLite can only ALTER tables by copying them
        compare_type=True,
        on_version_apply=record_applied,
        include_name=include_name,  # the search indexes live in migrations only
    )


def run_migrations_offline() -> None:
    _configure(url=config.attributes["database_url"])
    with context.begin_transaction():
        context.run_migrations()


def _run_sync(connection: sa.Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    engine = create_async_engine(config.attributes["database_url"], poolclass=sa.pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_sync)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
