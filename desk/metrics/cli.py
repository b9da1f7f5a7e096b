"""``desk metrics …``: rebuild the rollups from the facts, print a day's figures per store."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable

import click
import sqlalchemy as sa

from desk.cli_base import fail, load_cli_settings, main, open_runtime, run
from desk.db import utcnow
from desk.i18n import DEFAULT_LANGUAGE, LANGUAGES, translate
from desk.metrics import rollups
from desk.metrics.applier import RollupApplier
from desk.metrics.backfill import backfill, backfill_size
from desk.metrics.figures import Period, summary
from desk.metrics.models import MetricFact
from desk.metrics.report import report_lines
from desk.metrics.since import parse_since
from desk.metrics.window_text import format_minute, parse_deadline, parse_minute
from desk.runtime import Runtime
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


@metrics.command("backfill")
@click.option(
    "--since",
    default="30d",
    show_default=True,
    metavar="Nd|YYYY-MM-DD",
    help="Messages, payments and after-sales from this day (UTC) on.",
)
@_language
def metrics_backfill(since: str, language: str) -> None:
    """Write the facts of what happened before the desk recorded them (after upgrading to this version)."""
    try:
        first = parse_since(since, utcnow().date())
    except ValueError as exc:
        raise fail(f"--since: {exc}") from None
    settings = load_cli_settings()

    async def backfill_all() -> int:
        async with open_runtime(settings) as runtime, runtime.db.transaction() as conn:
            start = dt.datetime.combine(first, dt.time(), dt.UTC)
            label = translate(language, "metrics.cli.backfilling")
            size = await backfill_size(conn, start)
            with click.progressbar(length=size, label=label, file=sys.stderr) as bar:
                return await backfill(conn, start, on_progress=bar.update)

    facts = run(backfill_all())
    click.echo(translate(language, "metrics.cli.backfilled", day=first.isoformat(), facts=facts))


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
        async with open_runtime(settings) as runtime:
            # Facts the worker has not added yet (it may not run at all): the report is complete.
            await RollupApplier(runtime.db).drain()
            return await _report_lines(runtime, day, store_refs, language)

    for line in run(report()):
        click.echo(line)


async def _report_lines(
    runtime: Runtime, day: dt.date, store_refs: tuple[str, ...], language: str
) -> list[str]:
    lines: list[str] = []
    async with runtime.db.engine.connect() as conn:
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


def _parsed(
    parse: Callable[[str], int],
) -> Callable[[click.Context, click.Parameter, str | None], int | None]:
    def callback(_ctx: click.Context, _param: click.Parameter, value: str | None) -> int | None:
        if value is None:
            return None
        try:
            return parse(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None

    return callback


@metrics.command("window")
@click.argument("store_ref", metavar="KEY_OR_NAME")
@click.option(
    "--from", "start", callback=_parsed(parse_minute), metavar="HH:MM", help="Window opens (08:00)."
)
@click.option("--to", "end", callback=_parsed(parse_minute), metavar="HH:MM", help="Window closes (24:00).")
@click.option(
    "--deadline", callback=_parsed(parse_deadline), metavar="SECONDS", help="Answered in time within (180)."
)
def metrics_window(store_ref: str, start: int | None, end: int | None, deadline: int | None) -> None:
    """Show or set a store's assessment window and reply deadline (new consultations use them)."""
    if start is not None and start == end:
        raise fail("--from and --to are the same time: the window would be empty")
    settings = load_cli_settings()

    async def change() -> tuple[str, int, int, int]:
        async with open_runtime(settings) as runtime, runtime.db.transaction() as conn:
            store = (
                await conn.execute(
                    sa.select(Store).where(sa.or_(Store.key == store_ref, Store.name == store_ref))
                )
            ).one_or_none()
            if store is None:
                raise fail(f"no store has the key or name {store_ref!r}")
            values = {
                "assessment_start_min": store.assessment_start_min if start is None else start,
                "assessment_end_min": store.assessment_end_min if end is None else end,
                "reply_deadline_s": store.reply_deadline_s if deadline is None else deadline,
            }
            if values["assessment_start_min"] == values["assessment_end_min"]:
                raise fail("--from and --to would be the same time: the window would be empty")
            await conn.execute(
                sa.update(Store.__table__).where(Store.__table__.c.id == store.id).values(**values)
            )
            return store.name, *values.values()

    name, first, last, seconds = run(change())
    click.echo(f"{name}: {format_minute(first)}–{format_minute(last)}, {seconds} s")
