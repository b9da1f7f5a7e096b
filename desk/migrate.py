"""Apply and check Alembic migrations, for ``desk db upgrade``, ``desk demo`` and the tests."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.config import Config

from desk.paths import MIGRATIONS_DIR

__all__ = ["alembic_config", "upgrade", "upgrade_async"]


def alembic_config(database_url: str) -> Config:
    """An Alembic config built in code, so no ``alembic.ini`` has to sit at the top level."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "%%(year)d-%%(month).2d-%%(day).2d_%%(slug)s_%%(rev)s")
    config.set_main_option("timezone", "UTC")
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database at ``database_url`` up to ``revision``. Blocking: call from sync code."""
    command.upgrade(alembic_config(database_url), revision)


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    """:func:`upgrade` from async code (Alembic's env runs its own event loop, so use a thread)."""
    await asyncio.to_thread(upgrade, database_url, revision)
