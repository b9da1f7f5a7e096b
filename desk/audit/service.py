"""Writing the audit trail: an entry when an action is asked, completed when its command ends."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from desk.audit.models import AuditEntry, Outcome
from desk.db import Work, utcnow

__all__ = ["Actor", "close_for_command", "open_entry", "refused"]

_entry = AuditEntry.__table__


class Actor:
    """Who acts: a user (``user:<id>``), a rule (``rule:<id>``) or the desk itself (``system``)."""

    __slots__ = ("key", "name", "user_id")

    def __init__(self, key: str, name: str, user_id: int | None = None) -> None:
        self.key = key
        self.name = name
        self.user_id = user_id

    @classmethod
    def user(cls, user_id: int, name: str) -> Actor:
        return cls(f"user:{user_id}", name, user_id)

    @classmethod
    def rule(cls, rule_id: int, name: str) -> Actor:
        return cls(f"rule:{rule_id}", name)


async def open_entry(
    work: Work,
    *,
    store_id: int,
    actor: Actor,
    action: str,
    subject: str,
    reason: str = "",
    details: dict[str, Any] | None = None,
    command_id: int | None = None,
    outcome: Outcome = Outcome.PENDING,
    now: dt.datetime | None = None,
) -> int:
    """Record an action as asked (or, with another ``outcome``, as already decided); its id."""
    return int(
        (
            await work.execute(
                sa.insert(_entry)
                .values(
                    store_id=store_id,
                    actor=actor.key,
                    actor_name=actor.name[:64],
                    action=action,
                    subject=subject,
                    reason=reason,
                    details=details or {},
                    outcome=outcome,
                    command_id=command_id,
                    created_at=now or utcnow(),
                    finished_at=None if outcome is Outcome.PENDING else (now or utcnow()),
                )
                .returning(_entry.c.id)
            )
        ).scalar_one()
    )


async def refused(
    work: Work,
    *,
    store_id: int,
    actor: Actor,
    action: str,
    subject: str,
    why: str,
    details: dict[str, Any] | None = None,
) -> int:
    """Record an action the desk refused before asking the platform (already handled, wrong status)."""
    entry = await open_entry(
        work,
        store_id=store_id,
        actor=actor,
        action=action,
        subject=subject,
        details=details,
        outcome=Outcome.REFUSED,
    )
    await work.execute(sa.update(_entry).where(_entry.c.id == entry).values(error=why))
    return entry


async def close_for_command(
    work: Work, command_id: int, *, succeeded: bool, error_code: int | None = None, error: str = ""
) -> None:
    """Complete the entries waiting for ``command_id`` with its outcome."""
    await work.execute(
        sa.update(_entry)
        .where(_entry.c.command_id == command_id, _entry.c.outcome == Outcome.PENDING)
        .values(
            outcome=Outcome.SUCCEEDED if succeeded else Outcome.FAILED,
            error_code=error_code,
            error=error[:2000],
            finished_at=utcnow(),
        )
    )
