"""``desk metrics …``: rebuild the rollups from the facts, print a day's figures per store."""

from __future__ import annotations

import datetime as dt
import sys

import click
import sqlalchemy as sa

from desk.cli_base import fail, load_cli_settings, main, open_runtime, run
from desk.db import utcnow
from desk.i18n import DEFAULT_LANGUAGE, LANGUAGES, translate
from desk.metrics import rollups
from desk.metrics.figures import Period, summary
from desk.metrics.models import MetricFact
from desk.metrics.report import report_lines
from desk.metrics.since import parse_since
from desk.stores.models import Store

__all__ = ["metrics"]

_language = click.option(
    "--lang", "language", type=click.Choice(sorted(LANGUAGES)), default=DEFAULT_LANGUAGE, show_default=True
)


@main.group()
def metrics() -> None:
    """Store-score figures: the reply rate, completion times, after-sales, orders."""


@metrics.command("rebuild")
@click.option(
    "--since",
    default="30d",
    show_default=True,
    metavar="Nd|YYYY-MM-DD",
    help="First local day to recompute: N days back, or a date.",
)
@_language
def metrics_rebuild(since: str, language: str) -> None:
    """Recompute the hourly rollups from the facts (after a fix, a restore, or a time-zone change)."""
    try:
        first = parse_since(since, utcnow().date())
    except ValueError as exc:
        raise fail(f"--since: {exc}") from None
    settings = load_cli_settings()

    async def rebuild() -> int:
        async with open_runtime(settings) as runtime, runtime.db.transaction() as conn:
            total = (
                await conn.execute(
                    sa.select(sa.func.count()).where(MetricFact.__table__.c.local_day >= first)
                )
            ).scalar_one()
            label = translate(language, "metrics.cli.rebuilding")
            with click.progressbar(length=int(total), label=label, file=sys.stderr) as bar:
                return await rollups.rebuild(conn, first, on_progress=bar.update)

    facts = run(rebuild())
    click.echo(translate(language, "metrics.cli.rebuilt", day=first.isoformat(), facts=facts))


def _day(_ctx: click.Context, _param: click.Parameter, value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-12-01") from None


@metrics.command("report")
@click.option("--day", required=True, callback=_day, metavar="YYYY-MM-DD", help="The store's local day.")
@click.option("--store", "store_refs", multiple=True, metavar="KEY_OR_NAME", help="Only these stores.")
@_language
def metrics_report(day: dt.date, store_refs: tuple[str, ...], language: str) -> None:
    """Print a day's figures (昨日数据) for every active store, or the stores named."""
    settings = load_cli_settings()

    async def report() -> list[str]:
        lines: list[str] = []
        async with open_runtime(settings) as runtime, runtime.db.engine.connect() as conn:
            stores = (
                await conn.execute(
                    sa.select(Store.id, Store.key, Store.name)
                    .where(Store.is_active.is_(True))
                    .order_by(Store.name)
                )
            ).all()
            for ref in store_refs:
                if not any(ref in (s.key, s.name) for s in stores):
                    raise fail(f"--store: no active store has the key or name {ref!r}")
            chosen = [s for s in stores if not store_refs or s.key in store_refs or s.name in store_refs]
            if not chosen:
                return [translate(language, "metrics.cli.no_stores")]
            for store in chosen:
                figures = await summary(conn, [store.id], Period.day(day))
                lines.extend(report_lines(store.name, day, figures, language))
        return lines

    for line in run(report()):
        click.echo(line)
