"""Assignment: who gets a waiting buyer — fairly, within capacity, only while online, exactly once.

Time moves by passing later instants to the services and by moving a ManualClock for the timer
runner (an offline agent's grace period); nothing sleeps on the wall clock.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import msgspec
import pytest
import sqlalchemy as sa
from litestar.exceptions import NotFoundException

from desk.accounts.models import Role
from desk.background import TIMER_HANDLERS
from desk.clock import ManualClock
from desk.db import utcnow
from desk.errors import Invalid
from desk.inbox.assignment import OFFLINE_GRACE
from desk.inbox.models import Conversation, ConversationStatus, Message, Presence
from desk.inbox.replies import send_reply
from desk.inbox.workflow import claim, resolve, set_status, transfer
from desk.ingest.models import EventSource, EventState, PlatformEvent
from desk.ingest.writer import EventRow, EventWriter
from desk.platform.events import decode_channels_event
from desk.runtime import Runtime
from desk.stores.models import Store
from desk.timers.runner import TimerRunner
from tests.inbox.support import (
    T0,
    at,
    buyer_writes,
    change_events,
    conversation,
    conversations,
    go,
    load_of,
    presence,
)
from tests.inbox.workers import run_workers
from tests.ingest.conftest import commkf_event, count_by_state


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def timers(runtime: Runtime, clock: ManualClock) -> TimerRunner:
    """The timer runner of a worker, on the test's clock."""
    return TimerRunner(runtime.db, clock, TIMER_HANDLERS, name="test-timers")


async def holders(runtime: Runtime, ids: list[int]) -> list[int | None]:
    return [(await conversation(runtime, i)).assignee_id for i in ids]


async def reply(runtime: Runtime, user, conversation_id: int, now, text: str = "您好") -> None:
    async with runtime.db.session() as session:
        result = await send_reply(
            session, runtime.wakeup, user=user, conversation_id=conversation_id, text=text, now=now
        )
    assert not isinstance(result, Invalid), result


# -- routing ----------------------------------------------------------------------------------------


async def test_a_buyer_goes_to_the_online_agent_with_fewest_open_conversations(
    runtime: Runtime, make_store, make_user
) -> None:
    store = await make_store()
    a = await make_user("a", Role.AGENT, [store])
    b = await make_user("b", Role.AGENT, [store])
    await go(runtime, a, Presence.ONLINE, at(0))
    first = [await buyer_writes(runtime, store, f"o_{n}", at(1 + n)) for n in range(2)]
    assert await holders(runtime, first) == [a.id, a.id]  # the only one online

    await go(runtime, b, Presence.ONLINE, at(10))
    later = [await buyer_writes(runtime, store, f"o_{n}", at(11 + n)) for n in range(2, 5)]
    # b has fewer open conversations until both hold two; then a, assigned longest ago, comes first.
    assert await holders(runtime, later) == [b.id, b.id, a.id]


async def test_equally_loaded_agents_take_turns_longest_unassigned_first(
    runtime: Runtime, make_store, make_user
) -> None:
    store = await make_store()
    a, b, c = [await make_user(name, Role.AGENT, [store]) for name in ("a", "b", "c")]
    await go(runtime, c, Presence.ONLINE, at(0))
    assert await holders(runtime, [await buyer_writes(runtime, store, "o_0", at(1))]) == [c.id]
    await go(runtime, a, Presence.ONLINE, at(2))
    await go(runtime, b, Presence.ONLINE, at(2))
    ids = [await buyer_writes(runtime, store, f"o_{n}", at(2 + n)) for n in range(1, 6)]
    # a and b were never assigned; then everyone holds one and c, assigned first, is next
    # (not a, as the order of their ids would have it).
    assert await holders(runtime, ids) == [a.id, b.id, c.id, a.id, b.id]


async def test_nobody_gets_more_than_their_capacity_the_rest_wait_in_the_pool(
    runtime: Runtime, make_store, make_user
) -> None:
    store = await make_store()
    a = await make_user("a", Role.AGENT, [store])
    await go(runtime, a, Presence.ONLINE, at(0), capacity=2)
    ids = [await buyer_writes(runtime, store, f"o_{n}", at(1 + n)) for n in range(3)]
    assert await holders(runtime, ids) == [a.id, a.id, None]
    pooled = await conversation(runtime, ids[2])
    assert (pooled.status, pooled.waiting_since) == (ConversationStatus.OPEN, at(3))


