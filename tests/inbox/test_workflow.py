"""A conversation's status: resolved, put on hold for the buyer, reopened when the buyer writes."""

from __future__ import annotations

import pytest

from desk.accounts.models import Role
from desk.errors import Invalid
from desk.inbox.deadline import REPLY_DEADLINE
from desk.inbox.models import ConversationStatus, Presence
from desk.inbox.replies import ReplyResult, send_reply
from desk.inbox.workflow import claim, resolve, set_status
from desk.runtime import Runtime
from tests.inbox.support import at, buyer_writes, change_events, conversation, go


@pytest.fixture
async def store(make_store):
    return await make_store()


@pytest.fixture
async def agent(make_user, store):
    return await make_user("xiaochen", Role.AGENT, [store])


async def status_to(runtime: Runtime, user, conversation_id: int, status: ConversationStatus, now) -> None:
    async with runtime.db.session() as session:
        await set_status(session, user=user, conversation_id=conversation_id, status=status, now=now)


async def test_resolving_ends_the_wait_and_records_when(runtime: Runtime, store, agent) -> None:
    conversation_id = await buyer_writes(runtime, store, "o_1", at(0))
    async with runtime.db.session() as session:
        await resolve(session, user=agent, conversation_id=conversation_id, now=at(50))
    done = await conversation(runtime, conversation_id)
    assert (done.status, done.resolved_at, done.waiting_since, done.deadline_at) == (
        ConversationStatus.RESOLVED,
        at(50),
        None,
        None,
    )
    [event] = [e for e in await change_events(runtime, "conversation.changed") if e["what"] == "status"]
    assert (event["conversation_id"], event["status"], event["origin"]) == (
        conversation_id,
        "resolved",
        f"user:{agent.id}",
    )


async def test_a_new_buyer_message_reopens_a_resolved_conversation_and_starts_a_new_wait(
    runtime: Runtime, store, agent
) -> None:
    conversation_id = await buyer_writes(runtime, store, "o_1", at(0))
    async with runtime.db.session() as session:
        await resolve(session, user=agent, conversation_id=conversation_id, now=at(50))
    await buyer_writes(runtime, store, "o_1", at(3600), "又来了")
    reopened = await conversation(runtime, conversation_id)
    assert (reopened.status, reopened.resolved_at) == (ConversationStatus.OPEN, None)
    assert (reopened.waiting_since, reopened.deadline_at) == (at(3600), at(3600) + REPLY_DEADLINE)
    changes = [(e["what"], e["status"]) for e in await change_events(runtime, "conversation.changed")]
    assert changes[-1] == ("reopened", "open")


async def test_a_buyer_message_takes_a_pending_conversation_back_to_open(
    runtime: Runtime, store, agent
) -> None:
    await go(runtime, agent, Presence.ONLINE, at(0))
    conversation_id = await buyer_writes(runtime, store, "o_1", at(1))
    async with runtime.db.session() as session:
        result = await send_reply(
            session,
            runtime.wakeup,
            user=agent,
            conversation_id=conversation_id,
            text="请发一张照片",
            now=at(20),
        )
    assert isinstance(result, ReplyResult)
    await status_to(runtime, agent, conversation_id, ConversationStatus.PENDING, at(21))
    on_hold = await conversation(runtime, conversation_id)
    assert (on_hold.status, on_hold.waiting_since, on_hold.assignee_id) == (
        ConversationStatus.PENDING,
        None,
        agent.id,
    )

    await buyer_writes(runtime, store, "o_1", at(600), "[图片]")
    back = await conversation(runtime, conversation_id)
    assert (back.status, back.waiting_since, back.assignee_id) == (ConversationStatus.OPEN, at(600), agent.id)


async def test_an_agent_reopens_a_resolved_conversation(runtime: Runtime, store, agent) -> None:
    conversation_id = await buyer_writes(runtime, store, "o_1", at(0))
    async with runtime.db.session() as session:
        await resolve(session, user=agent, conversation_id=conversation_id, now=at(50))
    await status_to(runtime, agent, conversation_id, ConversationStatus.OPEN, at(60))
    again = await conversation(runtime, conversation_id)
    assert (again.status, again.resolved_at) == (ConversationStatus.OPEN, None)


async def test_claiming_ones_own_conversation_changes_nothing(runtime: Runtime, store, agent) -> None:
    await go(runtime, agent, Presence.ONLINE, at(0))
    conversation_id = await buyer_writes(runtime, store, "o_1", at(1))
    before = await change_events(runtime, "conversation.changed")
    async with runtime.db.session() as session:
        result = await claim(session, user=agent, conversation_id=conversation_id, now=at(5))
    assert not isinstance(result, Invalid)
    assert (await conversation(runtime, conversation_id)).assigned_at == at(1)
    assert await change_events(runtime, "conversation.changed") == before
