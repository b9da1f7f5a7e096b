"""The schema the migrations build is exactly the one the models describe."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from desk import migrate
from desk.accounts.models import Role, User
from desk.app import metadata
from desk.db import utcnow
from desk.inbox.models import Conversation, Message
from desk.inbox.search import search
from desk.migrate import include_name
from desk.runtime import Runtime
from desk.settings import Settings


async def test_models_and_migrations_agree(runtime: Runtime) -> None:
    def diff(connection):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": include_name}
        )
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


SEARCH_INDEX_REVISION = "0007"


@pytest.fixture
async def fresh_database_url(settings: Settings, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database beside the test run's own, on the same footprint."""
    if settings.is_sqlite:
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        return
    url = make_url(settings.database_url)
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    name = f"{url.database}_fresh"
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


async def test_the_search_index_covers_messages_stored_before_it_and_goes_away_cleanly(
    fresh_database_url: str,
) -> None:
    config = migrate.alembic_config(fresh_database_url)
    before = ScriptDirectory.from_config(config).get_revision(SEARCH_INDEX_REVISION).down_revision
    admin = User(id=1, username="root", role=Role.ADMIN)
    await migrate.upgrade_async(fresh_database_url, before)
    engine = create_async_engine(fresh_database_url, poolclass=sa.pool.NullPool)

    async def store_message(text: str) -> int:
        async with engine.begin() as conn:
            store_id = await conn.scalar(sa.text("SELECT id FROM store LIMIT 1"))
            if store_id is None:  # a store as the schema before the search index knew it
                await conn.execute(INSERT_STORE_0001, {"key": "k1", "name": "店", "appid": "wx1"})
                store_id = await conn.scalar(sa.text("SELECT id FROM store LIMIT 1"))
            conversation_id = await conn.scalar(sa.select(Conversation.id).limit(1)) or await conn.scalar(
                sa.insert(Conversation.__table__)
                .values(store_id=store_id, channel="commkf", peer_id="o_1")
                .returning(Conversation.id)
            )
            return await conn.scalar(
                sa.insert(Message.__table__)
                .values(
                    conversation_id=conversation_id,
                    store_id=store_id,
                    sender="buyer",
                    text=text,
                    sent_at=utcnow(),
                )
                .returning(Message.id)
            )

    async def found(q: str) -> list[int | None]:
        async with AsyncSession(engine) as session:
            hits = await search(session, admin, q)
        assert isinstance(hits, list)
        return [hit.message_id for hit in hits]

    try:
        old = await store_message("升级之前就有的退款消息")
        await migrate.upgrade_async(fresh_database_url)
        assert await found("之前就有") == [old]
        await asyncio.to_thread(command.downgrade, config, before)
        between = await store_message("降级以后写的退款消息")  # no trigger left behind to trip over
        await migrate.upgrade_async(fresh_database_url)
        assert await found("退款消息") == [between, old]
    finally:
        await engine.dispose()