async def test_the_default_capacity_is_ten(runtime: Runtime, make_store, make_user) -> None:
    store = await make_store()
    a = await make_user("a", Role.AGENT, [store])
    await go(runtime, a, Presence.ONLINE, at(0))
    ids = [await buyer_writes(runtime, store, f"o_{n}", at(1 + n)) for n in range(11)]
    assert (await presence(runtime, a)).capacity == 10
    assert await holders(runtime, ids) == [a.id] * 10 + [None]


async def test_away_and_offline_agents_take_no_new_buyers_but_away_keeps_theirs(
    runtime: Runtime, make_store, make_user
) -> None:
    store = await make_store()
    a = await make_user("a", Role.AGENT, [store])
    b = await make_user("b", Role.AGENT, [store])
    c = await make_user("c", Role.AGENT, [store])  # never came online
    await go(runtime, a, Presence.ONLINE, at(0))
    kept = await buyer_writes(runtime, store, "o_kept", at(1))
    await go(runtime, a, Presence.AWAY, at(2))
    await go(runtime, b, Presence.ONLINE, at(2))
    ids = [await buyer_writes(runtime, store, f"o_{n}", at(3 + n)) for n in range(3)]
    assert await holders(runtime, ids) == [b.id] * 3
    assert await holders(runtime, [kept]) == [a.id]
    assert await load_of(runtime, c) == 0


async def test_with_nobody_online_buyers_wait_and_the_first_agent_online_takes_the_longest_waiting(
    runtime: Runtime, make_store, make_user
) -> None:
    store = await make_store()
    a = await make_user("a", Role.AGENT, [store])
    ids = [await buyer_writes(runtime, store, f"o_{n}", at(30 - 10 * n)) for n in range(3)]  # newest first
    assert await holders(runtime, ids) == [None, None, None]
    handed = await go(runtime, a, Presence.ONLINE, at(60), capacity=2)
    assert handed == [ids[2], ids[1]]  # waiting since 10 s and 20 s; the one since 30 s waits on
    assert await holders(runtime, ids) == [None, a.id, a.id]


async def test_admins_and_deactivated_agents_are_not_routed_to(
    runtime: Runtime, make_store, make_user
) -> None:
    store = await make_store()
    boss = await make_user("boss", Role.ADMIN, [store])
    gone = await make_user("gone", Role.AGENT, [store])
    await go(runtime, boss, Presence.ONLINE, at(0))
    await go(runtime, gone, Presence.ONLINE, at(0))
    async with runtime.db.session() as session:
        (await session.get_one(type(gone), gone.id)).is_active = False
    conversation_id = await buyer_writes(runtime, store, "o_1", at(1))
    assert await holders(runtime, [conversation_id]) == [None]


async def test_an_admin_or_a_deactivated_agent_going_online_is_handed_no_waiting_buyers(
    runtime: Runtime, make_store, make_user
) -> None:
    store = await make_store()
    boss = await make_user("boss", Role.ADMIN, [store])
    gone = await make_user("gone", Role.AGENT, [store])
    async with runtime.db.session() as session:
        (await session.get_one(type(gone), gone.id)).is_active = False
    waiting = await buyer_writes(runtime, store, "o_1", at(1))
    assert await go(runtime, boss, Presence.ONLINE, at(2)) == []
    assert await go(runtime, gone, Presence.ONLINE, at(2)) == []
    assert await holders(runtime, [waiting]) == [None]


async def test_agents_get_buyers_of_their_own_stores_only(runtime: Runtime, make_store, make_user) -> None:
    north, south = await make_store("北店"), await make_store("南店")
    a = await make_user("a", Role.AGENT, [north])
    await go(runtime, a, Presence.ONLINE, at(0))
    southern = await buyer_writes(runtime, south, "o_s", at(1))
    northern = await buyer_writes(runtime, north, "o_n", at(2))
    assert await holders(runtime, [southern, northern]) == [None, a.id]
    b = await make_user("b", Role.AGENT, [north, south])
    assert await go(runtime, b, Presence.ONLINE, at(3)) == [southern]


