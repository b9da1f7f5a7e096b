"""Settings → events: admins see failed and parked events and replay them."""

from __future__ import annotations

import re

import pytest

from desk.accounts.models import Role
from desk.ingest.handlers import HANDLERS
from desk.ingest.models import EventState, PlatformEvent
from desk.ingest.worker import Worker
from desk.stores.clients import PlatformClients
from tests.conftest import login
from tests.ingest.conftest import commkf_event, count_by_state, events, insert_events
from tests.ingest.test_worker import FlakyBuyerHandler, messages, worker_settings


@pytest.fixture
async def parked_event(runtime, settings, make_store):
    """A store with one commkf message event parked after three failed tries, and one done."""
    store = await make_store(name="山野户外")
    await insert_events(
        runtime, store, [commkf_event("o_bad", "m-1", "退款"), commkf_event("o_ok", "m-2", "好")]
    )
    clients = PlatformClients(runtime)
    try:
        flaky = {**HANDLERS, "message": FlakyBuyerHandler(failing={"o_bad"})}
        await Worker(runtime.db, worker_settings(settings), clients, handlers=flaky).drain()
    finally:
        await clients.aclose()
    [event] = await events(runtime, PlatformEvent.state == EventState.PARKED)
    return event


def csrf_token_in(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


async def test_admin_sees_parked_event_with_its_error_and_payload(
    client, app, make_user, parked_event
) -> None:
    await login(client, app, await make_user("root", Role.ADMIN))
    r = await client.get("/settings/events")
    assert r.status_code == 200
    assert f'id="event-{parked_event.id}"' in r.text
    assert "platform says no to o_bad" in r.text
    assert "山野户外" in r.text
    assert "commkf_send_msg_to_kf" in r.text
    assert "退款" in r.text  # the payload preview
    assert re.search(r'data-state="parked">1<', r.text)
    assert re.search(r'data-state="done">1<', r.text)


async def test_replay_from_the_page_applies_the_event(
    client, app, runtime, settings, make_user, parked_event
) -> None:
    await login(client, app, await make_user("root", Role.ADMIN))
    page = await client.get("/settings/events")

    r = await client.post(
        f"/settings/events/{parked_event.id}/replay", data={"_csrf_token": csrf_token_in(page.text)}
    )
    assert r.status_code in (302, 303)
    [replayed] = await events(runtime, PlatformEvent.id == parked_event.id)
    assert (replayed.state, replayed.attempts) == (EventState.PENDING, 0)

    clients = PlatformClients(runtime)  # the cause is fixed: the real handler works
    try:
        assert await Worker(runtime.db, worker_settings(settings), clients).drain() == 1
    finally:
        await clients.aclose()
    assert await count_by_state(runtime) == {EventState.DONE: 2}
    assert await messages(runtime) == [("m-1", "退款")]  # m-2 went through the flaky handler
    followed = await client.get(r.headers["location"])
    assert f'id="event-{parked_event.id}"' not in followed.text


async def test_replay_all_parked(client, app, runtime, make_user, parked_event) -> None:
    await login(client, app, await make_user("root", Role.ADMIN))
    page = await client.get("/settings/events")
    r = await client.post("/settings/events/replay-parked", data={"_csrf_token": csrf_token_in(page.text)})
    assert r.status_code in (302, 303)
    assert await count_by_state(runtime) == {EventState.DONE: 1, EventState.PENDING: 1}


async def test_replay_needs_the_csrf_token(client, app, runtime, make_user, parked_event) -> None:
    await login(client, app, await make_user("root", Role.ADMIN))
    await client.get("/settings/events")
    r = await client.post(f"/settings/events/{parked_event.id}/replay", data={})
    assert r.status_code == 403
    [event] = await events(runtime, PlatformEvent.id == parked_event.id)
    assert event.state == EventState.PARKED


async def test_done_events_cannot_be_replayed(client, app, runtime, make_user, parked_event) -> None:
    await login(client, app, await make_user("root", Role.ADMIN))
    page = await client.get("/settings/events")
    [done] = await events(runtime, PlatformEvent.state == EventState.DONE)
    r = await client.post(
        f"/settings/events/{done.id}/replay", data={"_csrf_token": csrf_token_in(page.text)}
    )
    assert r.status_code == 404
    assert await count_by_state(runtime) == {EventState.DONE: 1, EventState.PARKED: 1}


async def test_only_admins_see_events(client, app, make_user, make_store) -> None:
    store = await make_store()
    await login(client, app, await make_user("mgr", Role.MANAGER, [store]))
    assert (await client.get("/settings/events")).status_code == 403
