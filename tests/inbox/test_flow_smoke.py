"""A first walk through the inbox services: a buyer writes, an agent is routed, replies, resolves."""

from __future__ import annotations

import datetime as dt

from desk.accounts.models import Role
from desk.commands.models import CommandState
from desk.db import utcnow
from desk.errors import Invalid
from desk.inbox.assignment import set_presence
from desk.inbox.deadline import Urgency
from desk.inbox.filing import record_buyer_message
from desk.inbox.models import Channel, ConversationStatus, Presence
from desk.inbox.queue import QueueFilter, Whose, queue_page
from desk.inbox.replies import send_reply
from desk.inbox.workflow import resolve
from desk.runtime import Runtime


async def test_a_buyer_is_routed_answered_and_resolved(runtime: Runtime, make_store, make_user) -> None:
    store = await make_store()
    agent = await make_user("xiaochen", Role.AGENT, [store])
    now = utcnow()
    async with runtime.db.transaction() as conn:
        await set_presence(conn, agent.id, Presence.ONLINE, now=now)
    async with runtime.db.transaction() as conn:
        for n in range(3):
            await record_buyer_message(
                conn,
                store_id=store.id,
                channel=Channel.COMMKF,
                peer_id=f"o_buyer_{n}",
                buyer_id=None,
                platform_msg_id=f"m{n}",
                msg_type="text",
                text=f"问题{n}",
                payload={},
                sent_at=now - dt.timedelta(seconds=200 - n * 60),
            )
    async with runtime.db.session() as session:
        page = await queue_page(session, agent, QueueFilter(whose=Whose.MINE), now=now)
    assert [row.last_message for row in page.rows] == ["问题0", "问题1", "问题2"]
    assert [row.urgency for row in page.rows] == [Urgency.MISSED, Urgency.WARNING, Urgency.CALM]
    first = page.rows[0]
    async with runtime.db.session() as session:
        result = await send_reply(
            session,
            runtime.wakeup,
            user=agent,
            conversation_id=first.id,
            text="您好",
            request_id="r1",
            now=now,
        )
    assert not isinstance(result, Invalid)
    assert result.state == CommandState.QUEUED
    async with runtime.db.session() as session:
        again = await send_reply(
            session,
            runtime.wakeup,
            user=agent,
            conversation_id=first.id,
            text="您好",
            request_id="r1",
            now=now,
        )
    assert not isinstance(again, Invalid)
    assert again.message_id == result.message_id
    assert not again.created
    async with runtime.db.session() as session:
        page = await queue_page(session, agent, QueueFilter(whose=Whose.MINE), now=now)
    assert [row.last_message for row in page.rows] == ["问题1", "问题2", "您好"]
    async with runtime.db.session() as session:
        await resolve(session, user=agent, conversation_id=first.id, now=now)
        page = await queue_page(session, agent, QueueFilter(status=ConversationStatus.RESOLVED), now=now)
    assert [row.id for row in page.rows] == [first.id]
