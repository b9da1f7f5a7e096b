"""The schema the migrations build is exactly the one the models describe."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from desk import migrate
from desk.app import metadata
from desk.runtime import Runtime
from desk.settings import Settings


async def test_models_and_migrations_agree(runtime: Runtime) -> None:
    def diff(connection):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, metadata)

    async with runtime.db.engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == [], f"models and migrations disagree; write a migration: {differences}"


INSERT_STORE_0001 = sa.text(
    "INSERT INTO store (key, name, appid, appsecret_enc, token_enc, aes_key_enc, is_active, timezone,"
    " created_at, updated_at) VALUES (:key, :name, :appid, 'x', 'x', 'x', true, 'Asia/Shanghai',"
    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
)
"""A store row as revision 0001 knew it."""


@asynccontextmanager
async def fresh_database(tmp_path: Path, settings: Settings) -> AsyncIterator[str]:
    """An empty database of the run's footprint (an SQLite file, or a throwaway PostgreSQL one)."""
    if settings.is_sqlite:
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        return
    url = make_url(settings.database_url)
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    name = f"{url.database}_fresh_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


async def test_upgrading_gives_duplicate_store_names_their_own(tmp_path: Path, settings: Settings) -> None:
    async with fresh_database(tmp_path, settings) as url:
        await migrate.upgrade_async(url, "0001")
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                for n, name in enumerate(["旗舰店", "旗舰店", "户外店", "旗舰店"], start=1):
                    await conn.execute(
                        INSERT_STORE_0001, {"key": f"k{n}", "name": name, "appid": f"wx{n:016d}"}
                    )
            await migrate.upgrade_async(url)
            async with engine.connect() as conn:
                rows = (
                    await conn.execute(sa.text("SELECT id, name, token_api FROM store ORDER BY id"))
                ).all()
        finally:
            await engine.dispose()
    assert [(r.name, r.token_api) for r in rows] == [
        ("旗舰店", "stable"),
        (f"旗舰店 #{rows[1].id}", "stable"),
        ("户外店", "stable"),
        (f"旗舰店 #{rows[3].id}", "stable"),
    ]
