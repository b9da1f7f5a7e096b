"""一货一址 as a CSV file: ``sku_id,address_id`` or ``product_id,address_id``, read and written.

This module only reads and writes the file; :mod:`desk.aftersales.binding_import` checks the
rows against the store and applies them.

Admins keep these lists in Excel, so the file is what Excel reads and writes: exported as UTF-8
with a byte-order mark (without one, Excel on Chinese Windows reads UTF-8 as GBK), imported from
UTF-8 with or without the mark, or GBK (what "CSV" in Chinese Excel saves). The header decides
what the file binds: a first column ``sku_id`` binds SKUs, ``product_id`` binds products. Every
problem names its line in the file (the header is line 1), as an editor numbers lines.
"""

from __future__ import annotations

import csv
import enum
import io
import re
from collections.abc import Iterable

import msgspec

from desk.errors import Invalid
from desk.i18n import Message

__all__ = [
    "MAX_CSV_BYTES",
    "MAX_ID_LENGTH",
    "BindingRow",
    "CsvScope",
    "ParsedCsv",
    "RowProblem",
    "export_csv",
    "parse_csv",
]

MAX_CSV_BYTES = 8 * 1024 * 1024
"""The largest file accepted: about 200,000 rows, far above any store's catalogue."""
MAX_ID_LENGTH = 32
"""Platform ids (SKU, product, address) fit the columns that store them."""

_ZIP_MAGIC = b"PK\x03\x04"  # an .xlsx workbook uploaded instead of its CSV
# Platform ids are digits; letters, ``_`` and ``-`` are let through for other id schemes. Nothing
# else, so no exported cell can start an Excel formula.
_ID = re.compile(r"[0-9A-Za-z_-]+")


class CsvScope(enum.StrEnum):
    """What a file binds, by its header's first column."""

    SKU = "sku"
    PRODUCT = "product"

    @property
    def column(self) -> str:
        return f"{self.value}_id"


class BindingRow(msgspec.Struct, frozen=True, array_like=True):
    """A row as read: its line in the file, the SKU or product id, the address id."""

    line: int
    ref: str
    address_id: str


class RowProblem(msgspec.Struct, frozen=True, kw_only=True):
    """Why one row cannot be applied."""

    line: int
    ref: str
    address_id: str
    error: Message


class ParsedCsv(msgspec.Struct, frozen=True, kw_only=True):
    """A readable file: what it binds, its well-formed rows and the problems of the others."""

    scope: CsvScope
    rows: list[BindingRow]
    problems: list[RowProblem]


def _file_error(key: str, **params: str | int) -> Invalid:
    return Invalid({"file": Message(f"addresses.csv.{key}", params)})


def _decode(data: bytes) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        # GB18030 is the superset of GBK (and GB2312) that Chinese Windows actually writes.
        return data.decode("gb18030")
    except UnicodeDecodeError:
        return None


def _scope_of(header: list[str]) -> CsvScope | None:
    cells = _trimmed(header)
    names = [cell.lower() for cell in cells]
    for scope in CsvScope:
        if names == [scope.column, "address_id"]:
            return scope
    return None


def _trimmed(record: list[str]) -> list[str]:
    """Cells without surrounding blanks, and without the empty cells Excel adds at the end."""
    cells = [cell.strip() for cell in record]
    while cells and not cells[-1]:
        cells.pop()
    return cells


def _row_error(cells: list[str], scope: CsvScope) -> Message | None:
    if len(cells) != 2:
        return Message("addresses.csv.columns", {"count": len(cells), "column": scope.column})
    ref, address_id = cells
    if not ref:
        return Message("addresses.csv.missing_ref", {"column": scope.column})
    if not address_id:
        return Message("addresses.csv.missing_address")
    if len(ref) > MAX_ID_LENGTH or len(address_id) > MAX_ID_LENGTH:
        return Message("addresses.csv.too_long", {"max": MAX_ID_LENGTH})
    if not (_ID.fullmatch(ref) and _ID.fullmatch(address_id)):
        return Message("addresses.csv.bad_id")
    return None


def _file_text(data: bytes) -> str | Invalid:
    """The file's text, or why it is not a CSV file we can read."""
    if len(data) > MAX_CSV_BYTES:
        return _file_error("too_big", max_mb=MAX_CSV_BYTES // (1024 * 1024))
    if data.startswith(_ZIP_MAGIC):
        return _file_error("workbook")
    text = _decode(data)
    if text is None:
        return _file_error("encoding")
    if not text.strip():
        return _file_error("empty")
    return text


def parse_csv(data: bytes) -> ParsedCsv | Invalid:
    """Read an uploaded file; a problem with the file as a whole is ``Invalid``.

    Whole-file problems: larger than :data:`MAX_CSV_BYTES`, empty, a workbook instead of CSV,
    neither UTF-8 nor GBK, a header other than ``sku_id,address_id`` / ``product_id,address_id``,
    unreadable CSV, no rows. Blank lines are skipped. A row is a problem when it has other than
    two cells, an empty, over-long or malformed id, or names a SKU (product) an earlier row named.
    """
    text = _file_text(data)
    if isinstance(text, Invalid):
        return text
    # strict: a stray quote is an error, not a cell that silently swallows the rest of the file.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[BindingRow] = []
    problems: list[RowProblem] = []
    first_line: dict[str, int] = {}
    try:
        scope = _scope_of(next(reader, []))
        if scope is None:
            return _file_error("header")
        for record in reader:
            line = reader.line_num
            cells = _trimmed(record)
            if not cells:
                continue
            error = _row_error(cells, scope)
            ref, address_id = ([*cells, "", ""])[:2]
            if error is None and ref in first_line:
                error = Message("addresses.csv.duplicate", {"line": first_line[ref]})
            if error is not None:
                problems.append(RowProblem(line=line, ref=ref, address_id=address_id, error=error))
                continue
            first_line[ref] = line
            rows.append(BindingRow(line=line, ref=ref, address_id=address_id))
    except csv.Error as exc:
        return _file_error("unreadable", line=reader.line_num, reason=str(exc))
    if not rows and not problems:
        return _file_error("no_rows")
    return ParsedCsv(scope=scope, rows=rows, problems=problems)


def export_csv(scope: CsvScope, bindings: Iterable[tuple[str, str]]) -> bytes:
    """``(ref, address_id)`` pairs as a file Excel opens right: UTF-8 with a BOM, CRLF rows.

    Ids are checked on the way in (letters, digits, ``_``, ``-``): no cell can start a formula.
    """
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([scope.column, "address_id"])
    writer.writerows(bindings)
    return "\ufeff".encode() + out.getvalue().encode("utf-8")