async def test_each_assignment_is_recorded_once(runtime: Runtime, make_store, make_user) -> None:
    store = await make_store()
    a = await make_user("a", Role.AGENT, [store])
    await go(runtime, a, Presence.ONLINE, at(0))
    conversation_id = await buyer_writes(runtime, store, "o_1", at(1))
    for n in range(2, 5):  # the buyer goes on writing: still a's, not assigned again
        await buyer_writes(runtime, store, "o_1", at(n))
    assigned = [e for e in await change_events(runtime, "conversation.changed") if e["what"] == "assigned"]
    assert [(e["conversation_id"], e["assignee_id"]) for e in assigned] == [(conversation_id, a.id)]


# -- going offline ------------------------------------------------------------------------------


async def test_an_offline_agents_unanswered_buyers_return_to_the_pool_after_the_grace_period(
    runtime: Runtime, make_store, make_user, clock: ManualClock, timers: TimerRunner
) -> None:
    store = await make_store()
    a = await make_user("a", Role.AGENT, [store])
    b = await make_user("b", Role.AGENT, [store])
    await go(runtime, a, Presence.ONLINE, at(0))
    waiting = await buyer_writes(runtime, store, "o_waiting", at(1))
    answered = await buyer_writes(runtime, store, "o_answered", at(2))
    await reply(runtime, a, answered, at(3))
    await go(runtime, b, Presence.ONLINE, at(4))

    clock.set(at(100))
    await go(runtime, a, Presence.OFFLINE, clock.now())
    clock.set(at(100) + OFFLINE_GRACE - (at(1) - at(0)))  # a second before the grace ends
    assert await timers.fire_due() == 0
    assert await holders(runtime, [waiting, answered]) == [a.id, a.id]

    clock.set(at(100) + OFFLINE_GRACE)
    assert await timers.fire_due() == 1
    # The waiting buyer goes to b at once; the one a answered stays with a.
    assert await holders(runtime, [waiting, answered]) == [b.id, a.id]
    assert (await conversation(runtime, waiting)).waiting_since == at(1)  # the wait goes on
    assert await timers.fire_due() == 0  # fired once


async def test_released_buyers_wait_in_the_pool_when_nobody_else_is_online(
    runtime: Runtime, make_store, make_user, clock: ManualClock, timers: TimerRunner
) -> None:
    store = await make_store()
    a = await make_user("a", Role.AGENT, [store])
    b = await make_user("b", Role.AGENT, [store])
    await go(runtime, a, Presence.ONLINE, at(0))
    waiting = await buyer_writes(runtime, store, "o_1", at(1))
    await go(runtime, a, Presence.OFFLINE, at(10))
    clock.set(at(10) + OFFLINE_GRACE)
    assert await timers.fire_due() == 1
    assert await holders(runtime, [waiting]) == [None]
    assert await go(runtime, b, Presence.ONLINE, at(100)) == [waiting]


async def test_coming_back_within_the_grace_period_keeps_every_conversation(
    runtime: Runtime, make_store, make_user, clock: ManualClock, timers: TimerRunner
) -> None:
    store = await make_store()
    a = await make_user("a", Role.AGENT, [store])
    b = await make_user("b", Role.AGENT, [store])
    await go(runtime, a, Presence.ONLINE, at(0))
    waiting = await buyer_writes(runtime, store, "o_1", at(1))
    await go(runtime, b, Presence.ONLINE, at(2))
    await go(runtime, a, Presence.OFFLINE, at(10))
    await go(runtime, a, Presence.ONLINE, at(40))
    clock.set(at(10) + OFFLINE_GRACE * 3)
    assert await timers.fire_due() == 0
    assert await holders(runtime, [waiting]) == [a.id]


