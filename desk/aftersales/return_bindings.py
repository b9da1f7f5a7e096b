"""一货一址 bindings: which return address a SKU, a product or the whole store uses.

:func:`desk.aftersales.addresses.return_address_for` reads them (SKU beats product beats the store
default); this module writes and lists them. A binding names one of the store's synced return
addresses (``merchant_address`` with ``is_return``) and, for a SKU or product, one the desk has
seen in the store's orders or after-sales — a typo in an id would otherwise bind nothing, silently.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from desk.aftersales.models import AfterSale, MerchantAddress, ReturnAddressBinding
from desk.audit.models import Outcome as AuditOutcome
from desk.audit.service import Actor, open_entry
from desk.db import Work, dialect_name, insert_for, utcnow
from desk.errors import Invalid
from desk.i18n import Message
from desk.orders.models import Order, OrderLine

__all__ = [
    "BindingForm",
    "BindingScope",
    "BindingView",
    "bind",
    "count_bindings",
    "known_refs",
    "list_bindings",
    "return_address_ids",
    "unbind",
    "upsert_bindings",
]

_binding = ReturnAddressBinding.__table__
_address = MerchantAddress.__table__
_order = Order.__table__
_line = OrderLine.__table__
_aftersale = AfterSale.__table__
# Ids per IN (...) list: well under SQLite's and asyncpg's limits on bound parameters.
_CHUNK = 5_000


class BindingScope(enum.StrEnum):
    SKU = "sku"
    PRODUCT = "product"
    STORE = "store"
    """The store default (``ref`` empty)."""


class BindingForm(msgspec.Struct, kw_only=True):
    """The bind form: what to bind (``scope`` and, unless the store default, its id) to which
    address."""

    scope: str = ""
    ref: str = ""
    address_id: str = ""


class BindingView(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    scope: BindingScope
    ref: str
    address_id: str
    address_label: str
    """The address as it reads, or empty when it is no longer among the store's return addresses."""


async def return_address_ids(work: Work, store_id: int) -> set[str]:
    """The store's synced return addresses (those a return may be sent to)."""
    rows = await work.execute(
        sa.select(_address.c.address_id).where(_address.c.store_id == store_id, _address.c.is_return)
    )
    return set(rows.scalars())


def _chunks(values: Collection[str], dialect: str) -> Iterable[list[str]]:
    ordered = sorted(values)
    if dialect == "postgresql":  # one array parameter, whatever the number of ids
        yield ordered
        return
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start : start + _CHUNK]


def _one_of(column: sa.ColumnElement[str], ids: list[str], dialect: str) -> sa.ColumnElement[bool]:
    """``column IN ids``: on PostgreSQL ``= ANY(array)``, planned once instead of with one
    parameter per id (about twice as fast at 10,000 ids)."""
    if dialect == "postgresql":
        return column == sa.any_(sa.literal(ids, type_=postgresql.ARRAY(sa.String)))
    return column.in_(ids)


async def known_refs(work: Work, store_id: int, scope: BindingScope, refs: Collection[str]) -> set[str]:
    """Those of ``refs`` (SKU or product ids) seen in the store's orders, after-sales or bindings."""
    column = "sku_id" if scope is BindingScope.SKU else "product_id"
    found: set[str] = set()
    dialect = dialect_name(work)
    for chunk in _chunks(refs, dialect):
        in_orders = (
            sa.select(_line.c[column].label("ref"))
            .join(_order, _order.c.id == _line.c.order_pk)
            .where(_order.c.store_id == store_id, _one_of(_line.c[column], chunk, dialect))
        )
        in_aftersales = sa.select(_aftersale.c[column].label("ref")).where(
            _aftersale.c.store_id == store_id, _one_of(_aftersale.c[column], chunk, dialect)
        )
        in_bindings = sa.select(_binding.c.ref.label("ref")).where(
            _binding.c.store_id == store_id,
            _binding.c.scope == scope.value,
            _one_of(_binding.c.ref, chunk, dialect),
        )
        union = sa.union(in_orders, in_aftersales, in_bindings).subquery()
        found.update((await work.execute(sa.select(union.c.ref))).scalars())
    return found


async def upsert_bindings(
    work: Work, store_id: int, scope: BindingScope, pairs: Iterable[tuple[str, str]]
) -> int:
    """Bind each ``(ref, address_id)`` in one statement (batched by the driver on SQLite),
    replacing an earlier binding of the same ref; returns how many were written. Callers check
    the pairs first (each ref once)."""
    pairs = list(pairs)
    if not pairs:
        return 0
    now = utcnow()
    dialect = dialect_name(work)
    insert = insert_for(dialect, _binding)
    if dialect == "postgresql":
        # Two array parameters unnested side by side: one short statement for any number of
        # rows, where a VALUES list would bind six parameters per row (and plan them).
        refs, address_ids = (list(column) for column in zip(*pairs, strict=True))
        text_array = postgresql.ARRAY(sa.String)
        rows = sa.select(
            sa.literal(store_id, type_=_binding.c.store_id.type),
            sa.literal(scope.value),
            sa.func.unnest(sa.literal(refs, type_=text_array)),
            sa.func.unnest(sa.literal(address_ids, type_=text_array)),
            sa.literal(now, type_=_binding.c.created_at.type),
            sa.literal(now, type_=_binding.c.updated_at.type),
        )
        names = ["store_id", "scope", "ref", "address_id", "created_at", "updated_at"]
        stmt = insert.from_select(names, rows)
        await work.execute(_replacing(stmt))
    else:
        values = [
            {
                "store_id": store_id,
                "scope": scope.value,
                "ref": ref,
                "address_id": address_id,
                "created_at": now,
                "updated_at": now,
            }
            for ref, address_id in pairs
        ]
        # executemany: one compiled statement, batched by the driver (a VALUES list as long as
        # the batch compiles anew each time, several times slower on SQLite).
        await work.execute(_replacing(insert), values)
    return len(pairs)


