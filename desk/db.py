"""Engine, sessions and the declarative base shared by every domain's models.

One codebase runs on two databases: SQLite (embedded, tests, demo) and PostgreSQL (production).
Column types here smooth over their differences — UTC-aware datetimes on both, JSONB on
PostgreSQL and JSON text on SQLite, 64-bit ids that still autoincrement on SQLite.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from desk.settings import Settings

__all__ = [
    "JSON",
    "Base",
    "BigId",
    "Database",
    "TimestampMixin",
    "UTCDateTime",
    "create_engine",
    "insert_for",
    "redact_url",
    "utcnow",
]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a real 64-bit column.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def utcnow() -> dt.datetime:
    """The current instant, timezone-aware UTC (the only kind of datetime desk stores)."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.TypeDecorator[dt.datetime]):
    """A timestamp stored as UTC and always read back timezone-aware.

    SQLite has no time zones and returns naive values; without this, comparing a value read from
    SQLite with one read from PostgreSQL (or with ``utcnow()``) raises.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: desk stores timezone-aware UTC instants only")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention (stable names in migrations)."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        dt.datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }
    if TYPE_CHECKING:
        # Every model here maps one Table (SQLAlchemy types ``__table__`` as any FromClause), so
        # services can hand it to insert/update/delete and read its columns as Columns.
        __table__: ClassVar[sa.Table]


class TimestampMixin:
    """``created_at`` / ``updated_at`` columns maintained by the ORM."""

    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def insert_for(dialect_name: str, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT with ``on_conflict_do_nothing`` / ``on_conflict_do_update`` for the dialect named.

    Both dialects spell upserts the same way (``ON CONFLICT … DO …``, ``excluded``), so services
    write one upsert and get the right statement class for the connection they run on
    (``insert_for(conn.dialect.name, table)``).
    """
    module = postgresql if dialect_name == "postgresql" else sqlite
    return module.insert(table)


def redact_url(url: str) -> str:
    """The database URL with its password hidden, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web process read while the worker writes; synchronous=FULL keeps the
    # "stored before acknowledged" promise across a power cut, not just a process crash.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_engine(settings: Settings) -> AsyncEngine:
    """An async engine for ``settings.database_url`` tuned for each footprint."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # No pre-ping: it costs a round trip on every checkout, a fifth of the push path's time.
    # A connection that died (database restarted) fails its first statement instead, SQLAlchemy
    # then discards the whole pool, and that push answers 503 and is retried by the platform.
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_recycle=3600,
    )


class Database:
    """The engine and a session factory, for work outside a request (worker, CLI, tests)."""

    def __init__(self, settings: Settings, engine: AsyncEngine | None = None) -> None:
        self.settings = settings
        self.engine = engine or create_engine(settings)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits when the block ends normally and rolls back on error."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    async def ping(self) -> None:
        """Raise if the database cannot be reached."""
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
