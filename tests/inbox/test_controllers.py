"""The workbench over HTTP: what each agent sees, replies refused inline, actions, CSRF."""

from __future__ import annotations

import datetime as dt

import httpx
import sqlalchemy as sa
from litestar import Litestar

from desk.accounts.models import Role, User
from desk.db import utcnow
from desk.inbox.deadline import deadline_for
from desk.inbox.models import Channel, Conversation, ConversationStatus, Message, Sender
from desk.runtime import Runtime
from desk.stores.models import Store
from tests.conftest import csrf_headers, login

HTMX = {"HX-Request": "true"}


async def waiting_conversation(
    runtime: Runtime, store: Store, text: str, *, assignee: User | None = None
) -> int:
    now = utcnow()
    async with runtime.db.session() as session:
        conversation = Conversation(
            store_id=store.id,
            channel=Channel.COMMKF,
            peer_id=f"o_{text}",
            last_message_at=now,
            last_buyer_message_at=now,
            waiting_since=now,
            deadline_at=deadline_for(now),
            status=ConversationStatus.OPEN,
            assignee_id=assignee.id if assignee else None,
        )
        session.add(conversation)
        await session.flush()
        session.add(
            Message(
                conversation_id=conversation.id,
                store_id=store.id,
                sender=Sender.BUYER,
                platform_msg_id=f"m_{text}",
                text=text,
                sent_at=now,
            )
        )
        return conversation.id


async def signed_in(client: httpx.AsyncClient, app: Litestar, user: User) -> dict[str, str]:
    await login(client, app, user)
    await client.get("/inbox")  # the CSRF cookie
    return {**HTMX, **csrf_headers(client)}


async def test_the_queue_lists_my_stores_only_and_refreshes_as_a_partial(
    client: httpx.AsyncClient, app: Litestar, runtime: Runtime, make_store, make_user
) -> None:
    a, b = await make_store("A店"), await make_store("B店")
    agent = await make_user("xiaowang", Role.AGENT, [a])
    await waiting_conversation(runtime, a, "A店买家的问题")
    secret = await waiting_conversation(runtime, b, "B店买家的问题")
    await login(client, app, agent)
    page = (await client.get("/inbox")).text
    assert "A店买家的问题" in page
    assert "B店买家的问题" not in page
    assert 'sse-connect="/inbox/stream"' in page
    partial = await client.get("/inbox/queue?whose=all&status=open", headers=HTMX)
    assert "<html" not in partial.text
    assert "A店买家的问题" in partial.text
    assert "B店买家的问题" not in partial.text
    assert (await client.get(f"/inbox/c/{secret}")).status_code == 404


async def test_refused_replies_come_back_inline_with_the_text_kept(
    client: httpx.AsyncClient, app: Litestar, runtime: Runtime, make_store, make_user
) -> None:
    store = await make_store()
    agent = await make_user("xiaowang", Role.AGENT, [store])
    colleague = await make_user("xiaoli", Role.AGENT, [store])
    mine = await waiting_conversation(runtime, store, "在吗")
    theirs = await waiting_conversation(runtime, store, "有人吗", assignee=colleague)
    headers = await signed_in(client, app, agent)

    empty = await client.post(
        f"/inbox/c/{mine}/reply", data={"text": "   ", "request_id": "r0"}, headers=headers
    )
    assert empty.status_code == 422
    assert "回复内容不能为空" in empty.text

    too_long = "长" * 2001
    long = await client.post(
        f"/inbox/c/{mine}/reply", data={"text": too_long, "request_id": "r1"}, headers=headers
    )
    assert long.status_code == 422
    assert "最多 2000 个字符" in long.text
    assert too_long in long.text  # nothing the agent typed is lost

    taken = await client.post(
        f"/inbox/c/{theirs}/reply", data={"text": "我来", "request_id": "r2"}, headers=headers
    )
    assert taken.status_code == 422
    assert "已由 xiaoli 接手" in taken.text
    assert 'name="take_over"' in taken.text
    async with runtime.db.engine.connect() as conn:
        sent = (await conn.execute(sa.select(sa.func.count()).where(Message.sender == Sender.AGENT))).scalar()
    assert sent == 0


async def test_a_reply_is_stored_once_however_often_it_is_posted(
    client: httpx.AsyncClient, app: Litestar, runtime: Runtime, make_store, make_user
) -> None:
    store = await make_store()
    agent = await make_user("xiaowang", Role.AGENT, [store])
    conversation = await waiting_conversation(runtime, store, "在吗")
    headers = await signed_in(client, app, agent)
    form = {"text": "您好，在的", "request_id": "same-request"}
    first = await client.post(f"/inbox/c/{conversation}/reply", data=form, headers=headers)
    second = await client.post(f"/inbox/c/{conversation}/reply", data=form, headers=headers)
    assert first.status_code == second.status_code == 200
    assert "发送中" in first.text
    async with runtime.db.engine.connect() as conn:
        rows = (await conn.execute(sa.select(Message.text).where(Message.sender == Sender.AGENT))).all()
        waiting = (
            await conn.execute(sa.select(Conversation.waiting_since).where(Conversation.id == conversation))
        ).scalar()
    assert [r.text for r in rows] == ["您好，在的"]
    assert waiting is None  # a human answered


async def test_actions_need_the_csrf_token(
    client: httpx.AsyncClient, app: Litestar, runtime: Runtime, make_store, make_user
) -> None:
    store = await make_store()
    agent = await make_user("xiaowang", Role.AGENT, [store])
    conversation = await waiting_conversation(runtime, store, "在吗")
    await login(client, app, agent)
    response = await client.post(f"/inbox/c/{conversation}/reply", data={"text": "hi"}, headers=HTMX)
    assert response.status_code == 403


async def test_resolving_and_presence(
    client: httpx.AsyncClient, app: Litestar, runtime: Runtime, make_store, make_user
) -> None:
    store = await make_store()
    agent = await make_user("xiaowang", Role.AGENT, [store])
    conversation = await waiting_conversation(runtime, store, "谢谢", assignee=agent)
    headers = await signed_in(client, app, agent)
    resolved = await client.post(f"/inbox/c/{conversation}/status/resolved", headers=headers)
    assert resolved.status_code == 200
    assert "已解决" in resolved.text
    bogus = await client.post(f"/inbox/c/{conversation}/status/archived", headers=headers)
    assert bogus.status_code == 422
    away = await client.post("/inbox/presence", data={"status": "away"}, headers=headers)
    assert away.status_code == 200
    assert "presence-away" in away.text
    async with runtime.db.engine.connect() as conn:
        status = (
            await conn.execute(
                sa.select(Conversation.status, Conversation.resolved_at).where(
                    Conversation.id == conversation
                )
            )
        ).one()
    assert status.status == ConversationStatus.RESOLVED
    assert status.resolved_at is not None
    assert status.resolved_at <= utcnow() + dt.timedelta(seconds=1)
