"""Filing buyer messages: one conversation per buyer and channel, each message once."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from desk.inbox.filing import record_buyer_message
from desk.inbox.models import Channel, Conversation, Message, Sender


def at(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(1_700_000_000 + seconds, dt.UTC)


async def file(runtime, store, msg_id: str, sent: int, *, channel=Channel.COMMKF, peer="o_1") -> int | None:
    async with runtime.db.engine.begin() as conn:
        return await record_buyer_message(
            conn,
            store_id=store.id,
            channel=channel,
            peer_id=peer,
            buyer_id=None,
            platform_msg_id=msg_id,
            msg_type="text",
            text=f"text {msg_id}",
            payload={"msg_id": msg_id},
            sent_at=at(sent),
        )


async def conversations(runtime) -> list[Conversation]:
    async with runtime.db.session() as session:
        return list(await session.scalars(sa.select(Conversation).order_by(Conversation.id)))


async def test_a_message_filed_twice_is_stored_once_and_moves_nothing(runtime, make_store) -> None:
    store = await make_store()
    assert await file(runtime, store, "m-1", 0) is not None
    assert await file(runtime, store, "m-2", 30) is not None
    assert await file(runtime, store, "m-1", 0) is None

    [conversation] = await conversations(runtime)
    assert (conversation.last_message_at, conversation.waiting_since) == (at(30), at(0))
    async with runtime.db.session() as session:
        filed = list(await session.scalars(sa.select(Message).order_by(Message.sent_at)))
    assert [(m.platform_msg_id, m.sender, m.text, m.payload) for m in filed] == [
        ("m-1", Sender.BUYER, "text m-1", {"msg_id": "m-1"}),
        ("m-2", Sender.BUYER, "text m-2", {"msg_id": "m-2"}),
    ]


async def test_a_late_message_does_not_move_timestamps_back(runtime, make_store) -> None:
    store = await make_store()
    await file(runtime, store, "m-2", 60)
    await file(runtime, store, "m-1", 10)
    [conversation] = await conversations(runtime)
    assert (conversation.last_message_at, conversation.last_buyer_message_at) == (at(60), at(60))


async def test_waiting_since_is_set_only_when_nobody_waits(runtime, make_store) -> None:
    store = await make_store()
    await file(runtime, store, "m-1", 0)
    async with runtime.db.engine.begin() as conn:  # an agent answered
        await conn.execute(sa.update(Conversation).values(waiting_since=None))
    await file(runtime, store, "m-2", 300)
    await file(runtime, store, "m-3", 320)
    [conversation] = await conversations(runtime)
    assert conversation.waiting_since == at(300)


async def test_channels_and_peers_have_their_own_conversations(runtime, make_store) -> None:
    store = await make_store()
    await file(runtime, store, "m-1", 0, peer="o_1")
    await file(runtime, store, "m-1", 0, peer="o_2")
    await file(runtime, store, "k-1", 0, channel=Channel.WECOM_KF, peer="wk1/wm1")
    assert [(c.channel, c.peer_id) for c in await conversations(runtime)] == [
        (Channel.COMMKF, "o_1"),
        (Channel.COMMKF, "o_2"),
        (Channel.WECOM_KF, "wk1/wm1"),
    ]


async def test_a_late_message_moves_the_wait_back_to_when_the_buyer_started_waiting(
    runtime, make_store
) -> None:
    """Pushes arrive out of order: the buyer has waited since their first unanswered message."""
    store = await make_store()
    await file(runtime, store, "m-2", 60)
    await file(runtime, store, "m-1", 10)
    [conversation] = await conversations(runtime)
    assert (conversation.waiting_since, conversation.deadline_at) == (at(10), at(10 + 180))


async def test_a_late_message_sent_before_the_last_reply_does_not_move_the_wait(runtime, make_store) -> None:
    store = await make_store()
    await file(runtime, store, "m-1", 0)
    async with runtime.db.engine.begin() as conn:  # an agent answered at 20 s
        await conn.execute(
            sa.update(Conversation).values(waiting_since=None, deadline_at=None, last_human_reply_at=at(20))
        )
    await file(runtime, store, "m-3", 60)
    await file(runtime, store, "m-2", 10)  # written before the reply, delivered after m-3
    [conversation] = await conversations(runtime)
    assert conversation.waiting_since == at(60)
