"""``desk addresses import`` / ``export``: 一货一址 bindings as CSV files, from scripts.

``import`` checks the whole file first and prints each problem as ``FILE:LINE: message`` (on
stderr); nothing is written while problems remain unless ``--apply-valid`` is given. Rows are
written in batches under a progress bar, all in one transaction. ``export`` writes the store's
SKU (or product) bindings in the format ``import`` reads.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from sqlalchemy.ext.asyncio import AsyncSession

from desk.aftersales.binding_csv import MAX_CSV_BYTES, CsvScope, export_csv
from desk.aftersales.binding_import import CheckedFile, apply_rows, check_file
from desk.aftersales.return_bindings import BindingScope, list_bindings
from desk.audit.service import Actor
from desk.cli_base import fail, load_cli_settings, main, open_runtime, run
from desk.errors import Invalid
from desk.stores.models import Store
from desk.stores.services import find_store

__all__ = ["addresses"]

_LANGUAGE = "en"  # what the rest of the CLI speaks
_CLI = Actor("cli", "desk addresses import")  # who the audit trail says imported


@main.group()
def addresses() -> None:
    """Return addresses (一货一址): bind them to SKUs or products from CSV files."""


def _read(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            # One byte past the limit is enough to tell a file that is too big.
            return fh.read(MAX_CSV_BYTES + 1)
    except OSError as exc:
        raise fail(f"{path}: cannot read it ({exc.strerror})") from None


async def _store_named(session: AsyncSession, ref: str) -> Store:
    store = await find_store(session, ref)
    if store is None:
        raise fail(f"--store: no store is named {ref!r} (see `desk stores list`)")
    return store


def _report(path: Path, checked: CheckedFile) -> None:
    for problem in checked.problems:
        click.echo(f"{path}:{problem.line}: {problem.error.render(_LANGUAGE)}", err=True)


@addresses.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--store", "store_ref", required=True, help="The store, by name or push key.")
@click.option("--apply-valid", is_flag=True, help="Import the valid lines even if others have problems.")
def import_bindings(file: Path, store_ref: str, apply_valid: bool) -> None:
    """Bind the return addresses listed in FILE (header sku_id,address_id or product_id,address_id)."""
    settings = load_cli_settings()
    data = _read(file)

    async def go() -> tuple[str, CheckedFile, int]:
        async with open_runtime(settings) as runtime, runtime.db.session() as session:
            store = await _store_named(session, store_ref)
            checked = await check_file(session, store.id, data)
            if isinstance(checked, Invalid):
                raise fail(f"{file}: {checked.errors['file'].render(_LANGUAGE)}")
            _report(file, checked)
            if checked.problems and not apply_valid:
                raise fail(
                    f"{len(checked.problems)} line(s) of {file} have problems; nothing was imported. "
                    f"Fix them, or pass --apply-valid to import the {len(checked.rows)} valid line(s).",
                    code=1,
                )
            with click.progressbar(length=len(checked.rows), label="Binding", file=sys.stderr) as bar:
                written = await apply_rows(
                    session, store.id, checked.scope, checked.rows, actor=_CLI, progress=bar.update
                )
            return store.name, checked, written

    name, checked, written = run(go())
    skipped = f"; {len(checked.problems)} line(s) with problems skipped" if checked.problems else ""
    click.echo(f"imported {written} {checked.scope.value} binding(s) into {name}{skipped}")


@addresses.command("export")
@click.option("--store", "store_ref", required=True, help="The store, by name or push key.")
@click.option(
    "--scope",
    type=click.Choice([s.value for s in CsvScope]),
    default=CsvScope.SKU.value,
    show_default=True,
    help="Export the SKU or the product bindings.",
)
@click.option(
    "--output", "-o", type=click.Path(path_type=Path, dir_okay=False), help="Write here (default: stdout)."
)
def export_bindings(store_ref: str, scope: str, output: Path | None) -> None:
    """Write the store's bindings as CSV (UTF-8 with a BOM, as Excel wants it)."""
    settings = load_cli_settings()
    kind = CsvScope(scope)

    async def go() -> bytes:
        async with open_runtime(settings) as runtime, runtime.db.session() as session:
            store = await _store_named(session, store_ref)
            views = await list_bindings(session, store.id, scope=BindingScope(kind.value))
            return export_csv(kind, ((v.ref, v.address_id) for v in views))

    body = run(go())
    if output is None:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
        return
    try:
        output.write_bytes(body)
    except OSError as exc:
        raise fail(f"--output: cannot write {output} ({exc.strerror})") from None
