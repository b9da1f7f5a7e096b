"""The ``desk`` command: serve, db, and every domain's commands (imported here to register them)."""

from __future__ import annotations

import click
import uvicorn

from desk import demo as _demo  # noqa: F401  (registers commands)
from desk import migrate
from desk.accounts import cli as _accounts_cli  # noqa: F401  (registers commands)
from desk.aftersales import cli as _aftersales_cli  # noqa: F401  (registers commands)
from desk.cli_base import check_ready, fail, load_cli_settings, main
from desk.db import redact_url
from desk.ingest import cli as _ingest_cli  # noqa: F401  (registers commands)
from desk.metrics import cli as _metrics_cli  # noqa: F401  (registers commands)
from desk.rules import cli as _rules_cli  # noqa: F401  (registers commands)
from desk.stores import cli as _stores_cli  # noqa: F401  (registers commands)

__all__ = ["main"]


@main.command()
@click.option("--host", default=None, help="Interface to listen on (default: DESK_HOST).")
@click.option("--port", type=int, default=None, help="Port (default: DESK_PORT).")
@click.option("--access-log/--no-access-log", default=True, show_default=True, help="Log every request.")
def serve(host: str | None, port: int | None, access_log: bool) -> None:
    """Run the web app (production: behind a proxy; pair with `desk worker` and DESK_WORKER=off)."""
    # --host and --port say where to listen; push URLs still come from the settings (DESK_PUBLIC_URL),
    # so that the pages and `desk stores add` show the same ones.
    settings = load_cli_settings()
    check_ready(settings)
    from desk.app import SHUTDOWN_GRACE_S, create_app

    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level.lower(),
        access_log=access_log,
        # desk reads X-Forwarded-* itself, from DESK_TRUSTED_PROXIES only (desk.proxies). uvicorn's
        # own handling would also believe them from FORWARDED_ALLOW_IPS (127.0.0.1 by default) and
        # rewrite the client before desk could check who the proxy was.
        proxy_headers=False,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )


@main.group()
def db() -> None:
    """Database schema: apply and write migrations."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION."""
    settings = load_cli_settings()
    check_ready(settings, migrated=False)
    where = redact_url(settings.database_url)
    try:
        applied = migrate.upgrade(settings.database_url, revision)
    except Exception as exc:
        raise fail(f"migration failed on {where}: {exc}") from exc
    for step in applied:
        click.echo(f"applied {step.revision}  {step.message}")
    if revision == "head":
        now = f"head ({applied[-1].revision if applied else migrate.head_revision()})"
    else:
        now = f"revision {revision}"
    click.echo(f"database at {where} is at {now}" + ("" if applied else "; nothing to apply"))


@db.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """Write a new migration from the difference between the models and the database."""
    from alembic import command

    settings = load_cli_settings()
    command.revision(migrate.alembic_config(settings.database_url), message=message, autogenerate=True)