def _replacing(insert: Any) -> Any:
    """The upsert ``insert`` with a binding of the same ref replaced."""
    return insert.on_conflict_do_update(
        index_elements=[_binding.c.store_id, _binding.c.scope, _binding.c.ref],
        set_={"address_id": insert.excluded.address_id, "updated_at": insert.excluded.updated_at},
    )


async def bind(work: Work, store_id: int, form: BindingForm, *, actor: Actor) -> BindingScope | Invalid:
    """Bind one SKU, product or the store default to a return address (replacing its binding),
    recorded in the audit trail."""
    errors: dict[str, Message] = {}
    scope = BindingScope(form.scope) if form.scope in {s.value for s in BindingScope} else None
    ref = form.ref.strip() if scope is not BindingScope.STORE else ""
    address_id = form.address_id.strip()
    if scope is None:
        errors["scope"] = Message("addresses.bind.choose_scope")
    elif scope is not BindingScope.STORE and not ref:
        errors["ref"] = Message(f"addresses.bind.missing_{scope.value}")
    elif scope is not BindingScope.STORE and ref not in await known_refs(work, store_id, scope, [ref]):
        errors["ref"] = Message(f"addresses.bind.unknown_{scope.value}", {"ref": ref})
    if address_id not in await return_address_ids(work, store_id):
        errors["address_id"] = Message("addresses.bind.unknown_address")
    if errors or scope is None:
        return Invalid(errors)
    await upsert_bindings(work, store_id, scope, [(ref, address_id)])
    await _audit(
        work,
        store_id,
        actor,
        action="address.bind",
        subject=f"{scope.value}:{ref}",
        details={"address_id": address_id},
    )
    return scope


async def _audit(
    work: Work, store_id: int, actor: Actor, *, action: str, subject: str, details: dict[str, Any]
) -> None:
    await open_entry(
        work,
        store_id=store_id,
        actor=actor,
        action=action,
        subject=subject,
        details=details,
        outcome=AuditOutcome.SUCCEEDED,
    )


async def unbind(work: Work, store_id: int, binding_id: int, *, actor: Actor) -> bool:
    """Remove one binding of the store (recorded in the audit trail); False if there was none."""
    removed = (
        await work.execute(
            sa.delete(_binding)
            .where(_binding.c.id == binding_id, _binding.c.store_id == store_id)
            .returning(_binding.c.scope, _binding.c.ref, _binding.c.address_id)
        )
    ).first()
    if removed is None:
        return False
    subject = f"{removed.scope}:{removed.ref}"
    await _audit(
        work,
        store_id,
        actor,
        action="address.unbind",
        subject=subject,
        details={"address_id": removed.address_id},
    )
    return True


async def list_bindings(
    work: Work, store_id: int, *, scope: BindingScope | None = None, limit: int | None = None
) -> list[BindingView]:
    """The store's bindings, the default first, then products, then SKUs (each by id)."""
    labels = {
        row.address_id: " ".join(part for part in (row.name, row.region, row.detail) if part)
        for row in await work.execute(
            sa.select(_address.c.address_id, _address.c.name, _address.c.region, _address.c.detail).where(
                _address.c.store_id == store_id, _address.c.is_return
            )
        )
    }
    rank = sa.case((_binding.c.scope == "store", 0), (_binding.c.scope == "product", 1), else_=2)
    stmt = (
        sa.select(_binding.c.id, _binding.c.scope, _binding.c.ref, _binding.c.address_id)
        .where(_binding.c.store_id == store_id)
        .order_by(rank, _binding.c.ref)
    )
    if scope is not None:
        stmt = stmt.where(_binding.c.scope == scope.value)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [
        BindingView(
            id=row.id,
            scope=BindingScope(row.scope),
            ref=row.ref,
            address_id=row.address_id,
            address_label=labels.get(row.address_id, ""),
        )
        for row in await work.execute(stmt)
    ]


async def count_bindings(work: Work, store_id: int) -> dict[BindingScope, int]:
    """How many bindings the store has of each scope."""
    rows = await work.execute(
        sa.select(_binding.c.scope, sa.func.count())
        .where(_binding.c.store_id == store_id)
        .group_by(_binding.c.scope)
    )
    counts = dict.fromkeys(BindingScope, 0)
    counts.update({BindingScope(scope): n for scope, n in rows})
    return counts
