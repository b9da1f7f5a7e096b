"""Who answers whom: routing waiting buyers to online agents, fairly and exactly once.

Rules (each a function below):

* a conversation whose buyer waits and which nobody holds goes to an *online* agent of its store:
  the one with the fewest open conversations, under their capacity (default 10); among equally
  loaded agents, the one assigned longest ago (round-robin). Away and offline agents get none;
* when an agent's load falls (a conversation resolved, transferred, or they come online), the
  longest-waiting unassigned buyers of their stores are assigned to them at once;
* an agent who goes offline keeps their conversations for a grace period (60 s), then those whose
  buyer still waits go back to the pool and are routed again — and so does any conversation of
  theirs whose buyer starts waiting later, while they are still away from the desk;
* an agent may claim a conversation, transfer it to a colleague of the store; managers reassign.

Exactly one assignee under concurrency: an assignment is a compare-and-set on the conversation
(``… WHERE assignee_id IS NULL``), and the candidate agents' presence rows are locked in id order
before their load is counted, so two workers cannot both fill an agent's last free place.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa

from desk.accounts.models import Role, User, user_stores
from desk.changes.events import ConversationChanged
from desk.changes.record import record
from desk.db import Work, rows_matched
from desk.inbox.models import AgentPresence, Conversation, ConversationStatus, Presence
from desk.timers.service import cancel, schedule

__all__ = [
    "OFFLINE_GRACE",
    "assign_to",
    "fill_capacity",
    "lock_routing",
    "note_seen",
    "release_unanswered",
    "reroute_if_gone",
    "route",
    "set_presence",
]

OFFLINE_GRACE = dt.timedelta(seconds=60)
"""How long an offline agent keeps unanswered conversations before they return to the pool."""

_conversation = Conversation.__table__
_presence = AgentPresence.__table__
_user = User.__table__


def _open_load() -> sa.ScalarSelect[int]:
    """Open conversations held by the agent of the presence row being read."""
    return (
        sa.select(sa.func.count())
        .select_from(_conversation)
        .where(
            _conversation.c.assignee_id == _presence.c.user_id,
            _conversation.c.status == ConversationStatus.OPEN,
        )
        .correlate(_presence)
        .scalar_subquery()
    )


async def lock_routing(work: Work, store_id: int) -> list[int]:
    """Lock the presence rows of the agents who may be routed buyers of ``store_id`` (online,
    active, not admins), in id order, until the transaction ends; their ids.

    Routing holds these locks while it counts loads, so two transactions cannot both fill an
    agent's last place. A transaction that files buyer messages takes them *before* it touches
    any conversation of the store: a worker's batch then locks store by store, routing rows
    first, like every other batch, and two workers wait for each other instead of deadlocking
    (one holding the routing rows and wanting a conversation the other touched while wanting
    the routing rows).
    """
    members = sa.select(user_stores.c.user_id).where(user_stores.c.store_id == store_id)
    candidates = (
        sa.select(_presence.c.user_id)
        .join(_user, _user.c.id == _presence.c.user_id)
        .where(
            _presence.c.user_id.in_(members),
            _presence.c.status == Presence.ONLINE,
            _user.c.is_active,
            _user.c.role != Role.ADMIN,  # admins oversee; they take conversations by claiming them
        )
        .order_by(_presence.c.user_id)
        .with_for_update(of=_presence)
    )
    return list((await work.execute(candidates)).scalars())


async def _pick_agent(work: Work, store_id: int) -> int | None:
    """The online agent of ``store_id`` to get the next conversation, or None when all are full."""
    locked = await lock_routing(work, store_id)
    if not locked:
        return None
    load = _open_load().label("load")
    rows = (
        await work.execute(
            sa.select(_presence.c.user_id, _presence.c.capacity, _presence.c.last_assigned_at, load).where(
                _presence.c.user_id.in_(locked)
            )
        )
    ).all()
    free = [row for row in rows if row.load < row.capacity]
    if not free:
        return None
    never = dt.datetime.min.replace(tzinfo=dt.UTC)
    best = min(free, key=lambda row: (row.load, row.last_assigned_at or never, row.user_id))
    return int(best.user_id)


async def assign_to(
    work: Work,
    conversation_id: int,
    store_id: int,
    agent_id: int,
    *,
    now: dt.datetime,
    origin: str = "system",
    expect_assignee: int | str | None = None,
) -> bool:
    """Give the conversation to ``agent_id`` if it is held by ``expect_assignee`` (default: nobody;
    ``"any"``: whoever holds it). Returns whether it was assigned (False: someone else was first)."""
    stmt = sa.update(_conversation).where(_conversation.c.id == conversation_id)
    if expect_assignee is None:
        stmt = stmt.where(_conversation.c.assignee_id.is_(None))
    elif expect_assignee != "any":
        stmt = stmt.where(_conversation.c.assignee_id == expect_assignee)
    result = await work.execute(stmt.values(assignee_id=agent_id, assigned_at=now, updated_at=now))
    if not rows_matched(result):
        return False
    await work.execute(
        sa.update(_presence).where(_presence.c.user_id == agent_id).values(last_assigned_at=now)
    )
    await record(
        work,
        ConversationChanged(
            store_id=store_id,
            origin=origin,
            conversation_id=conversation_id,
            what="assigned",
            assignee_id=agent_id,
        ),
    )
    return True


async def route(work: Work, conversation_id: int, store_id: int, *, now: dt.datetime) -> int | None:
    """Assign an unassigned conversation to the best online agent of its store; who got it."""
    agent = await _pick_agent(work, store_id)
    if agent is None:
        return None  # it waits in the pool; the next agent with room takes it (fill_capacity)
    return agent if await assign_to(work, conversation_id, store_id, agent, now=now) else None


async def fill_capacity(work: Work, agent_id: int, *, now: dt.datetime) -> list[int]:
    """Give ``agent_id`` the longest-waiting unassigned buyers of their stores, while they are
    online with room; the conversations assigned."""
    assigned: list[int] = []
    presence = (
        await work.execute(
            sa.select(_presence.c.status, _presence.c.capacity, _user.c.is_active, _user.c.role)
            .join(_user, _user.c.id == _presence.c.user_id)
            .where(_presence.c.user_id == agent_id)
            .with_for_update(of=_presence)
        )
    ).first()
    # The same agents routing would choose: online, active, not admins.
    if presence is None or presence.status != Presence.ONLINE or not presence.is_active:
        return assigned
    if presence.role == Role.ADMIN:
        return assigned
    load = (
        await work.execute(
            sa.select(sa.func.count())
            .select_from(_conversation)
            .where(
                _conversation.c.assignee_id == agent_id,
                _conversation.c.status == ConversationStatus.OPEN,
            )
        )
    ).scalar_one()
    room = presence.capacity - load
    if room <= 0:
        return assigned
    stores = sa.select(user_stores.c.store_id).where(user_stores.c.user_id == agent_id)
    waiting = (
        await work.execute(
            sa.select(_conversation.c.id, _conversation.c.store_id)
            .where(
                _conversation.c.store_id.in_(stores),
                _conversation.c.assignee_id.is_(None),
                _conversation.c.status == ConversationStatus.OPEN,
                _conversation.c.waiting_since.is_not(None),
            )
            .order_by(_conversation.c.waiting_since, _conversation.c.id)
            .limit(room)
        )
    ).all()
    for row in waiting:
        if await assign_to(work, row.id, row.store_id, agent_id, now=now):
            assigned.append(row.id)
    return assigned


async def _release(
    work: Work, conversation_id: int, store_id: int, agent_id: int, *, now: dt.datetime
) -> bool:
    """Take the conversation from ``agent_id`` (if still theirs) and route it again."""
    result = await work.execute(
        sa.update(_conversation)
        .where(_conversation.c.id == conversation_id, _conversation.c.assignee_id == agent_id)
        .values(assignee_id=None, assigned_at=None, updated_at=now)
    )
    if not rows_matched(result):
        return False
    await record(
        work,
        ConversationChanged(
            store_id=store_id, origin="system", conversation_id=conversation_id, what="released"
        ),
    )
    await route(work, conversation_id, store_id, now=now)
    return True


async def release_unanswered(work: Work, agent_id: int, *, now: dt.datetime) -> list[int]:
    """Return the agent's conversations whose buyer waits to the pool and route each again."""
    rows = (
        await work.execute(
            sa.select(_conversation.c.id, _conversation.c.store_id).where(
                _conversation.c.assignee_id == agent_id,
                _conversation.c.status == ConversationStatus.OPEN,
                _conversation.c.waiting_since.is_not(None),
            )
        )
    ).all()
    return [row.id for row in rows if await _release(work, row.id, row.store_id, agent_id, now=now)]


