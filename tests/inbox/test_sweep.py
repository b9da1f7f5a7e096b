"""What the inbox does as time passes: agents whose pages went quiet, idle conversations."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from desk.accounts.models import Role
from desk.inbox.assignment import note_seen
from desk.inbox.filing import record_buyer_message
from desk.inbox.models import Channel, ConversationStatus, Presence
from desk.inbox.replies import ReplyResult, send_reply
from desk.inbox.sweep import LAPSE_AFTER, sweep
from desk.inbox.workflow import set_status
from desk.runtime import Runtime
from tests.inbox.support import at, buyer_writes, change_events, conversation, go, presence

IDLE = dt.timedelta(hours=24)


@pytest.fixture
async def store(make_store):
    return await make_store()


async def seen(runtime: Runtime, agent, now: dt.datetime) -> list[int]:
    """A page of ``agent`` says it is open (the live stream's heartbeat)."""
    async with runtime.db.transaction() as conn:
        return list(await note_seen(conn, agent.id, now=now))


async def answer(runtime: Runtime, agent, conversation_id: int, now: dt.datetime) -> None:
    async with runtime.db.session() as session:
        result = await send_reply(
            session, runtime.wakeup, user=agent, conversation_id=conversation_id, text="好的", now=now
        )
    assert isinstance(result, ReplyResult)


# -- presence ---------------------------------------------------------------------------------------


async def test_an_agent_unheard_of_for_a_minute_goes_offline_and_their_waiting_buyers_move_on(
    runtime: Runtime, store, make_user
) -> None:
    a = await make_user("a", Role.AGENT, [store])
    b = await make_user("b", Role.AGENT, [store])
    await go(runtime, a, Presence.ONLINE, at(0))
    waiting = await buyer_writes(runtime, store, "o_1", at(1))
    answered = await buyer_writes(runtime, store, "o_2", at(2))
    await answer(runtime, a, answered, at(3))
    await go(runtime, b, Presence.ONLINE, at(30))

    assert await sweep(runtime.db, now=at(0) + LAPSE_AFTER, auto_resolve_after=None) == {
        "lapsed": 0,
        "released": 0,
        "resolved": 0,
    }
    assert (await presence(runtime, a)).status == Presence.ONLINE

    counts = await sweep(runtime.db, now=at(1) + LAPSE_AFTER, auto_resolve_after=None)
    assert counts == {"lapsed": 1, "released": 1, "resolved": 0}
    lapsed = await presence(runtime, a)
    assert (lapsed.status, lapsed.manual) == (Presence.OFFLINE, False)
    # No second grace period: the minute without news was it.
    assert (await conversation(runtime, waiting)).assignee_id == b.id
    assert (await conversation(runtime, answered)).assignee_id == a.id


async def test_a_buyer_returning_to_a_lapsed_agent_goes_to_a_colleague_at_once(
    runtime: Runtime, store, make_user
) -> None:
    a = await make_user("a", Role.AGENT, [store])
    b = await make_user("b", Role.AGENT, [store])
    await go(runtime, a, Presence.ONLINE, at(0))
    answered = await buyer_writes(runtime, store, "o_1", at(1))
    await answer(runtime, a, answered, at(2))
    await go(runtime, b, Presence.ONLINE, at(50))
    await sweep(runtime.db, now=at(61), auto_resolve_after=None)
    assert (await presence(runtime, a)).status == Presence.OFFLINE
    # The lapse was the grace period: no second one when the buyer writes again.
    await buyer_writes(runtime, store, "o_1", at(70), "在吗？")
    assert (await conversation(runtime, answered)).assignee_id == b.id


async def test_heartbeats_keep_an_agent_online(runtime: Runtime, store, make_user) -> None:
    a = await make_user("a", Role.AGENT, [store])
    await go(runtime, a, Presence.ONLINE, at(0))
    for second in (20, 40, 60, 80):
        await seen(runtime, a, at(second))
    await sweep(runtime.db, now=at(80) + LAPSE_AFTER, auto_resolve_after=None)
    assert (await presence(runtime, a)).status == Presence.ONLINE


async def test_a_lapsed_agent_is_online_again_when_their_page_is_back_and_takes_waiting_buyers(
    runtime: Runtime, store, make_user
) -> None:
    a = await make_user("a", Role.AGENT, [store])
    await go(runtime, a, Presence.ONLINE, at(0))
    await sweep(runtime.db, now=at(61), auto_resolve_after=None)
    pooled = await buyer_writes(runtime, store, "o_1", at(100))
    assert (await conversation(runtime, pooled)).assignee_id is None

    assert await seen(runtime, a, at(200)) == [pooled]
    back = await presence(runtime, a)
    assert (back.status, back.last_seen_at) == (Presence.ONLINE, at(200))


async def test_a_heartbeat_does_not_undo_what_the_agent_chose(runtime: Runtime, store, make_user) -> None:
    away = await make_user("away", Role.AGENT, [store])
    gone = await make_user("gone", Role.AGENT, [store])
    await go(runtime, away, Presence.AWAY, at(0))
    await go(runtime, gone, Presence.OFFLINE, at(0))
    await buyer_writes(runtime, store, "o_1", at(1))
    assert await seen(runtime, away, at(10)) == []
    assert await seen(runtime, gone, at(10)) == []
    assert ((await presence(runtime, away)).status, (await presence(runtime, gone)).status) == (
        Presence.AWAY,
        Presence.OFFLINE,
    )


async def test_coming_online_after_a_night_away_counts_as_being_seen(
    runtime: Runtime, store, make_user
) -> None:
    a = await make_user("a", Role.AGENT, [store])
    await go(runtime, a, Presence.ONLINE, at(0))
    await go(runtime, a, Presence.OFFLINE, at(30))
    morning = at(12 * 3600)
    await go(runtime, a, Presence.ONLINE, morning)
    handed = await buyer_writes(runtime, store, "o_1", morning + dt.timedelta(seconds=1))
    # The next sweep comes before the page's first heartbeat: a stays online, keeps the buyer.
    await sweep(runtime.db, now=morning + dt.timedelta(seconds=15), auto_resolve_after=None)
    assert (await presence(runtime, a)).status == Presence.ONLINE
    assert (await conversation(runtime, handed)).assignee_id == a.id


# -- auto-resolve -----------------------------------------------------------------------------------


async def test_a_conversation_idle_for_the_configured_hours_is_resolved(
    runtime: Runtime, store, make_user
) -> None:
    a = await make_user("a", Role.AGENT, [store])
    await go(runtime, a, Presence.ONLINE, at(0))
    idle = await buyer_writes(runtime, store, "o_1", at(1))
    await answer(runtime, a, idle, at(10))

    assert (await sweep(runtime.db, now=at(10) + IDLE, auto_resolve_after=IDLE))["resolved"] == 0
    assert (await conversation(runtime, idle)).status == ConversationStatus.OPEN  # not yet
    assert (await sweep(runtime.db, now=at(11) + IDLE, auto_resolve_after=IDLE))["resolved"] == 1
    done = await conversation(runtime, idle)
    assert (done.status, done.resolved_at) == (ConversationStatus.RESOLVED, at(11) + IDLE)
    [event] = [e for e in await change_events(runtime, "conversation.changed") if e["what"] == "status"]
    assert (event["origin"], event["status"]) == ("system", "resolved")


async def test_auto_resolve_spares_waiting_buyers_and_takes_pending_ones(
    runtime: Runtime, store, make_user
) -> None:
    a = await make_user("a", Role.AGENT, [store])
    await go(runtime, a, Presence.ONLINE, at(0))
    waiting = await buyer_writes(runtime, store, "o_waiting", at(1))
    pending = await buyer_writes(runtime, store, "o_pending", at(2))
    await answer(runtime, a, pending, at(3))
    async with runtime.db.session() as session:
        await set_status(
            session, user=a, conversation_id=pending, status=ConversationStatus.PENDING, now=at(4)
        )
    await sweep(runtime.db, now=at(10) + IDLE * 3, auto_resolve_after=IDLE)
    assert (await conversation(runtime, waiting)).status == ConversationStatus.OPEN
    assert (await conversation(runtime, pending)).status == ConversationStatus.RESOLVED


async def test_auto_resolve_can_be_off(runtime: Runtime, store, make_user) -> None:
    a = await make_user("a", Role.AGENT, [store])
    await go(runtime, a, Presence.ONLINE, at(0))
    idle = await buyer_writes(runtime, store, "o_1", at(1))
    await answer(runtime, a, idle, at(2))
    assert (await sweep(runtime.db, now=at(2) + IDLE * 30, auto_resolve_after=None))["resolved"] == 0
    assert (await conversation(runtime, idle)).status == ConversationStatus.OPEN


async def test_auto_resolve_frees_the_agents_place_for_a_waiting_buyer(
    runtime: Runtime, store, make_user
) -> None:
    a = await make_user("a", Role.AGENT, [store])
    await go(runtime, a, Presence.ONLINE, at(0), capacity=1)
    idle = await buyer_writes(runtime, store, "o_idle", at(1))
    await answer(runtime, a, idle, at(2))
    pooled = await buyer_writes(runtime, store, "o_pooled", at(2) + IDLE)
    later = at(3) + IDLE
    await seen(runtime, a, later)
    await sweep(runtime.db, now=later, auto_resolve_after=IDLE)
    assert (await conversation(runtime, pooled)).assignee_id == a.id


async def test_a_buyer_writing_while_the_sweep_runs_is_not_resolved_away(
    runtime: Runtime, store, make_user
) -> None:
    if runtime.db.is_sqlite:
        pytest.skip("SQLite has one writer: a buyer message cannot be filed while the sweep runs")
    a = await make_user("a", Role.AGENT, [store])
    await go(runtime, a, Presence.ONLINE, at(0))
    idle = await buyer_writes(runtime, store, "o_1", at(1))
    await answer(runtime, a, idle, at(2))
    late = at(3) + IDLE
    await seen(runtime, a, late)
    async with runtime.db.transaction() as conn:  # the worker is filing the buyer's new message …
        await record_buyer_message(
            conn,
            store_id=store.id,
            channel=Channel.COMMKF,
            peer_id="o_1",
            buyer_id=None,
            platform_msg_id="m-late",
            msg_type="text",
            text="还在吗",
            payload={},
            sent_at=late,
            now=late,
        )
        # … while the sweep runs: it must not wait for the worker, nor resolve the conversation after.
        counts = await asyncio.wait_for(sweep(runtime.db, now=late, auto_resolve_after=IDLE), timeout=30)
    assert counts["resolved"] == 0
    after = await conversation(runtime, idle)
    assert (after.status, after.waiting_since) == (ConversationStatus.OPEN, late)


async def test_a_heartbeat_while_the_sweep_runs_keeps_the_agent_online(
    runtime: Runtime, store, make_user
) -> None:
    if runtime.db.is_sqlite:
        pytest.skip("SQLite has one writer: a heartbeat cannot be recorded while the sweep runs")
    a = await make_user("a", Role.AGENT, [store])
    await go(runtime, a, Presence.ONLINE, at(0))
    async with runtime.db.transaction() as conn:  # the heartbeat is being recorded …
        await note_seen(conn, a.id, now=at(70))
        # … while the sweep runs on what it read before: it must not set the agent offline after.
        counts = await asyncio.wait_for(sweep(runtime.db, now=at(70), auto_resolve_after=None), timeout=30)
    assert counts["lapsed"] == 0
    assert (await presence(runtime, a)).status == Presence.ONLINE
