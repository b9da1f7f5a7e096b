"""Replies, notes and automatic replies: the platform's window and limit, who may answer, one
message per submit, and what a reply that never arrived means for the buyer's wait."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from typing import Any

import pytest
import sqlalchemy as sa
from litestar.exceptions import NotFoundException

from desk.accounts.models import Role, User
from desk.background import COMMAND_KINDS
from desk.commands.models import CommandState, OutboundCommand
from desk.commands.runner import CommandRunner
from desk.db import utcnow
from desk.errors import Invalid
from desk.inbox.access import conversation_for
from desk.inbox.deadline import REPLY_DEADLINE, REPLY_LIMIT, REPLY_WINDOW
from desk.inbox.models import ConversationStatus, Delivery, Presence, Sender
from desk.inbox.replies import (
    MAX_REPLY_LENGTH,
    ReplyResult,
    add_note,
    replies_left,
    retry_reply,
    send_auto_reply,
    send_reply,
)
from desk.inbox.workflow import resolve
from desk.runtime import Runtime
from desk.simulator import Faults
from tests.inbox.support import at, buyer_writes, change_events, conversation, go, messages
from tests.ingest.conftest import Platform

SENDMSG = "commkf/sendmsg"


async def reply(
    runtime: Runtime, user: User, conversation_id: int, now: dt.datetime, text: str = "您好", **options: Any
) -> ReplyResult | Invalid:
    async with runtime.db.session() as session:
        return await send_reply(
            session, runtime.wakeup, user=user, conversation_id=conversation_id, text=text, now=now, **options
        )


async def left(runtime: Runtime, user: User, conversation_id: int, now: dt.datetime) -> int:
    async with runtime.db.session() as session:
        state = await conversation_for(session, user, conversation_id)
        return await replies_left(session, state, now=now)


async def auto_reply(runtime: Runtime, user: User, conversation_id: int, now: dt.datetime, key: str) -> Any:
    async with runtime.db.session() as session:
        state = await conversation_for(session, user, conversation_id)
        return await send_auto_reply(
            session,
            runtime.wakeup,
            conversation=state,
            text="自动回复：稍等",
            key=key,
            origin="rule:1",
            now=now,
        )


async def commands(runtime: Runtime) -> list[Any]:
    async with runtime.db.engine.connect() as conn:
        return list(
            (await conn.execute(sa.select(OutboundCommand.__table__).order_by(OutboundCommand.id))).all()
        )


def refusal(result: object) -> tuple[str, str]:
    assert isinstance(result, Invalid), result
    [(field, message)] = result.errors.items()
    return field, message.key


@pytest.fixture
async def store(make_store) -> Any:
    return await make_store()


@pytest.fixture
async def agent(make_user, store) -> User:
    return await make_user("xiaochen", Role.AGENT, [store])


# -- answering ---------------------------------------------------------------------------------------


async def test_a_reply_is_queued_with_its_command_ends_the_wait_and_makes_the_conversation_the_agents(
    runtime: Runtime, store, agent
) -> None:
    conversation_id = await buyer_writes(runtime, store, "o_1", at(0))
    result = await reply(runtime, agent, conversation_id, at(30), "  您好，在的！ \n")
    assert isinstance(result, ReplyResult)
    assert (result.created, result.state) == (True, CommandState.QUEUED)
    after = await conversation(runtime, conversation_id)
    assert (after.assignee_id, after.waiting_since, after.deadline_at) == (agent.id, None, None)
    assert after.last_human_reply_at == at(30)
    *_, sent = await messages(runtime, conversation_id)
    assert (sent.id, sent.sender, sent.text, sent.delivery, sent.author_id, sent.command_id) == (
        result.message_id,
        Sender.AGENT,
        "您好，在的！",  # trimmed
        Delivery.QUEUED,
        agent.id,
        result.command_id,
    )
    [command] = await commands(runtime)
    assert (command.id, command.kind, command.payload["text"]) == (
        result.command_id,
        "send_message",
        "您好，在的！",
    )
    answered = [e for e in await change_events(runtime, "conversation.changed") if e["what"] == "answered"]
    assert [e["conversation_id"] for e in answered] == [conversation_id]


async def test_empty_and_over_long_replies_are_refused_and_nothing_is_stored(
    runtime: Runtime, store, agent
) -> None:
    conversation_id = await buyer_writes(runtime, store, "o_1", at(0))
    assert refusal(await reply(runtime, agent, conversation_id, at(1), "")) == (
        "text",
        "inbox.reply.error.empty",
    )
    assert refusal(await reply(runtime, agent, conversation_id, at(1), " \n\t ")) == (
        "text",
        "inbox.reply.error.empty",
    )
    too_long = await reply(runtime, agent, conversation_id, at(1), "好" * (MAX_REPLY_LENGTH + 1))
    assert refusal(too_long) == ("text", "inbox.reply.error.too_long")
    assert too_long.errors["text"].params == {"max": MAX_REPLY_LENGTH, "length": MAX_REPLY_LENGTH + 1}
    assert [m.sender for m in await messages(runtime, conversation_id)] == [Sender.BUYER]
    assert await commands(runtime) == []
    assert (await conversation(runtime, conversation_id)).waiting_since == at(0)  # still waiting
    # The longest text the platform takes goes through.
    assert isinstance(
        await reply(runtime, agent, conversation_id, at(2), "好" * MAX_REPLY_LENGTH), ReplyResult
    )


async def test_the_window_closes_48_hours_after_the_buyers_last_message(
    runtime: Runtime, store, agent
) -> None:
    conversation_id = await buyer_writes(runtime, store, "o_1", at(0))
    closing = at(0) + REPLY_WINDOW
    assert await left(runtime, agent, conversation_id, closing) == REPLY_LIMIT
    assert await left(runtime, agent, conversation_id, closing + dt.timedelta(seconds=1)) == 0
    late = await reply(runtime, agent, conversation_id, closing + dt.timedelta(seconds=1))
    assert refusal(late) == ("text", "inbox.reply.error.window_closed")
    assert await commands(runtime) == []
    assert isinstance(await reply(runtime, agent, conversation_id, closing), ReplyResult)  # just in time
    # The buyer writes again: the window opens again.
    await buyer_writes(runtime, store, "o_1", closing + dt.timedelta(hours=1))
    assert isinstance(
        await reply(runtime, agent, conversation_id, closing + dt.timedelta(hours=2)), ReplyResult
    )


async def test_five_replies_then_refused_until_the_buyer_writes_again(runtime: Runtime, store, agent) -> None:
    conversation_id = await buyer_writes(runtime, store, "o_1", at(0))
    for n in range(REPLY_LIMIT):
        assert await left(runtime, agent, conversation_id, at(10 + n)) == REPLY_LIMIT - n
        assert isinstance(
            await reply(runtime, agent, conversation_id, at(10 + n), f"第{n + 1}条"), ReplyResult
        )
    assert await left(runtime, agent, conversation_id, at(20)) == 0
    assert refusal(await reply(runtime, agent, conversation_id, at(20), "第六条")) == (
        "text",
        "inbox.reply.error.limit",
    )
    assert len(await commands(runtime)) == REPLY_LIMIT
    await buyer_writes(runtime, store, "o_1", at(30), "好的，还有一个问题")
    assert await left(runtime, agent, conversation_id, at(31)) == REPLY_LIMIT
    assert isinstance(await reply(runtime, agent, conversation_id, at(31), "请说"), ReplyResult)


async def test_a_colleagues_conversation_is_refused_with_their_name_unless_taken_over(
    runtime: Runtime, store, agent, make_user
) -> None:
    colleague = await make_user("laowang", Role.AGENT, [store])
    await go(runtime, colleague, Presence.ONLINE, at(0))
    conversation_id = await buyer_writes(runtime, store, "o_1", at(1))
    refused = await reply(runtime, agent, conversation_id, at(2))
    assert refusal(refused) == ("assignee", "inbox.reply.error.taken")
    assert refused.errors["assignee"].params == {"name": "laowang"}
    assert await commands(runtime) == []

    taken = await reply(runtime, agent, conversation_id, at(3), "我来处理", take_over=True)
    assert isinstance(taken, ReplyResult)
    after = await conversation(runtime, conversation_id)
    assert (after.assignee_id, after.waiting_since) == (agent.id, None)
    assert [m.text for m in await messages(runtime, conversation_id)] == ["在吗？", "我来处理"]


async def test_taking_over_hands_the_colleague_the_next_waiting_buyer(
    runtime: Runtime, store, agent, make_user
) -> None:
    colleague = await make_user("laowang", Role.AGENT, [store])
    await go(runtime, colleague, Presence.ONLINE, at(0), capacity=1)
    held = await buyer_writes(runtime, store, "o_1", at(1))
    pooled = await buyer_writes(runtime, store, "o_2", at(2))
    assert isinstance(await reply(runtime, agent, held, at(3), take_over=True), ReplyResult)
    assert (await conversation(runtime, pooled)).assignee_id == colleague.id


async def test_another_stores_agent_cannot_reply_or_note(
    runtime: Runtime, store, make_store, make_user
) -> None:
    stranger = await make_user("stranger", Role.AGENT, [await make_store()])
    conversation_id = await buyer_writes(runtime, store, "o_1", at(0))
    with pytest.raises(NotFoundException):
        await reply(runtime, stranger, conversation_id, at(1))
    with pytest.raises(NotFoundException):
        async with runtime.db.session() as session:
            await add_note(session, user=stranger, conversation_id=conversation_id, text="看看", now=at(1))
    assert [m.sender for m in await messages(runtime, conversation_id)] == [Sender.BUYER]


# -- double submits ------------------------------------------------------------------------------------


async def test_the_same_request_id_twice_is_one_message_and_one_command(
    runtime: Runtime, store, agent
) -> None:
    conversation_id = await buyer_writes(runtime, store, "o_1", at(0))
    first = await reply(runtime, agent, conversation_id, at(1), "您好", request_id="enter-1")
    again = await reply(runtime, agent, conversation_id, at(1), "您好", request_id="enter-1")
    assert isinstance(first, ReplyResult)
    assert isinstance(again, ReplyResult)
    assert (again.message_id, again.command_id, again.created) == (first.message_id, first.command_id, False)
    assert [m.sender for m in await messages(runtime, conversation_id)] == [Sender.BUYER, Sender.AGENT]
    assert len(await commands(runtime)) == 1
    # Another request id is another reply.
    other = await reply(runtime, agent, conversation_id, at(2), "您好", request_id="enter-2")
    assert isinstance(other, ReplyResult)
    assert other.created


async def test_a_double_submit_racing_itself_is_one_message(runtime: Runtime, store, agent) -> None:
    """Two requests with one id at the same moment (PostgreSQL: at once, on two connections;
    SQLite has a single writer, so there they come one after the other)."""
    conversation_id = await buyer_writes(runtime, store, "o_1", at(0))
    submit = [reply(runtime, agent, conversation_id, at(1), "您好", request_id="race") for _ in range(2)]
    if runtime.db.is_sqlite:
        results = [await s for s in submit]
    else:
        results = await asyncio.gather(*submit)
    assert all(isinstance(r, ReplyResult) for r in results)
    assert sorted(r.created for r in results) == [False, True]
    assert len({r.message_id for r in results}) == 1
    assert [m.sender for m in await messages(runtime, conversation_id)] == [Sender.BUYER, Sender.AGENT]
    assert len(await commands(runtime)) == 1


async def test_a_long_request_id_is_still_one_reply(runtime: Runtime, store, agent) -> None:
    conversation_id = await buyer_writes(runtime, store, "o_1", at(0))
    request_id = "client-" + "x" * 120  # a client's own id scheme: longer than a command key
    first = await reply(runtime, agent, conversation_id, at(1), request_id=request_id)
    again = await reply(runtime, agent, conversation_id, at(1), request_id=request_id)
    other = await reply(runtime, agent, conversation_id, at(2), request_id=request_id[:-1] + "y")
    assert isinstance(first, ReplyResult)
    assert isinstance(again, ReplyResult)
    assert isinstance(other, ReplyResult)
    assert again.message_id == first.message_id
    assert other.message_id != first.message_id
    assert len(await commands(runtime)) == 2


# -- automatic replies and notes -------------------------------------------------------------------


async def test_automatic_replies_are_sent_but_never_end_the_wait_nor_take_the_conversation(
    runtime: Runtime, store, agent
) -> None:
    conversation_id = await buyer_writes(runtime, store, "o_1", at(0))
    result = await auto_reply(runtime, agent, conversation_id, at(1), "rule:1:m1")
    assert isinstance(result, ReplyResult)
    again = await auto_reply(runtime, agent, conversation_id, at(1), "rule:1:m1")
    assert (again.message_id, again.created) == (result.message_id, False)
    after = await conversation(runtime, conversation_id)
    assert (after.waiting_since, after.deadline_at) == (at(0), at(0) + REPLY_DEADLINE)
    assert (after.assignee_id, after.last_human_reply_at) == (None, None)
    assert [m.sender for m in await messages(runtime, conversation_id)] == [Sender.BUYER, Sender.AUTO]
    assert len(await commands(runtime)) == 1
    # They use the platform's allowance like any reply.
    assert await left(runtime, agent, conversation_id, at(2)) == REPLY_LIMIT - 1


async def test_automatic_replies_respect_the_limit_and_the_window(runtime: Runtime, store, agent) -> None:
    conversation_id = await buyer_writes(runtime, store, "o_1", at(0))
    for n in range(REPLY_LIMIT):
        assert isinstance(await auto_reply(runtime, agent, conversation_id, at(1 + n), f"k{n}"), ReplyResult)
    assert refusal(await auto_reply(runtime, agent, conversation_id, at(9), "k9")) == (
        "text",
        "inbox.reply.error.limit",
    )
    late = at(0) + REPLY_WINDOW + dt.timedelta(seconds=1)
    assert refusal(await auto_reply(runtime, agent, conversation_id, late, "k10")) == (
        "text",
        "inbox.reply.error.window_closed",
    )


async def test_notes_are_never_sent_and_never_end_the_wait(runtime: Runtime, store, agent) -> None:
    conversation_id = await buyer_writes(runtime, store, "o_1", at(0))
    async with runtime.db.session() as session:
        note_id = await add_note(
            session, user=agent, conversation_id=conversation_id, text=" 买家要求改地址 ", now=at(5)
        )
    assert isinstance(note_id, int)
    *_, note = await messages(runtime, conversation_id)
    assert (note.id, note.sender, note.text, note.delivery, note.command_id, note.author_id) == (
        note_id,
        Sender.NOTE,
        "买家要求改地址",
        None,
        None,
        agent.id,
    )
    assert await commands(runtime) == []
    after = await conversation(runtime, conversation_id)
    assert (after.waiting_since, after.assignee_id, after.last_human_reply_at) == (at(0), None, None)
    assert await left(runtime, agent, conversation_id, at(6)) == REPLY_LIMIT
    async with runtime.db.session() as session:
        empty = await add_note(session, user=agent, conversation_id=conversation_id, text="  ", now=at(6))
    assert refusal(empty) == ("text", "inbox.reply.error.empty")


# -- what the platform made of a reply (the simulated platform, through the command runner) -----------


def runner(platform: Platform, **changes: Any) -> CommandRunner:
    settings = platform.runtime.settings.with_changes(
        command_backoff_base_s=0.001, command_backoff_max_s=0.002, **changes
    )
    return CommandRunner(
        platform.runtime.db, settings, platform.clients, COMMAND_KINDS, name=f"test-{secrets.token_hex(3)}"
    )


async def simulated_buyer(platform: Platform) -> tuple[str, int]:
    """A buyer of store 0 writes on the platform; the desk files it. Their openid and conversation."""
    appid = platform.appids[0]
    openid = platform.sim.new_buyer(appid)
    platform.sim.buyer_says(appid, openid, "在吗？")
    await platform.settle()
    async with platform.runtime.db.engine.connect() as conn:
        from desk.inbox.models import Conversation

        conversation_id = (
            await conn.execute(sa.select(Conversation.id).where(Conversation.peer_id == openid))
        ).scalar_one()
    return openid, conversation_id


async def fail_next_sends(platform: Platform) -> None:
    """The platform is down and the runner gives up after one try: queued replies fail."""
    platform.sim.faults = Faults(error_rate=1.0, kinds=("http500",))
    result = await runner(platform, command_max_attempts=1).drain()
    assert result.failed >= 1
    platform.sim.faults = Faults()


async def test_a_failed_reply_puts_the_buyer_back_to_waiting_from_their_message(
    platform: Platform, make_user
) -> None:
    runtime = platform.runtime
    store = platform.stores[0]
    agent = await make_user("xiaochen", Role.AGENT, [store])
    openid, conversation_id = await simulated_buyer(platform)
    asked_at = (await conversation(runtime, conversation_id)).waiting_since
    result = await reply(runtime, agent, conversation_id, utcnow(), "您好")
    assert isinstance(result, ReplyResult)
    await fail_next_sends(platform)

    after = await conversation(runtime, conversation_id)
    assert (after.waiting_since, after.deadline_at) == (asked_at, asked_at + REPLY_DEADLINE)
    *_, failed = await messages(runtime, conversation_id)
    assert failed.delivery == Delivery.FAILED
    assert platform.sim.sent_messages(platform.appids[0], openid) == []
    # A failed reply uses none of the platform's allowance.
    assert await left(runtime, agent, conversation_id, utcnow()) == REPLY_LIMIT


async def test_the_wait_restarts_from_the_first_message_after_the_last_reply_that_arrived(
    platform: Platform, make_user
) -> None:
    runtime = platform.runtime
    store = platform.stores[0]
    agent = await make_user("xiaochen", Role.AGENT, [store])
    openid, conversation_id = await simulated_buyer(platform)
    base = utcnow() + dt.timedelta(minutes=1)

    def t(seconds: int) -> dt.datetime:
        return base + dt.timedelta(seconds=seconds)

    assert isinstance(await reply(runtime, agent, conversation_id, t(0), "您好"), ReplyResult)
    await runner(platform).drain()  # arrives
    await buyer_writes(runtime, store, openid, t(10), "我的快递到哪了？")
    assert isinstance(await reply(runtime, agent, conversation_id, t(20), "我查一下"), ReplyResult)
    await buyer_writes(runtime, store, openid, t(30), "快点")  # the buyer thinks nobody answered
    assert (await conversation(runtime, conversation_id)).waiting_since == t(30)
    await fail_next_sends(platform)  # "我查一下" never arrives

    # The buyer has waited since their question at t(10), not since t(30).
    after = await conversation(runtime, conversation_id)
    assert (after.waiting_since, after.deadline_at) == (t(10), t(10) + REPLY_DEADLINE)
    assert [m.content for m in platform.sim.sent_messages(platform.appids[0], openid)] == ["您好"]


async def test_a_retried_reply_ends_the_wait_again(platform: Platform, make_user) -> None:
    runtime = platform.runtime
    store = platform.stores[0]
    agent = await make_user("xiaochen", Role.AGENT, [store])
    _, conversation_id = await simulated_buyer(platform)
    first = await reply(runtime, agent, conversation_id, utcnow(), "您好")
    assert isinstance(first, ReplyResult)
    await fail_next_sends(platform)
    assert (await conversation(runtime, conversation_id)).waiting_since is not None
    # The agent sends it again: that answers the buyer, as the first try would have.
    async with runtime.db.session() as session:
        retried = await retry_reply(
            session, runtime.wakeup, user=agent, message_id=first.message_id, now=utcnow()
        )
    assert isinstance(retried, ReplyResult)
    assert retried.command_id != first.command_id
    await runner(platform).drain()
    *_, message = await messages(runtime, conversation_id)
    assert (message.id, message.delivery) == (first.message_id, Delivery.SENT)
    after = await conversation(runtime, conversation_id)
    assert (after.waiting_since, after.deadline_at) == (None, None)


async def test_a_failed_reply_reopens_a_conversation_resolved_meanwhile(
    platform: Platform, make_user
) -> None:
    runtime = platform.runtime
    store = platform.stores[0]
    agent = await make_user("xiaochen", Role.AGENT, [store])
    _, conversation_id = await simulated_buyer(platform)
    assert isinstance(await reply(runtime, agent, conversation_id, utcnow(), "好的，已处理"), ReplyResult)
    async with runtime.db.session() as session:
        await resolve(session, user=agent, conversation_id=conversation_id, now=utcnow())
    await fail_next_sends(platform)
    # The buyer never got the answer: they wait, in the open queue, not hidden among resolved ones.
    after = await conversation(runtime, conversation_id)
    assert after.status == ConversationStatus.OPEN
    assert after.waiting_since is not None
    assert after.resolved_at is None


async def test_only_a_failed_reply_can_be_retried(platform: Platform, make_user) -> None:
    runtime = platform.runtime
    store = platform.stores[0]
    agent = await make_user("xiaochen", Role.AGENT, [store])
    _, conversation_id = await simulated_buyer(platform)
    result = await reply(runtime, agent, conversation_id, utcnow(), "您好")
    assert isinstance(result, ReplyResult)
    async with runtime.db.session() as session:
        queued = await retry_reply(
            session, runtime.wakeup, user=agent, message_id=result.message_id, now=utcnow()
        )
    assert refusal(queued) == ("message", "inbox.reply.error.not_failed")
    with pytest.raises(NotFoundException):  # as a message outside the agent's stores
        async with runtime.db.session() as session:
            await retry_reply(session, runtime.wakeup, user=agent, message_id=10**9, now=utcnow())
    assert len(await commands(runtime)) == 1


async def test_resubmitting_a_request_id_after_its_reply_was_retried_adds_nothing(
    platform: Platform, make_user
) -> None:
    runtime = platform.runtime
    store = platform.stores[0]
    agent = await make_user("xiaochen", Role.AGENT, [store])
    openid, conversation_id = await simulated_buyer(platform)
    first = await reply(runtime, agent, conversation_id, utcnow(), "您好", request_id="api-7")
    assert isinstance(first, ReplyResult)
    await fail_next_sends(platform)
    async with runtime.db.session() as session:
        retried = await retry_reply(
            session, runtime.wakeup, user=agent, message_id=first.message_id, now=utcnow()
        )
    assert isinstance(retried, ReplyResult)
    # An integration retries its original request: it is told about the reply it already made.
    again = await reply(runtime, agent, conversation_id, utcnow(), "您好", request_id="api-7")
    assert isinstance(again, ReplyResult)
    assert (again.message_id, again.command_id, again.created) == (
        first.message_id,
        retried.command_id,
        False,
    )
    await runner(platform).drain()
    assert [m.sender for m in await messages(runtime, conversation_id)] == [Sender.BUYER, Sender.AGENT]
    assert [m.content for m in platform.sim.sent_messages(platform.appids[0], openid)] == ["您好"]


async def test_a_retry_over_the_limit_says_so_rather_than_that_the_window_closed(
    platform: Platform, make_user
) -> None:
    runtime = platform.runtime
    store = platform.stores[0]
    agent = await make_user("xiaochen", Role.AGENT, [store])
    _, conversation_id = await simulated_buyer(platform)
    first = await reply(runtime, agent, conversation_id, utcnow(), "第一条")
    assert isinstance(first, ReplyResult)
    await fail_next_sends(platform)
    for n in range(REPLY_LIMIT):  # the failed one used none of the five
        assert isinstance(await reply(runtime, agent, conversation_id, utcnow(), f"第{n + 2}条"), ReplyResult)
    async with runtime.db.session() as session:
        refused = await retry_reply(
            session, runtime.wakeup, user=agent, message_id=first.message_id, now=utcnow()
        )
    assert refusal(refused) == ("text", "inbox.reply.error.limit")
