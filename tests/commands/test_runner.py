"""Outbound commands reach the platform exactly once: through double submits, outages, refusals
and a runner that dies mid-call. Counted at the simulator, which is the platform's side."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from desk.background import COMMAND_KINDS
from desk.commands.kinds import ClaimedCommand
from desk.commands.models import CommandState, OutboundCommand
from desk.commands.runner import CommandRunner
from desk.commands.service import CommandRef, enqueue
from desk.db import utcnow
from desk.inbox.commands import SendPayload
from desk.inbox.models import Channel, Conversation, Delivery, Message, Sender
from desk.runtime import Runtime
from desk.simulator import Faults
from tests.ingest.conftest import Platform

SENDMSG = "commkf/sendmsg"


async def buyer_conversation(platform: Platform, text: str = "在吗？") -> tuple[str, int]:
    """A buyer writes to store 0; returns their openid and the desk's conversation id."""
    appid = platform.appids[0]
    openid = platform.sim.new_buyer(appid)
    platform.sim.buyer_says(appid, openid, text)
    await platform.settle()
    async with platform.runtime.db.engine.connect() as conn:
        conversation_id = (
            await conn.execute(sa.select(Conversation.id).where(Conversation.peer_id == openid))
        ).scalar_one()
    return openid, conversation_id


async def queue_reply(
    runtime: Runtime, store_id: int, conversation_id: int, openid: str, text: str, key: str
) -> CommandRef:
    """Store an agent's reply and its command, as the inbox does (one transaction)."""
    async with runtime.db.session() as session:
        message = Message(
            conversation_id=conversation_id,
            store_id=store_id,
            sender=Sender.AGENT,
            text=text,
            sent_at=utcnow(),
            delivery=Delivery.QUEUED,
        )
        session.add(message)
        await session.flush()
        payload = SendPayload(
            conversation_id=conversation_id,
            message_id=message.id,
            channel=Channel.COMMKF,
            peer_id=openid,
            text=text,
        )
        ref = await enqueue(
            session,
            runtime.wakeup,
            store_id=store_id,
            kind="send_message",
            key=key,
            payload={f: getattr(payload, f) for f in payload.__struct_fields__},
            subject=f"message:{message.id}",
            conversation_id=conversation_id,
        )
        if ref.created:
            message.command_id = ref.id
        else:
            await session.delete(message)  # the first submit's message stands
        return ref


def runner(platform: Platform, **changes: Any) -> CommandRunner:
    settings = platform.runtime.settings.with_changes(
        command_backoff_base_s=0.001, command_backoff_max_s=0.002, **changes
    )
    return CommandRunner(
        platform.runtime.db, settings, platform.clients, COMMAND_KINDS, name=f"test-runner-{len(changes)}"
    )


async def deliveries(runtime: Runtime) -> list[tuple[str, Delivery | None, str | None]]:
    async with runtime.db.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(Message.text, Message.delivery, Message.platform_msg_id)
            .where(Message.sender == Sender.AGENT)
            .order_by(Message.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_a_double_submit_is_one_command_and_one_message_to_the_buyer(platform: Platform) -> None:
    store = platform.stores[0]
    openid, conversation_id = await buyer_conversation(platform)
    first = await queue_reply(platform.runtime, store.id, conversation_id, openid, "您好，在的！", "req-1")
    second = await queue_reply(platform.runtime, store.id, conversation_id, openid, "您好，在的！", "req-1")
    assert first.created
    assert not second.created
    assert second.id == first.id
    result = await runner(platform).drain()
    assert (result.claimed, result.succeeded) == (1, 1)
    sent = platform.sim.sent_messages(platform.appids[0], openid)
    assert [m.content for m in sent] == ["您好，在的！"]
    assert platform.sim.api.calls_by_path[SENDMSG] == 1
    [(text, delivery, msg_id)] = await deliveries(platform.runtime)
    assert (text, delivery, msg_id) == ("您好，在的！", Delivery.SENT, sent[0].msg_id)


async def test_replies_wait_out_an_outage_and_go_out_once_each(platform: Platform) -> None:
    store = platform.stores[0]
    openid, conversation_id = await buyer_conversation(platform)
    for n in range(3):
        await queue_reply(platform.runtime, store.id, conversation_id, openid, f"回复{n}", f"k{n}")
    platform.sim.faults = Faults(error_rate=1.0, kinds=("http500", "busy"))
    the_runner = runner(platform)
    await the_runner.run_once()
    assert platform.sim.sent_messages(platform.appids[0], openid) == []
    assert [d for _, d, _ in await deliveries(platform.runtime)] == [Delivery.QUEUED] * 3
    platform.sim.faults = Faults()  # the platform is back
    await the_runner.drain()
    sent = platform.sim.sent_messages(platform.appids[0], openid)
    assert sorted(m.content for m in sent) == ["回复0", "回复1", "回复2"]
    assert [d for _, d, _ in await deliveries(platform.runtime)] == [Delivery.SENT] * 3


async def test_a_platform_refusal_fails_at_once_with_its_errcode(platform: Platform) -> None:
    store = platform.stores[0]
    openid, conversation_id = await buyer_conversation(platform)
    for n in range(6):  # the platform allows five replies per buyer message
        await queue_reply(platform.runtime, store.id, conversation_id, openid, f"第{n + 1}条", f"k{n}")
    result = await runner(platform).drain()
    assert (result.succeeded, result.failed) == (5, 1)
    assert platform.sim.api.calls_by_path[SENDMSG] == 6
    async with platform.runtime.db.engine.connect() as conn:
        failed = (
            await conn.execute(sa.select(OutboundCommand).where(OutboundCommand.state == CommandState.FAILED))
        ).one()
    assert failed.error_code is not None
    assert failed.error_code != 0
    assert failed.attempts == 1  # refused, so not repeated
    states = [d for _, d, _ in await deliveries(platform.runtime)]
    assert sorted(states) == sorted([Delivery.SENT] * 5 + [Delivery.FAILED])  # sent in any order


async def test_a_runner_killed_after_its_call_is_taken_over_without_a_second_message(
    platform: Platform,
) -> None:
    store = platform.stores[0]
    openid, conversation_id = await buyer_conversation(platform)
    ref = await queue_reply(platform.runtime, store.id, conversation_id, openid, "马上为您处理", "req-kill")
    # The first runner claims with a lease that is over at once, makes the call, and "dies"
    # before recording anything: the platform has sent the message, the desk does not know.
    doomed = runner(platform, command_lease_s=0.0)
    async with platform.runtime.db.engine.begin() as conn:
        [row] = await doomed.queue.claim(conn, 10)
    await COMMAND_KINDS["send_message"].run(doomed.ctx, ClaimedCommand(*row))
    # Another runner finds the command with its lease run out and runs it again.
    result = await runner(platform).drain()
    assert result.succeeded == 1
    assert platform.sim.api.calls_by_path[SENDMSG] == 2  # asked twice …
    assert len(platform.sim.sent_messages(platform.appids[0], openid)) == 1  # … the buyer got it once
    async with platform.runtime.db.engine.connect() as conn:
        command = (await conn.execute(sa.select(OutboundCommand).where(OutboundCommand.id == ref.id))).one()
    assert command.state == CommandState.SUCCEEDED
    assert command.attempts == 2
    assert command.finished_at is not None
    assert command.finished_at <= utcnow() + dt.timedelta(seconds=1)
