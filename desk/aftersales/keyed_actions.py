"""After-sale actions asked with the caller's key (the JSON API): decide, intercept.

Each first looks the key up (:func:`desk.commands.replay.replayed`): the same key again answers
with the first command, however far it got, and nothing new is sent. Otherwise the request goes
to the same services as the buttons (:func:`~desk.aftersales.actions.decide`,
:func:`~desk.aftersales.interception.request_interception`), the key becoming the command's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from desk.accounts.models import User
from desk.accounts.scoping import store_ids_for
from desk.aftersales.actions import Decision, decide
from desk.aftersales.commands import Approve, Negotiate, Reject
from desk.aftersales.interception import (
    RequestInterception,
    confirm_interception,
    fail_interception,
    request_interception,
)
from desk.aftersales.models import AfterSale, Interception, InterceptionState
from desk.aftersales.status import AfterSaleAction
from desk.audit.service import Actor
from desk.commands.models import OutboundCommand
from desk.commands.replay import Accepted, command_ref, replayed
from desk.db import Work
from desk.errors import Invalid
from desk.i18n import Message as Text
from desk.wakeup import Wakeup

__all__ = ["decide_once", "intercept_once", "resolve_interception"]

_aftersale = AfterSale.__table__
_command = OutboundCommand.__table__
_interception = Interception.__table__

_KINDS = {
    AfterSaleAction.APPROVE: frozenset({Approve.name}),
    AfterSaleAction.CONFIRM_RECEIPT: frozenset({Approve.name}),
    AfterSaleAction.REJECT: frozenset({Reject.name}),
    AfterSaleAction.NEGOTIATE: frozenset({Negotiate.name}),
}


def actor_of(user: User) -> Actor:
    return Actor.user(user.id, user.display_name or user.username)


async def _scoped_aftersale(work: Work, user: User, after_sale_order_id: str) -> Any:
    stmt = sa.select(_aftersale.c.store_id, _aftersale.c.order_id).where(
        _aftersale.c.after_sale_order_id == after_sale_order_id
    )
    if (allowed := store_ids_for(user)) is not None:
        stmt = stmt.where(_aftersale.c.store_id.in_(allowed))
    return (await work.execute(stmt.limit(1))).first()


async def decide_once(
    work: Work,
    wakeup: Wakeup | None,
    *,
    user: User,
    after_sale_order_id: str,
    decision: Decision,
    now: dt.datetime | None = None,
) -> Accepted | Invalid:
    """Take ``decision`` as ``user``, once per ``decision.key`` (see the module docstring)."""
    row = await _scoped_aftersale(work, user, after_sale_order_id)
    if row is None:
        return Invalid({"aftersale": Text("aftersales.error.not_found")})
    if decision.key:
        earlier = await replayed(
            work,
            store_id=row.store_id,
            key=f"aftersale:{decision.key}",
            subject=f"aftersale:{after_sale_order_id}",
            kinds=_KINDS[decision.action],
        )
        if earlier is not None:
            return (
                earlier
                if isinstance(earlier, Invalid)
                else Accepted(command_id=earlier.id, state=earlier.state, created=False)
            )
    result = await decide(
        work,
        wakeup,
        actor=actor_of(user),
        after_sale_order_id=after_sale_order_id,
        decision=decision,
        user=user,
        store_id=row.store_id,
        now=now,
    )
    if isinstance(result, Invalid):
        return result
    command = await command_ref(work, result.command_id)
    return Accepted(
        command_id=command.id,
        state=command.state,
        created=result.created,
        handled_by=result.handled_by,
        address_id=result.address_id,
    )


async def intercept_once(
    work: Work,
    wakeup: Wakeup | None,
    *,
    user: User,
    after_sale_order_id: str,
    reason: str,
    key: str,
    now: dt.datetime | None = None,
) -> Accepted | Invalid:
    """Ask to stop the parcel of a refund-only request on a shipped order, once per ``key``.

    One interception per request at a time: asking again while the courier has not answered
    returns the interception already asked for, whoever asked.
    """
    row = await _scoped_aftersale(work, user, after_sale_order_id)
    if row is None:
        return Invalid({"aftersale": Text("aftersales.error.not_found")})
    subject = f"order:{row.order_id}"
    kinds = frozenset({RequestInterception.name})
    if key:
        earlier = await replayed(
            work, store_id=row.store_id, key=f"intercept:{key}", subject=subject, kinds=kinds
        )
        if earlier is not None:
            return (
                earlier
                if isinstance(earlier, Invalid)
                else Accepted(command_id=earlier.id, state=earlier.state, created=False)
            )
    latest_before = await _latest_interception_command(work, row.store_id, subject)
    result = await request_interception(
        work,
        wakeup,
        actor=actor_of(user),
        after_sale_order_id=after_sale_order_id,
        reason=reason,
        user=user,
        key=key,
        now=now,
    )
    if isinstance(result, Invalid):
        return result
    latest = await _latest_interception_command(work, row.store_id, subject)
    if latest is None:  # pragma: no cover - request_interception always stores its command
        raise RuntimeError(f"interception {result} has no command")
    command = await command_ref(work, latest)
    return Accepted(command_id=command.id, state=command.state, created=latest != latest_before)


async def _latest_interception_command(work: Work, store_id: int, subject: str) -> int | None:
    latest: int | None = (
        await work.execute(
            sa.select(sa.func.max(_command.c.id)).where(
                _command.c.store_id == store_id,
                _command.c.kind == RequestInterception.name,
                _command.c.subject == subject,
            )
        )
    ).scalar_one_or_none()
    return latest


async def resolve_interception(
    work: Work,
    wakeup: Wakeup | None,
    *,
    user: User,
    after_sale_order_id: str,
    stopped: bool,
    now: dt.datetime | None = None,
) -> Accepted | Invalid | None:
    """The courier answered the after-sale's open interception: ``stopped`` approves the refund
    (the command is returned), otherwise it is marked failed (None: nothing goes to the platform).

    Asked again after the parcel was confirmed stopped, it answers with the refund's command.
    """
    row = await _scoped_aftersale(work, user, after_sale_order_id)
    if row is None:
        return Invalid({"aftersale": Text("aftersales.error.not_found")})
    latest = (
        await work.execute(
            sa.select(_interception.c.id, _interception.c.state)
            .where(
                _interception.c.store_id == row.store_id,
                _interception.c.after_sale_order_id == after_sale_order_id,
            )
            .order_by(_interception.c.id.desc())
            .limit(1)
        )
    ).first()
    if latest is None:
        return Invalid({"interception": Text("aftersales.interception.no_interception")})
    if latest.state != InterceptionState.REQUESTED:
        return await _after_resolution(work, row.store_id, after_sale_order_id, latest.state, stopped=stopped)
    if not stopped:
        return await fail_interception(
            work, actor=actor_of(user), interception_id=latest.id, user=user, now=now
        )
    result = await confirm_interception(
        work, wakeup, actor=actor_of(user), interception_id=latest.id, user=user, now=now
    )
    if isinstance(result, Invalid):
        return result
    command = await command_ref(work, result.command_id)
    return Accepted(
        command_id=command.id, state=command.state, created=result.created, handled_by=result.handled_by
    )


async def _after_resolution(
    work: Work, store_id: int, after_sale_order_id: str, state: str, *, stopped: bool
) -> Accepted | Invalid:
    """A repeated "stopped" answers with the refund it led to; anything else is too late."""
    if stopped and state == InterceptionState.CONFIRMED:
        refund = await _latest_command(work, store_id, f"aftersale:{after_sale_order_id}", Approve.name)
        if refund is not None:
            command = await command_ref(work, refund)
            return Accepted(command_id=command.id, state=command.state, created=False)
    return Invalid({"interception": Text("aftersales.error.interception_closed", {"state": state})})


async def _latest_command(work: Work, store_id: int, subject: str, kind: str) -> int | None:
    latest: int | None = (
        await work.execute(
            sa.select(sa.func.max(_command.c.id)).where(
                _command.c.store_id == store_id, _command.c.kind == kind, _command.c.subject == subject
            )
        )
    ).scalar_one_or_none()
    return latest
