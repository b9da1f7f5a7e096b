"""``desk rules check FILE``, ``desk rules import DIR`` and ``desk rules export DIR``.

``check`` needs no database: it validates and prints every error as ``FILE:LINE: PATH: message``
(exit status 1). ``import`` checks every file first and saves nothing unless all are valid;
``export`` writes the stored rules back to their files (``import`` then ``export`` round-trips).
"""

from __future__ import annotations

from pathlib import Path

import click

from desk.cli_base import fail, load_cli_settings, main, open_runtime, run
from desk.rules.files import RuleFileError, load
from desk.rules.model import Rule
from desk.rules.storage import ImportReport, export_files, import_rules, read_dir, write_dir
from desk.rules.warnings import warnings_for

__all__ = ["rules"]


@main.group()
def rules() -> None:
    """Automation rules as TOML files: check, import, export."""


def _errors(exc: RuleFileError) -> click.ClickException:
    for error in exc.errors:
        click.echo(str(error), err=True)
    count = len(exc.errors)
    return fail(f"{count} error{'s' if count != 1 else ''}; nothing was saved", code=1)


@rules.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def check(file: Path) -> None:
    """Validate FILE without saving anything."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"{file}: cannot read: {exc}", code=1) from None
    try:
        loaded = load(text, str(file))
    except RuleFileError as exc:
        raise _errors(exc) from None
    for _, path, message in warnings_for(loaded):
        click.echo(f"{file}: warning: {path}: {message}", err=True)
    click.echo(f"{file}: {len(loaded)} rule{'s' if len(loaded) != 1 else ''}, all valid")


@rules.command("import")
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
def import_(directory: Path) -> None:
    """Save the rules of every *.toml file in DIRECTORY (all or nothing)."""
    try:
        files = read_dir(directory)
    except RuleFileError as exc:
        raise _errors(exc) from None
    if not files:
        raise fail(f"{directory}: no *.toml rule files here", code=1)
    # Contradictions can span files: look at every rule at once, name each by its own file.
    everything = [(name, i, rule) for name, rules in files.items() for i, rule in enumerate(rules)]
    for index, _path, message in warnings_for([rule for _, _, rule in everything]):
        name, i, _ = everything[index]
        click.echo(f"{directory / name}: warning: rules[{i}]{_path.split(']', 1)[1]}: {message}", err=True)
    settings = load_cli_settings()

    async def save() -> ImportReport:
        async with open_runtime(settings) as runtime, runtime.db.transaction() as conn:
            return await import_rules(conn, files, saved_by="cli")

    report = run(save())
    click.echo(
        f"{len(report.created)} created, {len(report.updated)} updated (new version), "
        f"{len(report.unchanged)} unchanged"
    )


@rules.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def export(directory: Path) -> None:
    """Write every stored rule to DIRECTORY, each to the file it was imported from."""
    settings = load_cli_settings()

    async def read() -> dict[str, list[Rule]]:
        async with open_runtime(settings) as runtime, runtime.db.transaction() as conn:
            return await export_files(conn)

    files = run(read())
    for path in write_dir(directory, files):
        click.echo(str(path))
