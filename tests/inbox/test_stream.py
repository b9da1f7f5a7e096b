"""The agent's live stream over real HTTP: signals for their stores only, caught up after a drop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from litestar import Litestar

from desk.accounts.models import Role, User
from desk.changes.events import ConversationChanged, MessageAdded
from desk.changes.record import record
from desk.runtime import Runtime
from tests.conftest import login
from tests.ingest.conftest import serve_app


@dataclass
class Event:
    event: str
    data: str
    id: str


async def read_events(response: httpx.Response) -> AsyncIterator[Event]:
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if not line:
            if "event" in fields:
                yield Event(fields.get("event", ""), fields.get("data", ""), fields.get("id", ""))
            fields = {}
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        fields[name] = value.removeprefix(" ")


async def until(events: AsyncIterator[Event], name: str) -> list[Event]:
    """Events up to and including the first named ``name`` (within five seconds)."""
    seen: list[Event] = []
    async with asyncio.timeout(5):
        async for event in events:
            seen.append(event)
            if event.event == name:
                return seen
    raise AssertionError(f"the stream ended before {name!r}: {seen}")


@pytest.fixture
async def served(app: Litestar) -> AsyncIterator[str]:
    async with serve_app(app) as url:
        yield url


async def client_for(app: Litestar, url: str, user: User) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=url, timeout=10)
    await login(client, app, user)
    return client


async def test_a_change_in_the_agents_store_signals_the_queue_and_the_thread(
    app: Litestar, served: str, runtime: Runtime, make_store, make_user
) -> None:
    mine, theirs = await make_store(), await make_store()
    agent = await make_user("xiaochen", Role.AGENT, [mine])
    async with (
        await client_for(app, served, agent) as client,
        client.stream("GET", "/inbox/stream") as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = read_events(response)
        await until(events, "resync")
        async with runtime.db.session() as session:
            await record(
                session, MessageAdded(store_id=theirs.id, conversation_id=99, message_id=1, sender="buyer")
            )
            (event_id,) = await record(
                session, MessageAdded(store_id=mine.id, conversation_id=7, message_id=42, sender="buyer")
            )
        seen = await until(events, "thread-7")
    assert [e.event for e in seen] == ["queue", "thread-7"]
    assert seen[-1].data == "42"
    assert seen[-1].id == str(event_id)


async def test_a_burst_of_changes_is_one_refresh_per_conversation(
    app: Litestar, served: str, runtime: Runtime, make_store, make_user
) -> None:
    store = await make_store()
    agent = await make_user("xiaochen", Role.AGENT, [store])
    async with (
        await client_for(app, served, agent) as client,
        client.stream("GET", "/inbox/stream") as response,
    ):
        events = read_events(response)
        await until(events, "resync")
        async with runtime.db.session() as session:
            for n in range(20):
                await record(
                    session,
                    MessageAdded(store_id=store.id, conversation_id=1 + n % 2, message_id=n, sender="buyer"),
                )
            await record(
                session,
                ConversationChanged(
                    store_id=store.id, conversation_id=1, what="assigned", assignee_id=agent.id
                ),
            )
        seen = await until(events, "assigned")
    assert [e.event for e in seen] == ["queue", "thread-1", "thread-2", "assigned"]
    assert seen[-1].data == "1"


async def test_a_reconnecting_page_is_told_what_it_missed(
    app: Litestar, served: str, runtime: Runtime, make_store, make_user
) -> None:
    store = await make_store()
    agent = await make_user("xiaochen", Role.AGENT, [store])
    async with runtime.db.session() as session:
        (last_seen,) = await record(
            session, MessageAdded(store_id=store.id, conversation_id=1, message_id=1, sender="buyer")
        )
    # While the page was away: news in conversation 5.
    async with runtime.db.session() as session:
        await record(
            session, MessageAdded(store_id=store.id, conversation_id=5, message_id=9, sender="buyer")
        )
    async with (
        await client_for(app, served, agent) as client,
        client.stream("GET", "/inbox/stream", headers={"Last-Event-ID": str(last_seen)}) as response,
    ):
        seen = await until(read_events(response), "resync")
    assert "thread-5" in [e.event for e in seen]


async def test_the_stream_needs_a_signed_in_agent(app: Litestar, served: str) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=5) as client:
        response = await client.get("/inbox/stream")
    assert response.status_code in (302, 303, 307, 401)
