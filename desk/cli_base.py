"""The ``desk`` command group and what every subcommand shares: settings, a runtime, clear errors.

Domain modules add their commands to :data:`main` (``desk/<domain>/cli.py``); ``desk/cli.py``
imports them all. Errors an operator can fix are printed as one line and exit non-zero, never as a
traceback; so is anything unexpected (``DESK_DEBUG=true`` shows the traceback, for a bug report).
Commands that need the database refuse a missing or unmigrated one and name the fix
(``desk db upgrade``) before anything is written to disk.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.engine import make_url

from desk.logs import configure_logging
from desk.migrate import SchemaOutOfDateError, require_head
from desk.runtime import DatabaseUnavailableError, Runtime
from desk.secret_box import SecretError
from desk.settings import Settings, SettingsError, load_settings

__all__ = [
    "check_ready",
    "fail",
    "load_cli_settings",
    "main",
    "open_runtime",
    "require_database_file",
    "require_free_port",
    "run",
]

T = TypeVar("T")

# Click's own signals: usage errors, --help / --version exits, Ctrl-C. They print themselves.
_CLICK_EXITS = (click.ClickException, click.exceptions.Exit, click.Abort)


class _DeskGroup(click.Group):
    """The ``desk`` group: an unexpected error is one line naming it, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except _CLICK_EXITS:
            raise
        except Exception as exc:
            if _debug_requested():
                raise
            # A database error's first line from the driver, without SQLAlchemy's SQL and links.
            detail = str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""]
            raise fail(
                f"unexpected {type(exc).__name__}: {detail[0]} — run the command again with "
                "DESK_DEBUG=true to see the traceback (and report it if it looks like a bug in desk)",
                code=1,
            ) from None


def _debug_requested() -> bool:
    return os.environ.get("DESK_DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}


@click.group(cls=_DeskGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="desk")
def main() -> None:
    """desk — one customer-service desk for several WeChat Channels stores."""
    configure_logging("WARNING")


def fail(message: str, code: int = 2) -> click.ClickException:
    """An error for the operator: printed as ``Error: message``, exit status ``code``."""
    error = click.ClickException(message)
    error.exit_code = code  # type: ignore[misc]  # click reads self.exit_code; its stub calls it a ClassVar
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
        async with open_runtime(settings, migrated=migrated):
            pass

    run(check())


def require_database_file(settings: Settings) -> None:
    """Refuse an SQLite database file that does not exist, before anything creates it.

    Opening one would leave an empty file (and its folder) behind and then fail on the first
    query; the operator needs to hear where desk looked and how to create it instead.
    """
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return
    path = Path(url.database)
    if not path.is_file():
        raise fail(
            f"there is no database at {path.resolve()}: run `desk db upgrade` to create it "
            "(or point DESK_DATABASE_URL at the existing one)"
        )


def require_free_port(host: str, port: int, option: str) -> None:
    """Refuse a port something else listens on, before starting a server that would fail on it.

    A server started inside our own event loop (``desk demo``, ``desk simulate``) would stop with
    uvicorn's traceback instead of a line naming the port and the option that chooses it.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise fail(
                f"{option}: cannot listen on {host}:{port} ({exc.strerror}); choose another port"
            ) from None


@asynccontextmanager
async def open_runtime(settings: Settings, *, migrated: bool = True) -> AsyncIterator[Runtime]:
    """A runtime whose database has been checked (its background services are not started).

    With ``migrated`` (every command but ``desk db upgrade``) the database must exist and be at
    the newest migration; otherwise the command stops with a message naming ``desk db upgrade``.
    """
    if migrated:
        require_database_file(settings)
    runtime = Runtime(settings)
    try:
        await runtime.check_database()
        if migrated:
            await require_head(runtime.db.engine)
        yield runtime
    finally:
        await runtime.stop()