async def reroute_if_gone(
    work: Work, conversation_id: int, store_id: int, agent_id: int, *, now: dt.datetime
) -> int | None:
    """A buyer starts waiting in a conversation ``agent_id`` holds: if the agent is gone — offline
    past the grace period, or set offline by the desk when their pages went quiet — it goes back
    to the pool and is routed again. Within the grace period it stays (the agent may be reloading
    a page); the grace timer releases it if they do not come back. Returns who holds it now."""
    presence = (
        await work.execute(
            sa.select(_presence.c.status, _presence.c.manual, _presence.c.changed_at).where(
                _presence.c.user_id == agent_id
            )
        )
    ).first()
    gone = (
        presence is not None
        and presence.status == Presence.OFFLINE
        and (not presence.manual or presence.changed_at + OFFLINE_GRACE <= now)
    )
    if not gone:
        return agent_id
    if not await _release(work, conversation_id, store_id, agent_id, now=now):
        return agent_id
    assignee: int | None = (
        await work.execute(
            sa.select(_conversation.c.assignee_id).where(_conversation.c.id == conversation_id)
        )
    ).scalar_one()
    return assignee


async def set_presence(
    work: Work, agent_id: int, status: Presence, *, now: dt.datetime, manual: bool = True
) -> Sequence[int]:
    """Change an agent's availability. Online: they are filled up at once. Offline: a timer
    returns their unanswered conversations to the pool after :data:`OFFLINE_GRACE`. Returns the
    conversations assigned to them as a result."""
    existing = (
        await work.execute(sa.select(_presence.c.status).where(_presence.c.user_id == agent_id))
    ).scalar_one_or_none()
    values: dict[str, object] = {"status": status, "changed_at": now, "manual": manual}
    if status is not Presence.OFFLINE:
        # The agent is at a page right now: without this, yesterday's last heartbeat would have
        # the next sweep set them offline again before their page's first heartbeat.
        values["last_seen_at"] = now
    if existing is None:
        await work.execute(sa.insert(_presence).values(user_id=agent_id, **{"last_seen_at": now, **values}))
    else:
        await work.execute(sa.update(_presence).where(_presence.c.user_id == agent_id).values(**values))
    key = release_timer_key(agent_id)
    if status is Presence.OFFLINE:
        if existing == Presence.OFFLINE:
            return []  # already going: the grace period runs from when they left, not again
        await schedule(
            work, key=key, kind="inbox.release", due_at=now + OFFLINE_GRACE, payload={"agent_id": agent_id}
        )
        return []
    await cancel(work, key)
    if status is Presence.ONLINE:
        return await fill_capacity(work, agent_id, now=now)
    return []


async def note_seen(work: Work, agent_id: int, *, now: dt.datetime) -> Sequence[int]:
    """A page of ``agent_id`` is open (the live stream's heartbeat): they are at the desk.

    An agent the desk set offline when their pages went quiet (:mod:`desk.inbox.sweep`) is online
    again, and is handed waiting buyers at once; a status the agent chose (away, offline) stays.
    Returns the conversations assigned to them as a result.
    """
    row = (
        await work.execute(
            sa.update(_presence)
            .where(_presence.c.user_id == agent_id)
            .values(last_seen_at=now)
            .returning(_presence.c.status, _presence.c.manual)
        )
    ).first()
    if row is None or row.manual or row.status != Presence.OFFLINE:
        return []
    return await set_presence(work, agent_id, Presence.ONLINE, now=now)


def release_timer_key(agent_id: int) -> str:
    return f"inbox.release:{agent_id}"
