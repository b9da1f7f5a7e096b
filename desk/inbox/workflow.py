"""What agents and managers do with a conversation besides answering: take it, pass it on,
resolve it, reopen it, put it on hold for the buyer.

Agents take conversations nobody holds and pass on their own; a conversation a colleague holds is
not taken from them (they are told who holds it) — managers and admins may reassign any. Every
change records ``ConversationChanged``; freeing an agent's place hands them the longest-waiting
buyer at once (:func:`desk.inbox.assignment.fill_capacity`).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from desk.accounts.models import Role, User, user_stores
from desk.changes.events import ConversationChanged, user_origin
from desk.changes.record import record
from desk.db import Work
from desk.errors import Invalid
from desk.i18n import Message as Text
from desk.inbox.access import ConversationState, locked_for_change
from desk.inbox.assignment import assign_to, fill_capacity
from desk.inbox.models import Conversation, ConversationStatus

__all__ = ["claim", "resolve", "set_status", "transfer"]

_conversation = Conversation.__table__


async def _name(work: Work, user_id: int) -> str:
    row = (await work.execute(sa.select(User.display_name, User.username).where(User.id == user_id))).first()
    return (row.display_name or row.username) if row else "?"


async def claim(
    work: Work, *, user: User, conversation_id: int, now: dt.datetime
) -> ConversationState | Invalid:
    """``user`` takes the conversation. A colleague's conversation only a manager may take."""
    conversation = await locked_for_change(work, user, conversation_id)
    if conversation.assignee_id == user.id:
        return conversation
    held_by = conversation.assignee_id
    if held_by is not None and not user.role.at_least(Role.MANAGER):
        return Invalid({"assignee": Text("inbox.reply.error.taken", {"name": await _name(work, held_by)})})
    if not await assign_to(
        work,
        conversation.id,
        conversation.store_id,
        user.id,
        now=now,
        origin=user_origin(user.id),
        expect_assignee=held_by,
    ):
        return Invalid({"assignee": Text("inbox.error.changed")})
    if held_by is not None:
        await fill_capacity(work, held_by, now=now)
    return conversation


async def transfer(
    work: Work, *, user: User, conversation_id: int, to_user_id: int, now: dt.datetime
) -> ConversationState | Invalid:
    """Pass the conversation to a colleague who works for its store. The holder may pass their own
    (or one nobody holds); managers may reassign any."""
    conversation = await locked_for_change(work, user, conversation_id)
    held_by = conversation.assignee_id
    if held_by not in (None, user.id) and not user.role.at_least(Role.MANAGER):
        return Invalid({"assignee": Text("inbox.reply.error.taken", {"name": await _name(work, held_by)})})
    target = (
        await work.execute(
            sa.select(User.id)
            .join(user_stores, user_stores.c.user_id == User.id)
            .where(User.id == to_user_id, User.is_active, user_stores.c.store_id == conversation.store_id)
        )
    ).scalar_one_or_none()
    if target is None:
        return Invalid({"to": Text("inbox.error.not_colleague")})
    if held_by == to_user_id:
        return conversation
    if not await assign_to(
        work,
        conversation.id,
        conversation.store_id,
        to_user_id,
        now=now,
        origin=user_origin(user.id),
        expect_assignee=held_by,
    ):
        return Invalid({"assignee": Text("inbox.error.changed")})
    if held_by is not None:
        await fill_capacity(work, held_by, now=now)
    return conversation


async def set_status(
    work: Work,
    *,
    user: User | None,
    conversation_id: int,
    status: ConversationStatus,
    now: dt.datetime,
    conversation: ConversationState | None = None,
) -> ConversationState:
    """Resolve, reopen or put the conversation on hold (pending) for the buyer.

    Resolving ends any wait (a buyer left unanswered counts as missed, as it should) and frees
    the holder's place. ``user`` None is the desk itself (auto-resolve); then ``conversation``
    must be given.
    """
    if conversation is None:
        if user is None:
            raise ValueError("set_status needs the acting user or the conversation")
        conversation = await locked_for_change(work, user, conversation_id)
    values: dict[str, object] = {"status": status, "updated_at": now}
    if status is ConversationStatus.RESOLVED:
        values |= {"resolved_at": now, "waiting_since": None, "deadline_at": None}
    else:
        values["resolved_at"] = None
    await work.execute(sa.update(_conversation).where(_conversation.c.id == conversation.id).values(**values))
    await record(
        work,
        ConversationChanged(
            store_id=conversation.store_id,
            origin=user_origin(user.id) if user else "system",
            conversation_id=conversation.id,
            what="status",
            assignee_id=conversation.assignee_id,
            status=status,
        ),
    )
    if status is not ConversationStatus.OPEN and conversation.assignee_id is not None:
        await fill_capacity(work, conversation.assignee_id, now=now)
    return conversation


async def resolve(work: Work, *, user: User, conversation_id: int, now: dt.datetime) -> ConversationState:
    """Mark the conversation done (a new buyer message reopens it)."""
    return await set_status(
        work, user=user, conversation_id=conversation_id, status=ConversationStatus.RESOLVED, now=now
    )
