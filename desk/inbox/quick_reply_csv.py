"""A store's shared quick replies as a CSV file (columns ``title,text``): export and import.

Admins keep the 话术库 in Excel, so the file is what Excel reads and writes: exported as UTF-8
with a byte-order mark (without one, Excel on Chinese Windows reads UTF-8 as GBK and shows
mojibake); imported from UTF-8 with or without the mark, or GBK (what "CSV" in Chinese Excel
saves). Rows are numbered as Excel numbers them (the header is row 1).

An import is checked whole before anything is written: each bad row is reported with its row
number (empty or too long title, too long text, unknown variable, a title twice in the file), and
nothing is applied while problems remain unless the admin chooses to apply the valid rows. A row
whose title the store already has replaces that reply's text (export, edit, import back); replies
missing from the file are left alone.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Iterable

import msgspec
import sqlalchemy as sa
from litestar.stores.base import Store as KeyValueStore
from sqlalchemy.exc import IntegrityError

from desk.db import Work, utcnow
from desk.errors import Invalid
from desk.i18n import Message
from desk.inbox.models import QuickReply
from desk.inbox.quick_replies import QuickReplyForm, QuickReplyView, ReplySet, check_reply, normalised

__all__ = [
    "MAX_CSV_BYTES",
    "PENDING_IMPORT_TTL",
    "CheckedImport",
    "CsvReading",
    "CsvRow",
    "ImportPlan",
    "ImportResult",
    "PendingImports",
    "RowProblem",
    "apply_pending",
    "apply_plan",
    "apply_rows",
    "export_csv",
    "import_file",
    "plan_import",
    "read_csv",
]

MAX_CSV_BYTES = 2 * 1024 * 1024
"""The largest file accepted (about 10,000 replies of 100 characters)."""
PENDING_IMPORT_TTL = 30 * 60
"""Seconds a checked import waits for the admin to apply its valid rows."""

_HEADERS = {"title": ("title", "标题"), "text": ("text", "内容")}
# Excel runs a cell starting with one of these as a formula. Export prefixes such cells with an
# apostrophe (which Excel hides) and import takes it off again, so texts round-trip unharmed.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_ZIP_MAGIC = b"PK\x03\x04"

_reply = QuickReply.__table__
_c = _reply.c


class CsvRow(msgspec.Struct, frozen=True, array_like=True):
    """A row as read: its number as Excel shows it, its title and text."""

    line: int
    title: str
    text: str


class RowProblem(msgspec.Struct, frozen=True, kw_only=True):
    """Why one row cannot be imported: a message per offending column (``title``, ``text``)."""

    line: int
    title: str
    errors: dict[str, Message]


class CsvReading(msgspec.Struct, frozen=True, kw_only=True):
    """What an uploaded file holds: the rows fit to import and the problems of the others."""

    rows: list[CsvRow]
    problems: list[RowProblem]


class ImportResult(msgspec.Struct, frozen=True, kw_only=True):
    created: int
    updated: int
    unchanged: int


# -- reading ---------------------------------------------------------------------------------------


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


def _unescaped(cell: str) -> str:
    if cell.startswith("'") and cell[1:].startswith((*_FORMULA_STARTS, "'")):
        return cell[1:]
    return cell


def _header_columns(header: list[str]) -> dict[str, int] | None:
    names = [cell.strip().lower() for cell in header]
    found: dict[str, int] = {}
    for field, aliases in _HEADERS.items():
        for index, name in enumerate(names):
            if name in aliases:
                found[field] = index
                break
    return found if len(found) == len(_HEADERS) else None


def _file_error(key: str, **params: str | int) -> Invalid:
    return Invalid({"file": Message(key, params)})


def _file_text(data: bytes) -> str | Invalid:
    """The file's text, or why it is not a CSV file we can read."""
    if len(data) > MAX_CSV_BYTES:
        return _file_error("quick_replies.csv.too_big", max_mb=MAX_CSV_BYTES // (1024 * 1024))
    if data.startswith(_ZIP_MAGIC):
        return _file_error("quick_replies.csv.workbook")
    text = _decode(data)
    if text is None:
        return _file_error("quick_replies.csv.encoding")
    if not text.strip():
        return _file_error("quick_replies.csv.empty")
    return text


def _row_form(record: list[str], columns: dict[str, int]) -> QuickReplyForm:
    cells = [*record, "", ""]  # a short row (Excel drops trailing empty cells) reads as empty cells
    form = QuickReplyForm(title=_unescaped(cells[columns["title"]]), text=_unescaped(cells[columns["text"]]))
    return normalised(form)


def read_csv(data: bytes) -> CsvReading | Invalid:
    """Read and check an uploaded file; a problem with the file as a whole is ``Invalid``.

    Whole-file problems: larger than :data:`MAX_CSV_BYTES`, empty, an Excel workbook instead of
    CSV, neither UTF-8 nor GBK, no ``title`` and ``text`` header, unreadable CSV. Empty rows are
    skipped. Each other row is checked like a form (:func:`check_reply`), and a title already
    used by an earlier row of the file is a problem too.
    """
    text = _file_text(data)
    if isinstance(text, Invalid):
        return text
    rows: list[CsvRow] = []
    problems: list[RowProblem] = []
    first_line: dict[str, int] = {}
    # strict: a stray quote is an error, not a field that silently swallows the rest of the file.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    line = 1  # the row being read, as Excel numbers rows
    try:
        columns = _header_columns(next(reader, []))
        if columns is None:
            return _file_error("quick_replies.csv.header")
        for record in reader:
            line += 1
            if not any(cell.strip() for cell in record):
                continue
            form = _row_form(record, columns)
            errors = check_reply(form)
            if "title" not in errors and form.title in first_line:
                errors["title"] = Message("quick_replies.csv.duplicate", {"line": first_line[form.title]})
            elif "title" not in errors:
                first_line[form.title] = line
            if errors:
                problems.append(RowProblem(line=line, title=form.title, errors=errors))
            else:
                rows.append(CsvRow(line=line, title=form.title, text=form.text))
    except csv.Error as exc:
        return _file_error("quick_replies.csv.unreadable", line=line + 1, reason=str(exc))
    if not rows and not problems:
        return _file_error("quick_replies.csv.no_rows")
    return CsvReading(rows=rows, problems=problems)


# -- applying --------------------------------------------------------------------------------------


class ImportPlan(msgspec.Struct, frozen=True, kw_only=True):
    """What applying rows to a store's set will do, worked out from the set as it was read."""

    store_id: int
    new: list[CsvRow]
    changed: list[tuple[int, CsvRow]]
    """(the id of the reply with this title, the row replacing its text)."""
    unchanged: int


async def plan_import(work: Work, store_id: int, rows: Iterable[CsvRow]) -> ImportPlan:
    """Match ``rows`` to the shared set of ``store_id`` by title: new titles are added, known ones
    whose text differs are replaced, identical ones are left alone."""
    existing = {
        row.title: (row.id, row.text)
        for row in await work.execute(
            sa.select(_c.id, _c.title, _c.text).where(ReplySet.shared(store_id).clause())
        )
    }
    new: list[CsvRow] = []
    changed: list[tuple[int, CsvRow]] = []
    unchanged = 0
    for row in rows:
        if row.title not in existing:
            new.append(row)
        elif existing[row.title][1] != row.text:
            changed.append((existing[row.title][0], row))
        else:
            unchanged += 1
    return ImportPlan(store_id=store_id, new=new, changed=changed, unchanged=unchanged)


async def apply_plan(work: Work, plan: ImportPlan) -> ImportResult | Invalid:
    """Write ``plan``: all of it or, if a colleague saved one of its new titles since it was
    made, nothing (the admin is asked to upload again). Use counts of replaced replies stay."""
    now = utcnow()
    try:
        async with work.begin_nested():
            if plan.new:
                await work.execute(
                    sa.insert(_reply),
                    [
                        {
                            "store_id": plan.store_id,
                            "owner_id": None,
                            "title": row.title,
                            "text": row.text,
                            "uses": 0,
                            "created_at": now,
                            "updated_at": now,
                        }
                        for row in plan.new
                    ],
                )
            if plan.changed:
                await work.execute(
                    sa.update(_reply)
                    .where(_c.id == sa.bindparam("reply_id"), _c.store_id == plan.store_id)
                    .values(text=sa.bindparam("new_text"), updated_at=now),
                    [{"reply_id": reply_id, "new_text": row.text} for reply_id, row in plan.changed],
                )
    except IntegrityError:
        return _file_error("quick_replies.csv.conflict")
    return ImportResult(created=len(plan.new), updated=len(plan.changed), unchanged=plan.unchanged)


async def apply_rows(work: Work, store_id: int, rows: Iterable[CsvRow]) -> ImportResult | Invalid:
    """Import checked rows into the shared set of ``store_id`` (:func:`plan_import`, then
    :func:`apply_plan`)."""
    return await apply_plan(work, await plan_import(work, store_id, rows))


class PendingImports:
    """Checked imports waiting for the admin to apply their valid rows.

    Kept in the runtime's key-value store (Redis in production, so any app process can finish
    it) for :data:`PENDING_IMPORT_TTL` seconds, bound to the store and the admin who uploaded.
    """

    def __init__(self, kv: KeyValueStore) -> None:
        self.kv = kv

    @staticmethod
    def _key(token: str, store_id: int, user_id: int) -> str:
        return f"{store_id}:{user_id}:{token}"

    async def put(self, store_id: int, user_id: int, rows: list[CsvRow]) -> str:
        """Keep ``rows``; the token that takes them back."""
        token = secrets.token_urlsafe(16)
        await self.kv.set(
            self._key(token, store_id, user_id), msgspec.msgpack.encode(rows), expires_in=PENDING_IMPORT_TTL
        )
        return token

    async def take(self, token: str, store_id: int, user_id: int) -> list[CsvRow] | None:
        """The rows kept under ``token`` for this store and admin (once), or None if there are
        none (expired, already applied, someone else's)."""
        key = self._key(token, store_id, user_id)
        data = await self.kv.get(key)
        if data is None:
            return None
        await self.kv.delete(key)
        return msgspec.msgpack.decode(data, type=list[CsvRow])


class CheckedImport(msgspec.Struct, frozen=True, kw_only=True):
    """An import held back by bad rows: the report, and the token that applies its valid rows."""

    reading: CsvReading
    token: str


async def import_file(
    work: Work, pending: PendingImports, *, store_id: int, user_id: int, data: bytes
) -> ImportResult | CheckedImport | Invalid:
    """Import an uploaded file into the shared set of ``store_id`` for the admin ``user_id``.

    A file whose rows are all fine is applied at once. Otherwise nothing is applied: the problems
    are reported and the valid rows wait, under the returned token, for the admin to choose to
    apply them (:func:`apply_pending`).
    """
    reading = read_csv(data)
    if isinstance(reading, Invalid):
        return reading
    if reading.problems:
        token = await pending.put(store_id, user_id, reading.rows)
        return CheckedImport(reading=reading, token=token)
    return await apply_rows(work, store_id, reading.rows)


async def apply_pending(
    work: Work, pending: PendingImports, *, token: str, store_id: int, user_id: int
) -> ImportResult | Invalid:
    """Apply the valid rows of a checked import, once, for the admin who uploaded it."""
    rows = await pending.take(token, store_id, user_id)
    if rows is None:
        return _file_error("quick_replies.csv.expired")
    return await apply_rows(work, store_id, rows)


# -- exporting -------------------------------------------------------------------------------------


def _escaped(cell: str) -> str:
    return "'" + cell if cell.startswith((*_FORMULA_STARTS, "'")) else cell


def export_csv(replies: Iterable[QuickReplyView]) -> bytes:
    """The replies as a CSV file Excel opens right: UTF-8 with a BOM, CRLF rows, ``title,text``."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["title", "text"])
    for reply in replies:
        writer.writerow([_escaped(reply.title), _escaped(reply.text)])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")
