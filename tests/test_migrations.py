"""The schema the migrations build is exactly the one the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from desk.app import metadata
from desk.migrate import include_name
from desk.runtime import Runtime


async def test_models_and_migrations_agree(runtime: Runtime) -> None:
    def diff(connection):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": include_name}
        )
        return compare_metadata(context, metadata)

    async with runtime.db.engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == [], f"models and migrations disagree; write a migration: {differences}"
