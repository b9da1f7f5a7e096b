"""Order actions asked with the caller's key (the JSON API): answer an address change, set the note.

As for after-sales (:mod:`desk.aftersales.keyed_actions`), the key is looked up first, so a
retried request answers with its first command even after the order moved on.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from desk.accounts.models import User
from desk.accounts.scoping import store_ids_for
from desk.audit.service import Actor
from desk.commands.replay import Accepted, command_ref, replayed
from desk.db import Work
from desk.errors import Invalid
from desk.i18n import Message as Text
from desk.orders.actions import OrderActionResult, answer_address_change, set_merchant_note
from desk.orders.commands import AcceptAddressChange, RejectAddressChange, UpdateMerchantNote
from desk.orders.models import Order
from desk.wakeup import Wakeup

__all__ = ["answer_address_change_once", "set_merchant_note_once"]

_order = Order.__table__


def _actor(user: User) -> Actor:
    return Actor.user(user.id, user.display_name or user.username)


async def _store_of(work: Work, user: User, order_id: str) -> int | None:
    stmt = sa.select(_order.c.store_id).where(_order.c.order_id == order_id)
    if (allowed := store_ids_for(user)) is not None:
        stmt = stmt.where(_order.c.store_id.in_(allowed))
    return (await work.execute(stmt.limit(1))).scalar_one_or_none()


async def _replayed(
    work: Work, store_id: int, key: str, order_id: str, kind: str
) -> Accepted | Invalid | None:
    earlier = await replayed(
        work, store_id=store_id, key=key, subject=f"order:{order_id}", kinds=frozenset({kind})
    )
    if earlier is None or isinstance(earlier, Invalid):
        return earlier
    return Accepted(command_id=earlier.id, state=earlier.state, created=False)


async def _accepted(work: Work, result: OrderActionResult) -> Accepted:
    command = await command_ref(work, result.command_id)
    return Accepted(command_id=command.id, state=command.state, created=result.created)


async def answer_address_change_once(
    work: Work,
    wakeup: Wakeup | None,
    *,
    user: User,
    order_id: str,
    accept: bool,
    why: str,
    key: str,
    now: dt.datetime | None = None,
) -> Accepted | Invalid:
    """Accept or reject the buyer's pending address change as ``user``, once per ``key``."""
    store_id = await _store_of(work, user, order_id)
    if store_id is None:
        return Invalid({"order": Text("orders.error.not_found")})
    kind = (AcceptAddressChange if accept else RejectAddressChange).name
    command_key = f"address:{key}" if key else ""
    if command_key and (earlier := await _replayed(work, store_id, command_key, order_id, kind)) is not None:
        return earlier
    result = await answer_address_change(
        work,
        wakeup,
        actor=_actor(user),
        order_id=order_id,
        accept=accept,
        user=user,
        store_id=store_id,
        why=why,
        key=command_key,
        now=now,
    )
    return result if isinstance(result, Invalid) else await _accepted(work, result)


async def set_merchant_note_once(
    work: Work,
    wakeup: Wakeup | None,
    *,
    user: User,
    order_id: str,
    note: str,
    key: str,
    now: dt.datetime | None = None,
) -> Accepted | Invalid:
    """Write the merchant note as ``user``, once per ``key`` (the same note twice is one call too)."""
    store_id = await _store_of(work, user, order_id)
    if store_id is None:
        return Invalid({"order": Text("orders.error.not_found")})
    command_key = f"note:{key}" if key else ""
    if (
        command_key
        and (earlier := await _replayed(work, store_id, command_key, order_id, UpdateMerchantNote.name))
        is not None
    ):
        return earlier
    result = await set_merchant_note(
        work,
        wakeup,
        actor=_actor(user),
        order_id=order_id,
        note=note,
        user=user,
        store_id=store_id,
        key=command_key,
        now=now,
    )
    return result if isinstance(result, Invalid) else await _accepted(work, result)
