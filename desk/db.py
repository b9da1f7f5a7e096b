"""Engine, sessions and the declarative base shared by every domain's models.

One codebase runs on two databases: SQLite (embedded, tests, demo) and PostgreSQL (production).
Column types here smooth over their differences — UTC-aware datetimes on both, JSONB on
PostgreSQL and JSON text on SQLite, 64-bit ids that still autoincrement on SQLite.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from desk.settings import Settings

__all__ = [
    "JSON",
    "Base",
    "BigId",
    "Database",
    "PostCommit",
    "TimestampMixin",
    "UTCDateTime",
    "Work",
    "after_commit",
    "clip",
    "collects_callbacks",
    "create_engine",
    "dialect_name",
    "epoch_to_utc",
    "guarded_upsert",
    "insert_for",
    "is_newer",
    "log_round_failure",
    "redact_url",
    "rows_matched",
    "utcnow",
]

log = logging.getLogger(__name__)

Work = AsyncConnection | AsyncSession
"""A unit of work: the connection (worker, CLI) or ORM session (web request) a change is made in."""

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


def epoch_to_utc(seconds: int) -> dt.datetime:
    """A platform time (epoch seconds) as an aware UTC instant."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def clip(text: str, column: sa.Column[Any]) -> str:
    """``text`` cut to the column's length: display text longer than we store is not an error."""
    length = getattr(column.type, "length", None)
    return text[:length] if length else text


def is_newer(table: sa.Table, excluded: Any) -> sa.ColumnElement[bool]:
    """The upsert guard: the incoming answer is newer by ``update_time``, or as new and fetched
    later (the platform's times are whole seconds, so two changes can share one)."""
    return sa.or_(
        table.c.update_time < excluded.update_time,
        sa.and_(table.c.update_time == excluded.update_time, table.c.fetched_at <= excluded.fetched_at),
    )


@functools.cache
def guarded_upsert(
    dialect_name: str, table: sa.Table, keys: tuple[str, ...], columns: tuple[str, ...]
) -> sa.Insert:
    """``INSERT … ON CONFLICT (keys) DO UPDATE`` the other ``columns``, unless the stored row is
    newer (:func:`is_newer`); returns the row's id when written. Values are given when executing.

    Only ``columns`` are written, so columns other domains add to the table are left alone. Built
    once per table, columns and dialect: building an upsert costs more than running it, and this is
    the worker's hot path.
    """
    insert = insert_for(dialect_name, table)
    return insert.on_conflict_do_update(
        index_elements=[table.c[k] for k in keys],
        set_={name: insert.excluded[name] for name in columns if name not in (*keys, "created_at")},
        where=is_newer(table, insert.excluded),
    ).returning(table.c.id)


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
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction that commits when the block ends normally, after which
        the callbacks queued with :func:`after_commit` run (change events are published)."""
        async with self.engine.connect() as conn:
            with PostCommit.collect(conn) as pending:
                async with conn.begin():
                    yield conn
            pending.run()

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


# -- after commit ---------------------------------------------------------------------------------
#
# Some effects of a change must wait until it is committed: telling live pages and other
# processes about it (a page that re-reads before the commit sees the old state) and waking the
# worker for a command just stored. ``after_commit(work, callback)`` queues a callback on the
# unit of work; it runs once the transaction commits and is dropped if it rolls back.
#
# ORM sessions (web requests, whose transaction the SQLAlchemy plugin commits) are covered by
# session events. A bare connection has no such event after its commit, so code that commits a
# connection itself wraps the transaction in :meth:`PostCommit.collect`.

_CALLBACKS = "desk.after_commit"


class PostCommit:
    """The callbacks waiting for one connection's transaction (see :meth:`collect`)."""

    def __init__(self) -> None:
        self.callbacks: list[Callable[[], None]] = []

    def mark(self) -> int:
        """A point to go back to if a savepoint rolls back (see :meth:`rollback_to`)."""
        return len(self.callbacks)

    def rollback_to(self, mark: int) -> None:
        del self.callbacks[mark:]

    def run(self) -> None:
        callbacks, self.callbacks = self.callbacks, []
        for callback in callbacks:
            try:
                callback()
            except Exception:  # the commit stands; a failed notification must not undo it
                log.exception("after-commit callback %r failed", callback)

    @classmethod
    @contextmanager
    def collect(cls, conn: AsyncConnection) -> Iterator[PostCommit]:
        """Collect the callbacks queued on ``conn`` while the block runs.

        Wrap the whole transaction, and call :meth:`run` after it committed::

            async with engine.connect() as conn:
                with PostCommit.collect(conn) as pending:
                    async with conn.begin():
                        ...
                pending.run()

        ``conn.info`` belongs to the pooled DBAPI connection and outlives this checkout, so the
        list is always removed again, whatever happens.
        """
        pending = cls()
        conn.info[_CALLBACKS] = pending
        try:
            yield pending
        finally:
            conn.info.pop(_CALLBACKS, None)


def dialect_name(work: Work) -> str:
    """``postgresql`` or ``sqlite``: the database a unit of work runs on."""
    if isinstance(work, AsyncSession):
        return work.get_bind().dialect.name
    return work.dialect.name


def rows_matched(result: Any) -> int:
    """How many rows an UPDATE or DELETE matched (``rowcount`` of the cursor result it returns)."""
    return int(result.rowcount)


def collects_callbacks(work: Work) -> bool:
    """Whether :func:`after_commit` callbacks on ``work`` will run (sessions always; connections
    inside :meth:`PostCommit.collect`)."""
    return isinstance(work, AsyncSession) or _CALLBACKS in work.info


def after_commit(work: Work, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the unit of work ``work`` commits (never if it rolls back).

    Raises:
        RuntimeError: for a connection whose transaction is not wrapped in
            :meth:`PostCommit.collect` — the callback would otherwise never run.
    """
    if isinstance(work, AsyncSession):
        work.sync_session.info.setdefault(_CALLBACKS, []).append(callback)
        return
    pending = work.info.get(_CALLBACKS)
    if pending is None:
        raise RuntimeError("after_commit() on a connection outside PostCommit.collect()")
    pending.callbacks.append(callback)


@event.listens_for(Session, "after_commit")
def _run_session_callbacks(session: Session) -> None:
    pending = PostCommit()
    pending.callbacks = session.info.pop(_CALLBACKS, [])
    pending.run()


@event.listens_for(Session, "after_rollback")
def _drop_session_callbacks(session: Session) -> None:
    session.info.pop(_CALLBACKS, None)


def log_round_failure(logger: logging.Logger, what: str, exc: BaseException) -> None:
    """Log a background loop's failed round: one line for SQLite's transient "database is locked"
    (another process held the write lock past the busy timeout; the next round tries again), the
    traceback for anything else."""
    if isinstance(exc, sa.exc.OperationalError) and "database is locked" in str(exc.orig):
        logger.warning("%s: the database was busy (another process was writing); trying again", what)
    else:
        logger.error("%s: round failed", what, exc_info=exc)
