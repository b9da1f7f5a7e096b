"""``GET /api/v1/events``: parked events for monitoring, scoped to the token's stores."""

from __future__ import annotations

import sqlalchemy as sa

from desk.accounts.models import Role
from desk.ingest.models import EventState, PlatformEvent
from tests.ingest.conftest import commkf_event, insert_events
from tests.orders.test_api import bearer


async def park(runtime, *event_ids: int) -> None:
    async with runtime.db.engine.begin() as conn:
        await conn.execute(
            sa.update(PlatformEvent)
            .where(PlatformEvent.id.in_(event_ids))
            .values(state=EventState.PARKED, attempts=8, last_error="PlatformError: errcode 40001")
        )


async def test_parked_events_of_own_stores(client, runtime, make_store, make_user) -> None:
    mine, theirs = await make_store("我的店"), await make_store("别人的店")
    [parked_mine, _pending] = await insert_events(
        runtime, mine, [commkf_event("o_1", "m-1", "a"), commkf_event("o_1", "m-2", "b")]
    )
    [parked_theirs] = await insert_events(runtime, theirs, [commkf_event("o_2", "m-3", "c")])
    await park(runtime, parked_mine, parked_theirs)
    agent = await bearer(runtime, await make_user("agent", Role.AGENT, [mine]))
    admin = await bearer(runtime, await make_user("root", Role.ADMIN))

    r = await client.get("/api/v1/events", params={"state": "parked"}, headers=agent)
    assert r.status_code == 200
    [event] = r.json()
    assert event["id"] == str(parked_mine)
    assert (event["state"], event["attempts"], event["account"]) == ("parked", 8, "我的店")
    assert event["last_error"] == "PlatformError: errcode 40001"
    assert event["event_type"] == "commkf_send_msg_to_kf"
    assert '"msg_id":"m-1"' in event["preview"]

    r = await client.get("/api/v1/events", params={"state": "parked"}, headers=admin)
    assert {e["id"] for e in r.json()} == {str(parked_mine), str(parked_theirs)}
    r = await client.get("/api/v1/events", params={"limit": 1}, headers=admin)
    assert len(r.json()) == 1


async def test_bad_filters_are_400(client, runtime, make_user) -> None:
    admin = await bearer(runtime, await make_user("root", Role.ADMIN))
    assert (
        await client.get("/api/v1/events", params={"state": "sleeping"}, headers=admin)
    ).status_code == 400
    assert (await client.get("/api/v1/events", params={"limit": 0}, headers=admin)).status_code == 400