async def test_going_offline_twice_does_not_extend_the_grace_period(
    runtime: Runtime, make_store, make_user, clock: ManualClock, timers: TimerRunner
) -> None:
    store = await make_store()
    a = await make_user("a", Role.AGENT, [store])
    b = await make_user("b", Role.AGENT, [store])
    await go(runtime, a, Presence.ONLINE, at(0))
    waiting = await buyer_writes(runtime, store, "o_1", at(1))
    await go(runtime, b, Presence.ONLINE, at(2))
    await go(runtime, a, Presence.OFFLINE, at(10))
    await go(runtime, a, Presence.OFFLINE, at(50))  # a second tab signing off, say
    clock.set(at(10) + OFFLINE_GRACE)
    assert await timers.fire_due() == 1
    assert await holders(runtime, [waiting]) == [b.id]


async def test_going_away_after_offline_keeps_the_conversations(
    runtime: Runtime, make_store, make_user, clock: ManualClock, timers: TimerRunner
) -> None:
    store = await make_store()
    a = await make_user("a", Role.AGENT, [store])
    b = await make_user("b", Role.AGENT, [store])
    await go(runtime, a, Presence.ONLINE, at(0))
    waiting = await buyer_writes(runtime, store, "o_1", at(1))
    await go(runtime, b, Presence.ONLINE, at(2))
    await go(runtime, a, Presence.OFFLINE, at(10))
    await go(runtime, a, Presence.AWAY, at(20))  # back at the desk, but taking no new buyers
    clock.set(at(10) + OFFLINE_GRACE * 3)
    await timers.fire_due()
    assert await holders(runtime, [waiting]) == [a.id]


async def test_a_buyer_writing_to_an_agent_who_went_offline_long_ago_goes_to_an_online_colleague(
    runtime: Runtime, make_store, make_user, clock: ManualClock, timers: TimerRunner
) -> None:
    store = await make_store()
    a = await make_user("a", Role.AGENT, [store])
    b = await make_user("b", Role.AGENT, [store])
    await go(runtime, a, Presence.ONLINE, at(0))
    answered = await buyer_writes(runtime, store, "o_1", at(1))
    await reply(runtime, a, answered, at(2))
    await go(runtime, b, Presence.ONLINE, at(3))
    await go(runtime, a, Presence.OFFLINE, at(10))
    clock.set(at(10) + OFFLINE_GRACE)
    await timers.fire_due()  # nothing of a's waited then
    assert await holders(runtime, [answered]) == [a.id]

    await buyer_writes(runtime, store, "o_1", at(3600), "还在吗？")
    assert await holders(runtime, [answered]) == [b.id]


async def test_a_buyer_writing_within_the_grace_period_stays_until_it_ends(
    runtime: Runtime, make_store, make_user, clock: ManualClock, timers: TimerRunner
) -> None:
    store = await make_store()
    a = await make_user("a", Role.AGENT, [store])
    b = await make_user("b", Role.AGENT, [store])
    await go(runtime, a, Presence.ONLINE, at(0))
    answered = await buyer_writes(runtime, store, "o_1", at(1))
    await reply(runtime, a, answered, at(2))
    await go(runtime, b, Presence.ONLINE, at(3))
    await go(runtime, a, Presence.OFFLINE, at(10))
    await buyer_writes(runtime, store, "o_1", at(20), "还在吗？")
    assert await holders(runtime, [answered]) == [a.id]  # a may be reloading their page
    clock.set(at(10) + OFFLINE_GRACE)
    assert await timers.fire_due() == 1
    assert await holders(runtime, [answered]) == [b.id]


async def test_a_resolved_conversation_reopening_while_its_agent_is_offline_goes_to_a_colleague(
    runtime: Runtime, make_store, make_user, clock: ManualClock, timers: TimerRunner
) -> None:
    store = await make_store()
    a = await make_user("a", Role.AGENT, [store])
    b = await make_user("b", Role.AGENT, [store])
    await go(runtime, a, Presence.ONLINE, at(0))
    done = await buyer_writes(runtime, store, "o_1", at(1))
    await reply(runtime, a, done, at(2))
    async with runtime.db.session() as session:
        await resolve(session, user=a, conversation_id=done, now=at(3))
    await go(runtime, a, Presence.OFFLINE, at(10))
    clock.set(at(10) + OFFLINE_GRACE)
    await timers.fire_due()
    await go(runtime, b, Presence.ONLINE, at(100))

    await buyer_writes(runtime, store, "o_1", at(7200), "又有问题了")
    reopened = await conversation(runtime, done)
    assert (reopened.status, reopened.assignee_id) == (ConversationStatus.OPEN, b.id)


