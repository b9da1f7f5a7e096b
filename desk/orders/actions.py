"""What an agent does to an order from the sidebar: answer an address change, write the merchant note.

Each is stored as an outbound command (:mod:`desk.orders.commands`) with its audit entry, in the
caller's transaction; the worker makes the platform call. Keys name the order, the action and
(for address changes) the request answered, so double clicks and two agents make one call.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import msgspec
import sqlalchemy as sa

from desk.accounts.models import User
from desk.accounts.scoping import store_ids_for
from desk.audit.service import Actor, open_entry
from desk.commands.service import enqueue, retry_suffix
from desk.db import Work
from desk.errors import Invalid
from desk.i18n import Message as Text
from desk.orders.commands import AcceptAddressChange, OrderPayload, RejectAddressChange, UpdateMerchantNote
from desk.orders.models import Order
from desk.wakeup import Wakeup

__all__ = ["MAX_NOTE_LENGTH", "OrderActionResult", "answer_address_change", "set_merchant_note"]

MAX_NOTE_LENGTH = 200
_order = Order.__table__


class OrderActionResult(msgspec.Struct, frozen=True, kw_only=True):
    command_id: int
    created: bool


async def _order_row(work: Work, user: User | None, store_id: int | None, order_id: str) -> Any:
    stmt = sa.select(_order.c.store_id, _order.c.order_id, _order.c.address_change, _order.c.status).where(
        _order.c.order_id == order_id
    )
    if store_id is not None:
        stmt = stmt.where(_order.c.store_id == store_id)
    if user is not None and (allowed := store_ids_for(user)) is not None:
        stmt = stmt.where(_order.c.store_id.in_(allowed))
    return (await work.execute(stmt)).first()


async def answer_address_change(
    work: Work,
    wakeup: Wakeup | None,
    *,
    actor: Actor,
    order_id: str,
    accept: bool,
    user: User | None = None,
    store_id: int | None = None,
    why: str = "",
    key: str = "",
    now: dt.datetime | None = None,
) -> OrderActionResult | Invalid:
    """Accept or reject the buyer's pending request to ship the order elsewhere.

    ``key`` (an API caller's) names the command; by default the order and the request answered do.
    """
    row = await _order_row(work, user, store_id, order_id)
    if row is None:
        return Invalid({"order": Text("orders.error.not_found")})
    change = row.address_change
    if not change:
        return Invalid({"order": Text("orders.error.no_address_change")})
    kind = AcceptAddressChange if accept else RejectAddressChange
    applied = str(change.get("applied_at", ""))
    ref = await enqueue(
        work,
        wakeup,
        store_id=row.store_id,
        kind=kind.name,
        key=(
            key
            or f"{kind.name}:{order_id}:{applied}"
            + await retry_suffix(work, row.store_id, f"order:{order_id}")
        )[:80],
        payload=msgspec.to_builtins(OrderPayload(order_id=order_id)),
        subject=f"order:{order_id}",
        origin=actor.key,
        created_by_id=actor.user_id,
    )
    if ref.created:
        await open_entry(
            work,
            store_id=row.store_id,
            actor=actor,
            action=kind.name,
            subject=f"order:{order_id}",
            reason=why,
            details={"address": change},
            command_id=ref.id,
            now=now,
        )
    return OrderActionResult(command_id=ref.id, created=ref.created)


async def set_merchant_note(
    work: Work,
    wakeup: Wakeup | None,
    *,
    actor: Actor,
    order_id: str,
    note: str,
    user: User | None = None,
    store_id: int | None = None,
    key: str = "",
    now: dt.datetime | None = None,
) -> OrderActionResult | Invalid:
    """Write the merchant's note on the order (shown in the store backend; never to the buyer)."""
    note = note.strip()
    if len(note) > MAX_NOTE_LENGTH:
        return Invalid({"note": Text("form.too_long", {"max": MAX_NOTE_LENGTH})})
    row = await _order_row(work, user, store_id, order_id)
    if row is None:
        return Invalid({"order": Text("orders.error.not_found")})
    ref = await enqueue(
        work,
        wakeup,
        store_id=row.store_id,
        kind=UpdateMerchantNote.name,
        key=(
            key
            or f"note:{order_id}:{hashlib.sha256(note.encode()).hexdigest()[:16]}"
            + await retry_suffix(work, row.store_id, f"order:{order_id}")
        )[:80],
        payload=msgspec.to_builtins(OrderPayload(order_id=order_id, merchant_notes=note)),
        subject=f"order:{order_id}",
        origin=actor.key,
        created_by_id=actor.user_id,
    )
    if ref.created:
        await open_entry(
            work,
            store_id=row.store_id,
            actor=actor,
            action=UpdateMerchantNote.name,
            subject=f"order:{order_id}",
            details={"note": note},
            command_id=ref.id,
            now=now,
        )
    return OrderActionResult(command_id=ref.id, created=ref.created)
