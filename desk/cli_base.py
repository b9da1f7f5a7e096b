"""The ``desk`` command group and what every subcommand shares: settings, a runtime, clear errors.

Domain modules add their commands to :data:`main` (``desk/<domain>/cli.py``); ``desk/cli.py``
imports them all. Errors an operator can fix are printed as one line and exit non-zero, never as a
traceback.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import click

from desk.logs import configure_logging
from desk.migrate import SchemaOutOfDateError, require_head
from desk.runtime import DatabaseUnavailableError, Runtime
from desk.settings import Settings, SettingsError, load_settings
from desk.stores.secrets import SecretError

__all__ = ["check_ready", "fail", "load_cli_settings", "main", "open_runtime", "run"]

T = TypeVar("T")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="desk")
def main() -> None:
    """desk — one customer-service desk for several WeChat Channels stores."""
    configure_logging("WARNING")


def fail(message: str, code: int = 2) -> click.ClickException:
    """An error for the operator: printed as ``Error: message``, exit status ``code``."""
    error = click.ClickException(message)
    error.exit_code = code
    return error


def load_cli_settings(**overrides: Any) -> Settings:
    try:
        settings = load_settings()
    except SettingsError as exc:
        raise fail(str(exc)) from None
    return settings.with_changes(**overrides) if overrides else settings


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine, turning the errors an operator can fix into one-line messages."""
    try:
        return asyncio.run(coro)
    except (DatabaseUnavailableError, SecretError, SchemaOutOfDateError, SettingsError) as exc:
        raise fail(str(exc)) from None


def check_ready(settings: Settings, *, migrated: bool = True) -> None:
    """Exit with a clear message unless the database is reachable (and, by default, fully migrated)."""

    async def check() -> None:
        async with open_runtime(settings) as runtime:
            if migrated:
                await require_head(runtime.db.engine)

    run(check())


@asynccontextmanager
async def open_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """A runtime whose database has been checked (its background services are not started)."""
    runtime = Runtime(settings)
    try:
        await runtime.check_database()
        yield runtime
    finally:
        await runtime.stop()