async def test_a_resolved_conversation_reopening_goes_back_to_its_online_agent(
    runtime: Runtime, make_store, make_user
) -> None:
    store = await make_store()
    a = await make_user("a", Role.AGENT, [store])
    b = await make_user("b", Role.AGENT, [store])
    await go(runtime, a, Presence.ONLINE, at(0))
    done = await buyer_writes(runtime, store, "o_1", at(1))
    await go(runtime, b, Presence.ONLINE, at(2))
    async with runtime.db.session() as session:
        await resolve(session, user=a, conversation_id=done, now=at(3))
    await buyer_writes(runtime, store, "o_1", at(600), "又有问题了")
    assert await holders(runtime, [done]) == [a.id]  # the buyer keeps talking to the same person


# -- capacity freed --------------------------------------------------------------------------------


async def test_resolving_hands_the_agent_the_longest_waiting_buyer_at_once(
    runtime: Runtime, make_store, make_user
) -> None:
    store = await make_store()
    a = await make_user("a", Role.AGENT, [store])
    await go(runtime, a, Presence.ONLINE, at(0), capacity=1)
    first = await buyer_writes(runtime, store, "o_first", at(1))
    newer = await buyer_writes(runtime, store, "o_newer", at(20))
    older = await buyer_writes(runtime, store, "o_older", at(10))
    assert await holders(runtime, [first, older, newer]) == [a.id, None, None]
    async with runtime.db.session() as session:
        await resolve(session, user=a, conversation_id=first, now=at(30))
    assert await holders(runtime, [older, newer]) == [a.id, None]


async def test_putting_a_conversation_on_hold_frees_a_place(runtime: Runtime, make_store, make_user) -> None:
    store = await make_store()
    a = await make_user("a", Role.AGENT, [store])
    await go(runtime, a, Presence.ONLINE, at(0), capacity=1)
    first = await buyer_writes(runtime, store, "o_first", at(1))
    second = await buyer_writes(runtime, store, "o_second", at(2))
    async with runtime.db.session() as session:
        await set_status(session, user=a, conversation_id=first, status=ConversationStatus.PENDING, now=at(5))
    assert await holders(runtime, [first, second]) == [a.id, a.id]
    assert await load_of(runtime, a) == 1  # pending ones do not count


async def test_transferring_hands_the_agent_the_longest_waiting_buyer(
    runtime: Runtime, make_store, make_user
) -> None:
    store = await make_store()
    a = await make_user("a", Role.AGENT, [store])
    b = await make_user("b", Role.AGENT, [store])
    await go(runtime, a, Presence.ONLINE, at(0), capacity=1)
    first = await buyer_writes(runtime, store, "o_first", at(1))
    pooled = await buyer_writes(runtime, store, "o_pooled", at(2))
    async with runtime.db.session() as session:
        result = await transfer(session, user=a, conversation_id=first, to_user_id=b.id, now=at(5))
    assert not isinstance(result, Invalid)
    assert await holders(runtime, [first, pooled]) == [b.id, a.id]


# -- claim, transfer, reassign ---------------------------------------------------------------------


async def test_an_agent_claims_a_buyer_nobody_holds(runtime: Runtime, make_store, make_user) -> None:
    store = await make_store()
    a = await make_user("a", Role.AGENT, [store])
    pooled = await buyer_writes(runtime, store, "o_1", at(1))
    async with runtime.db.session() as session:
        result = await claim(session, user=a, conversation_id=pooled, now=at(2))
    assert not isinstance(result, Invalid)
    assert await holders(runtime, [pooled]) == [a.id]
    assert (await conversation(runtime, pooled)).assigned_at == at(2)


