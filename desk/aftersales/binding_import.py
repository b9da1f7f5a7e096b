"""Importing a 一货一址 CSV file into a store: check every row, then apply all or the valid ones.

A file is checked whole before anything is written (:func:`check_file`): besides what the parser
finds (:mod:`desk.aftersales.binding_csv`), each row must name a SKU (or product) the desk has
seen in the store and one of the store's return addresses. Nothing is applied while problems
remain, unless the admin chooses to apply the valid rows — on the web by a second click (the
valid rows wait in :class:`PendingImports`), on the CLI with ``--apply-valid``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

import msgspec
from litestar.stores.base import Store as KeyValueStore

from desk.aftersales.binding_csv import BindingRow, CsvScope, ParsedCsv, RowProblem, parse_csv
from desk.aftersales.return_bindings import BindingScope, known_refs, return_address_ids, upsert_bindings
from desk.audit.models import Outcome as AuditOutcome
from desk.audit.service import Actor, open_entry
from desk.db import Work
from desk.errors import Invalid
from desk.i18n import Message

__all__ = [
    "APPLY_BATCH",
    "PENDING_IMPORT_TTL",
    "CheckedFile",
    "PendingImports",
    "apply_rows",
    "check_file",
    "recheck",
]

PENDING_IMPORT_TTL = 30 * 60
"""Seconds a checked import waits for the admin to apply its valid rows."""
APPLY_BATCH = 1_000
"""Rows per upsert statement (and per step of the CLI's progress bar)."""


class CheckedFile(msgspec.Struct, frozen=True, kw_only=True):
    """A file checked against a store: the rows ready to apply and every problem, by line."""

    scope: CsvScope
    rows: list[BindingRow]
    problems: list[RowProblem]


async def _check_rows(work: Work, store_id: int, parsed: ParsedCsv) -> CheckedFile:
    scope = BindingScope(parsed.scope.value)
    known = await known_refs(work, store_id, scope, {row.ref for row in parsed.rows})
    addresses = await return_address_ids(work, store_id)
    rows: list[BindingRow] = []
    problems = list(parsed.problems)
    for row in parsed.rows:
        error = None
        if row.ref not in known:
            error = Message(f"addresses.csv.unknown_{scope.value}", {"ref": row.ref})
        elif row.address_id not in addresses:
            error = Message("addresses.csv.unknown_address", {"address_id": row.address_id})
        if error is None:
            rows.append(row)
        else:
            problems.append(RowProblem(line=row.line, ref=row.ref, address_id=row.address_id, error=error))
    problems.sort(key=lambda problem: problem.line)
    return CheckedFile(scope=parsed.scope, rows=rows, problems=problems)


async def recheck(work: Work, store_id: int, scope: CsvScope, rows: list[BindingRow]) -> CheckedFile:
    """Check rows checked before once more: an address may have gone with a sync meanwhile."""
    return await _check_rows(work, store_id, ParsedCsv(scope=scope, rows=rows, problems=[]))


async def check_file(work: Work, store_id: int, data: bytes) -> CheckedFile | Invalid:
    """Read ``data`` and check each row against the store; ``Invalid`` for an unreadable file."""
    parsed = parse_csv(data)
    if isinstance(parsed, Invalid):
        return parsed
    return await _check_rows(work, store_id, parsed)


async def apply_rows(
    work: Work,
    store_id: int,
    scope: CsvScope,
    rows: list[BindingRow],
    *,
    actor: Actor,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Bind checked rows, :data:`APPLY_BATCH` per statement, in the caller's transaction (all of
    them or, if it is rolled back, none); ``progress`` hears how many rows each batch wrote.
    The audit trail gets one entry for the import."""
    written = 0
    for start in range(0, len(rows), APPLY_BATCH):
        batch = rows[start : start + APPLY_BATCH]
        written += await upsert_bindings(
            work, store_id, BindingScope(scope.value), ((row.ref, row.address_id) for row in batch)
        )
        if progress is not None:
            progress(len(batch))
    await open_entry(
        work,
        store_id=store_id,
        actor=actor,
        action="address.import",
        subject=f"store:{store_id}:bindings",
        details={"scope": scope.value, "rows": written},
        outcome=AuditOutcome.SUCCEEDED,
    )
    return written


class _Pending(msgspec.Struct, frozen=True, array_like=True):
    scope: CsvScope
    rows: list[BindingRow]


class PendingImports:
    """Checked imports waiting for the admin to apply their valid rows.

    Kept in the runtime's key-value store (Redis in production, so that any app process can
    finish it) for :data:`PENDING_IMPORT_TTL` seconds, bound to the store and the admin who
    uploaded, and taken once.
    """

    def __init__(self, kv: KeyValueStore) -> None:
        self.kv = kv

    @staticmethod
    def _key(token: str, store_id: int, user_id: int) -> str:
        return f"{store_id}:{user_id}:{token}"

    async def put(self, store_id: int, user_id: int, checked: CheckedFile) -> str:
        """Keep the valid rows of ``checked``; the token that takes them back."""
        token = secrets.token_urlsafe(16)
        data = msgspec.msgpack.encode(_Pending(scope=checked.scope, rows=checked.rows))
        await self.kv.set(self._key(token, store_id, user_id), data, expires_in=PENDING_IMPORT_TTL)
        return token

    async def take(self, token: str, store_id: int, user_id: int) -> tuple[CsvScope, list[BindingRow]] | None:
        """The rows kept under ``token`` for this store and admin (once), or None (expired,
        already applied, someone else's)."""
        key = self._key(token, store_id, user_id)
        data = await self.kv.get(key)
        if data is None:
            return None
        await self.kv.delete(key)
        pending = msgspec.msgpack.decode(data, type=_Pending)
        return pending.scope, pending.rows
