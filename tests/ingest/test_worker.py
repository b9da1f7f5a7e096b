"""The worker: each stored event applied exactly once, failures retried, then parked."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import secrets
from collections.abc import AsyncIterator, Hashable, Sequence

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from desk.app import create_app
from desk.db import utcnow
from desk.inbox.models import Conversation, Message
from desk.ingest.handlers import HANDLERS, FetchContext, Fetched, WorkItem
from desk.ingest.models import EventState, PlatformEvent
from desk.ingest.worker import Worker
from desk.orders.models import Buyer
from desk.orders.services import save_buyer
from desk.runtime import Runtime
from desk.settings import Settings
from desk.stores.clients import PlatformClients
from tests.conftest import app_lifespan, on_platform
from tests.ingest.conftest import (
    channels_push,
    commkf_event,
    count_by_state,
    events,
    insert_events,
    order_event,
    store_crypt,
)


@pytest.fixture
async def clients(runtime: Runtime) -> AsyncIterator[PlatformClients]:
    c = PlatformClients(runtime)
    yield c
    await c.aclose()


def worker_settings(settings: Settings, **changes: object) -> Settings:
    return settings.with_changes(worker_backoff_base_s=0.0, worker_max_attempts=3, **changes)


async def messages(runtime: Runtime) -> list[tuple[str, str]]:
    async with runtime.db.engine.connect() as conn:
        rows = await conn.execute(sa.select(Message.platform_msg_id, Message.text).order_by(Message.id))
        return [tuple(r) for r in rows]


class FlakyBuyerHandler:
    """Writes a buyer for the message's openid, then fails for openids in ``failing``.

    The write before the failure shows that a failed event's effects are rolled back.
    """

    def __init__(self, failing: set[str]) -> None:
        self.failing = failing

    def fetch_key(self, item: WorkItem) -> Hashable | None:
        return None

    async def fetch(self, ctx: FetchContext, items: Sequence[WorkItem]) -> Fetched:
        raise AssertionError("nothing to fetch")

    async def apply(self, conn: AsyncConnection, item: WorkItem, fetched: Fetched | None) -> None:
        await save_buyer(conn, item.store_id, item.event.openid)
        if item.event.openid in self.failing:
            raise RuntimeError(f"platform says no to {item.event.openid}")


class CountingFetchHandler:
    """Fetches once per openid (its fetch key) and counts the fetches."""

    def __init__(self) -> None:
        self.fetches: list[Hashable] = []

    def fetch_key(self, item: WorkItem) -> Hashable | None:
        return ("buyer", item.store_id, item.event.openid)

    async def fetch(self, ctx: FetchContext, items: Sequence[WorkItem]) -> Fetched:
        self.fetches.append(self.fetch_key(items[0]))
        return Fetched(len(items), utcnow())

    async def apply(self, conn: AsyncConnection, item: WorkItem, fetched: Fetched | None) -> None:
        await save_buyer(conn, item.store_id, item.event.openid)


async def test_same_push_five_times_is_applied_once(client, runtime, settings, clients, make_store) -> None:
    store = await make_store()
    query, body = channels_push(store_crypt(runtime, store), commkf_event("o_1", "m-1", "在吗"))
    for _ in range(5):
        assert (await client.post(f"/webhooks/channels/{store.key}?{query}", content=body)).status_code == 200
    worker = Worker(runtime.db, worker_settings(settings), clients)

    assert await worker.drain() == 1
    for _ in range(5):  # the platform keeps retrying after we applied it
        assert (await client.post(f"/webhooks/channels/{store.key}?{query}", content=body)).status_code == 200
    assert await worker.drain() == 0

    assert await messages(runtime) == [("m-1", "在吗")]
    [event] = await events(runtime)
    assert event.state == EventState.DONE
    assert event.applied_at is not None
    assert event.attempts == 1


async def test_buyer_messages_open_a_waiting_conversation(runtime, settings, clients, make_store) -> None:
    store = await make_store()
    await insert_events(
        runtime,
        store,
        [
            commkf_event("o_1", "m-2", "还在吗", create_time=1700000060),
            commkf_event("o_1", "m-1", "什么时候发货", create_time=1700000000),  # arrives late
            commkf_event("o_2", "m-3", "hello", create_time=1700000030),
        ],
    )
    await Worker(runtime.db, worker_settings(settings), clients).drain()

    async with runtime.db.session() as session:
        conversations = {c.peer_id: c for c in await session.scalars(sa.select(Conversation))}
        buyers = {b.openid: b for b in await session.scalars(sa.select(Buyer))}
    assert set(conversations) == {"o_1", "o_2"}
    first = conversations["o_1"]
    assert first.store_id == store.id
    assert first.buyer_id == buyers["o_1"].id
    assert first.last_message_at == dt.datetime.fromtimestamp(1700000060, dt.UTC)
    assert first.last_buyer_message_at == dt.datetime.fromtimestamp(1700000060, dt.UTC)
    # The buyer has waited since their first message, whichever push arrived first.
    assert first.waiting_since == dt.datetime.fromtimestamp(1700000000, dt.UTC)
    assert sorted(await messages(runtime)) == [("m-1", "什么时候发货"), ("m-2", "还在吗"), ("m-3", "hello")]


async def test_failing_event_is_retried_then_parked_without_its_effects(
    runtime, settings, clients, make_store
) -> None:
    store = await make_store()
    await insert_events(
        runtime, store, [commkf_event(f"o_{n}", f"m-{n}", "hi", create_time=1700000000 + n) for n in range(5)]
    )
    worker = Worker(
        runtime.db,
        worker_settings(settings),
        clients,
        handlers={**HANDLERS, "message": FlakyBuyerHandler(failing={"o_2"})},
    )

    first = await worker.run_once()
    assert (first.claimed, first.done, first.failed) == (5, 4, 1)
    [failed] = await events(runtime, PlatformEvent.state != EventState.DONE)
    assert failed.state == EventState.PENDING
    assert failed.attempts == 1
    assert "platform says no to o_2" in failed.last_error
    assert failed.claimed_by is None

    await worker.drain()  # tries 2 and 3 (no backoff in this test), then parked
    [parked] = await events(runtime, PlatformEvent.state == EventState.PARKED)
    assert parked.id == failed.id
    assert parked.attempts == 3
    assert await count_by_state(runtime) == {EventState.DONE: 4, EventState.PARKED: 1}
    async with runtime.db.engine.connect() as conn:
        openids = set((await conn.scalars(sa.select(Buyer.openid))).all())
    assert openids == {"o_0", "o_1", "o_3", "o_4"}  # o_2's buyer was rolled back with its savepoint


async def test_failed_event_waits_for_its_backoff(runtime, settings, clients, make_store) -> None:
    store = await make_store()
    await insert_events(runtime, store, [commkf_event("o_1", "m-1", "hi")])
    worker = Worker(
        runtime.db,
        settings.with_changes(worker_backoff_base_s=60.0),
        clients,
        handlers={**HANDLERS, "message": FlakyBuyerHandler(failing={"o_1"})},
    )
    before = utcnow()
    await worker.run_once()
    [event] = await events(runtime)
    # 60 s doubled 0 times, with jitter in [0.5, 1]: due in 30-60 s, not now.
    assert before + dt.timedelta(seconds=29) < event.next_attempt_at < utcnow() + dt.timedelta(seconds=61)
    assert (await worker.run_once()).claimed == 0


async def test_events_about_the_same_object_share_one_fetch(runtime, settings, clients, make_store) -> None:
    store = await make_store()
    await insert_events(
        runtime,
        store,
        [commkf_event(f"o_{n % 2}", f"m-{n}", "hi", create_time=1700000000 + n) for n in range(6)],
    )
    handler = CountingFetchHandler()
    worker = Worker(runtime.db, worker_settings(settings), clients, handlers={**HANDLERS, "message": handler})
    assert await worker.drain() == 6
    assert sorted(handler.fetches) == [("buyer", store.id, "o_0"), ("buyer", store.id, "o_1")]


async def test_expired_lease_is_taken_over_and_the_late_worker_applies_nothing(
    runtime, settings, clients, make_store
) -> None:
    store = await make_store()
    await insert_events(runtime, store, [commkf_event("o_1", "m-1", "hi")])
    fast_lease = worker_settings(settings, worker_lease_s=0.05)
    slow = Worker(runtime.db, fast_lease, clients, name="slow")
    async with runtime.db.engine.begin() as conn:
        claimed = await slow.queue.claim(conn, 10)
    assert [c.attempts for c in claimed] == [1]

    await asyncio.sleep(0.1)  # the slow worker's lease runs out (as if it had been killed)
    other = Worker(runtime.db, fast_lease, clients, name="other")
    assert await other.drain() == 1

    # The slow worker comes back and tries to apply its stale claim: nothing happens.
    items, failures = slow._decode(claimed)
    assert await slow._apply(claimed, items, {}, failures) == (0, 0)
    assert await messages(runtime) == [("m-1", "hi")]
    [event] = await events(runtime)
    assert (event.state, event.claimed_by, event.attempts) == (EventState.DONE, "other", 2)


async def test_concurrent_workers_apply_each_event_once(runtime, settings, make_store) -> None:
    store = await make_store()
    await insert_events(
        runtime,
        store,
        [commkf_event(f"o_{n % 7}", f"m-{n}", f"#{n}", create_time=1700000000 + n) for n in range(300)],
    )
    shared = PlatformClients(runtime)
    try:
        workers = [
            Worker(runtime.db, worker_settings(settings, worker_batch=25), shared, name=f"w{n}")
            for n in range(3)
        ]
        applied = await asyncio.gather(*(w.drain() for w in workers))
    finally:
        await shared.aclose()
    assert sum(applied) == 300
    assert len(await messages(runtime)) == 300
    assert await count_by_state(runtime) == {EventState.DONE: 300}


async def test_embedded_worker_applies_pushes_as_they_arrive(runtime, settings, make_store) -> None:
    """The in-process worker wakes when the writer stores pushes (no waiting for a poll)."""
    store = await make_store()
    app = create_app(settings.with_changes(worker="embedded", worker_poll_s=30.0))
    async with (
        app_lifespan(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        query, body = channels_push(store_crypt(runtime, store), commkf_event("o_1", "m-1", "在吗"))
        assert (await client.post(f"/webhooks/channels/{store.key}?{query}", content=body)).status_code == 200
        for _ in range(100):
            if await messages(runtime):
                break
            await asyncio.sleep(0.05)
    assert await messages(runtime) == [("m-1", "在吗")]


async def test_events_of_a_store_whose_credentials_are_refused_are_not_logged_one_by_one(
    runtime, settings, clients, make_store, wechat, caplog
) -> None:
    appid = f"wxrefused{secrets.token_hex(4)}"
    on_platform(wechat, appid=appid, secret="the-secret")
    store = await make_store(appid=appid, appsecret="a-mistyped-secret")
    await insert_events(runtime, store, [order_event(f"37000000000000000{n:02d}") for n in range(5)])
    worker = Worker(
        runtime.db, settings.with_changes(worker_backoff_base_s=0.0, worker_max_attempts=10), clients
    )
    caplog.set_level(logging.DEBUG)
    for _ in range(3):
        assert (await worker.run_once()).failed == 5
    assert {e.state for e in await events(runtime)} == {EventState.PENDING}
    assert all("CredentialError" in e.last_error for e in await events(runtime))
    noticed = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.name for r in noticed] == ["desk.stores.health"]  # the store's state, said once