async def test_an_agent_cannot_take_a_colleagues_conversation_and_is_told_who_holds_it(
    runtime: Runtime, make_store, make_user
) -> None:
    store = await make_store()
    a = await make_user("a", Role.AGENT, [store])
    b = await make_user("b", Role.AGENT, [store])
    await go(runtime, a, Presence.ONLINE, at(0))
    held = await buyer_writes(runtime, store, "o_1", at(1))
    async with runtime.db.session() as session:
        refused = await claim(session, user=b, conversation_id=held, now=at(2))
    assert isinstance(refused, Invalid)
    assert refused.errors["assignee"].key == "inbox.reply.error.taken"
    assert refused.errors["assignee"].params == {"name": "a"}
    async with runtime.db.session() as session:
        refused = await transfer(session, user=b, conversation_id=held, to_user_id=b.id, now=at(2))
    assert isinstance(refused, Invalid)
    assert await holders(runtime, [held]) == [a.id]


async def test_a_manager_reassigns_and_the_former_holder_gets_the_next_waiting_buyer(
    runtime: Runtime, make_store, make_user
) -> None:
    store = await make_store()
    a = await make_user("a", Role.AGENT, [store])
    b = await make_user("b", Role.AGENT, [store])
    boss = await make_user("boss", Role.MANAGER, [store])
    await go(runtime, a, Presence.ONLINE, at(0), capacity=1)
    held = await buyer_writes(runtime, store, "o_1", at(1))
    pooled = await buyer_writes(runtime, store, "o_2", at(2))
    async with runtime.db.session() as session:
        result = await transfer(session, user=boss, conversation_id=held, to_user_id=b.id, now=at(3))
    assert not isinstance(result, Invalid)
    assert await holders(runtime, [held, pooled]) == [b.id, a.id]
    async with runtime.db.session() as session:
        result = await claim(session, user=boss, conversation_id=held, now=at(4))
    assert not isinstance(result, Invalid)
    assert await holders(runtime, [held]) == [boss.id]


async def test_transfer_only_to_an_active_colleague_of_the_store(
    runtime: Runtime, make_store, make_user
) -> None:
    store, other = await make_store(), await make_store()
    a = await make_user("a", Role.AGENT, [store])
    stranger = await make_user("stranger", Role.AGENT, [other])
    gone = await make_user("gone", Role.AGENT, [store])
    async with runtime.db.session() as session:
        (await session.get_one(type(gone), gone.id)).is_active = False
    await go(runtime, a, Presence.ONLINE, at(0))
    held = await buyer_writes(runtime, store, "o_1", at(1))
    for target in (stranger.id, gone.id, 999_999):
        async with runtime.db.session() as session:
            refused = await transfer(session, user=a, conversation_id=held, to_user_id=target, now=at(2))
        assert isinstance(refused, Invalid)
        assert refused.errors["to"].key == "inbox.error.not_colleague"
    assert await holders(runtime, [held]) == [a.id]


async def test_another_stores_agent_cannot_even_find_the_conversation(
    runtime: Runtime, make_store, make_user
) -> None:
    store, other = await make_store(), await make_store()
    stranger = await make_user("stranger", Role.MANAGER, [other])
    pooled = await buyer_writes(runtime, store, "o_1", at(1))
    for action in (
        lambda s: claim(s, user=stranger, conversation_id=pooled, now=at(2)),
        lambda s: transfer(s, user=stranger, conversation_id=pooled, to_user_id=stranger.id, now=at(2)),
        lambda s: resolve(s, user=stranger, conversation_id=pooled, now=at(2)),
    ):
        with pytest.raises(NotFoundException):
            async with runtime.db.session() as session:
                await action(session)
    assert await holders(runtime, [pooled]) == [None]


# -- exactly one assignee under concurrency --------------------------------------------------------


async def push_buyer_messages(runtime: Runtime, pushes: list[tuple[Store, dict]]) -> None:
    """Store commkf message events as the webhook does, many at once (concurrent submits)."""
    writer = EventWriter(runtime.db, batch_max=8, batch_wait_ms=1, writers=4)
    await writer.start()
    try:
        rows = []
        for store, payload in pushes:
            raw = msgspec.json.encode(payload)
            event = decode_channels_event(raw)
            rows.append(
                EventRow(
                    source=EventSource.CHANNELS,
                    store_id=store.id,
                    corp_id=None,
                    event_type=event.Event,
                    dedup_key=event.dedup_key(),
                    payload=raw.decode(),
                    state=EventState.PENDING,
                )
            )
        await asyncio.gather(*(writer.submit(row) for row in rows))
    finally:
        await writer.stop()


async def attempts_per_event(runtime: Runtime) -> Counter[int]:
    async with runtime.db.engine.connect() as conn:
        return Counter((await conn.execute(sa.select(PlatformEvent.attempts))).scalars())


async def test_parallel_buyer_messages_and_two_workers_give_each_conversation_exactly_one_assignee(
    runtime: Runtime, make_store, make_user
) -> None:
    """Two worker processes on PostgreSQL (on SQLite, two workers taking turns) apply bursts of
    messages from many buyers at once: every conversation is assigned once, to one agent of its
    store, nobody beyond capacity, and the load is even."""
    busy, small = await make_store("大店"), await make_store("小店")
    busy_agents = [await make_user(f"busy{n}", Role.AGENT, [busy]) for n in range(3)]
    small_agents = [await make_user(f"small{n}", Role.AGENT, [small]) for n in range(2)]
    now = utcnow()
    for agent in busy_agents:
        await go(runtime, agent, Presence.ONLINE, now)
    for agent in small_agents:
        await go(runtime, agent, Presence.ONLINE, now, capacity=4)

    rng = random.Random(7)
    pushes = [
        (
            store,
            commkf_event(f"o_{store.id}_{buyer}", f"m_{store.id}_{buyer}_{n}", f"问题{n}", 1_800_000_000 + n),
        )
        for store, buyers in ((busy, 24), (small, 12))
        for buyer in range(buyers)
        for n in range(3)  # each buyer writes three times: later messages race the first's routing
    ]
    rng.shuffle(pushes)
    # A backlog is waiting when the workers start (their first batches collide at once), and
    # the rest arrives while they work.
    half = len(pushes) // 2
    await asyncio.gather(*(push_buyer_messages(runtime, pushes[n:half:4]) for n in range(4)))
    async with run_workers(runtime, count=2):
        await asyncio.gather(*(push_buyer_messages(runtime, pushes[half + n :: 4]) for n in range(4)))

    assert await count_by_state(runtime) == {EventState.DONE: len(pushes)}
    # … each at the first try: the workers waited for each other, none was aborted as a deadlock.
    assert await attempts_per_event(runtime) == {1: len(pushes)}
    busy_rows = await conversations(runtime, Conversation.store_id == busy.id)
    small_rows = await conversations(runtime, Conversation.store_id == small.id)
    assert (len(busy_rows), len(small_rows)) == (24, 12)
    # The busy store has room for everyone: each buyer is held by one of its agents, 8 apiece.
    assert {row.assignee_id for row in busy_rows} <= {a.id for a in busy_agents}
    assert sorted(Counter(row.assignee_id for row in busy_rows).values()) == [8, 8, 8]
    # The small store's two agents take four each; the other four buyers wait in the pool.
    assert Counter(row.assignee_id for row in small_rows) == {a.id: 4 for a in small_agents} | {None: 4}
    assert all(row.waiting_since is not None for row in small_rows if row.assignee_id is None)
    # Assigned once each, and each time to an agent with the fewest open conversations at that
    # moment: replayed in the order the assignments were recorded (one at a time per store, as the
    # agents' rows are locked while choosing), no choice was made on a stale count.
    assigned = [e for e in await change_events(runtime, "conversation.changed") if e["what"] == "assigned"]
    assert Counter(e["conversation_id"] for e in assigned) == Counter(
        {row.id: 1 for row in busy_rows + small_rows if row.assignee_id is not None}
    )
    loads = {agent.id: 0 for agent in busy_agents + small_agents}
    team = {a.id: busy_agents for a in busy_agents} | {a.id: small_agents for a in small_agents}
    for event in assigned:
        agent_id = event["assignee_id"]
        assert loads[agent_id] == min(loads[a.id] for a in team[agent_id]), event
        loads[agent_id] += 1
    async with runtime.db.engine.connect() as conn:
        filed = (await conn.execute(sa.select(sa.func.count()).select_from(Message))).scalar_one()
    assert filed == len(pushes)
