"""``GET /api/v1/commands/{id}``: where a command stands, scoped to the token user's stores."""

from __future__ import annotations

import sqlalchemy as sa

from desk.accounts.models import Role
from desk.commands.models import CommandState, OutboundCommand
from desk.commands.service import enqueue
from desk.runtime import Runtime
from tests.orders.test_api import bearer


async def command_in(runtime: Runtime, store_id: int, **values: object) -> int:
    async with runtime.db.session() as session:
        ref = await enqueue(
            session, None, store_id=store_id, kind="send_message", key="k1", payload={}, subject="message:1"
        )
        if values:
            await session.execute(
                sa.update(OutboundCommand).where(OutboundCommand.id == ref.id).values(**values)
            )
    return ref.id


async def test_a_command_is_shown_to_its_stores_only(client, runtime, make_store, make_user) -> None:
    mine, theirs = await make_store(), await make_store()
    agent = await bearer(runtime, await make_user("agent", Role.AGENT, [mine]))
    admin = await bearer(runtime, await make_user("root", Role.ADMIN))
    own = await command_in(runtime, mine.id)
    foreign = await command_in(runtime, theirs.id)

    r = await client.get(f"/api/v1/commands/{own}", headers=agent)

    assert r.status_code == 200
    body = r.json()
    assert (body["id"], body["store_id"], body["kind"], body["subject"]) == (
        own,
        mine.id,
        "send_message",
        "message:1",
    )
    assert (body["state"], body["attempts"], body["error_code"], body["error"]) == ("queued", 0, None, "")
    assert (body["result"], body["finished_at"]) == ({}, None)
    assert body["created_at"].endswith("Z")
    assert (await client.get(f"/api/v1/commands/{foreign}", headers=agent)).status_code == 404
    assert (await client.get("/api/v1/commands/999999", headers=agent)).status_code == 404
    assert (await client.get(f"/api/v1/commands/{foreign}", headers=admin)).status_code == 200
    assert (await client.get(f"/api/v1/commands/{own}")).status_code == 401


async def test_a_command_waiting_to_retry_says_why(client, runtime, make_store, make_user) -> None:
    store = await make_store()
    headers = await bearer(runtime, await make_user("agent", Role.AGENT, [store]))
    busy = await command_in(
        runtime,
        store.id,
        state=CommandState.QUEUED,
        attempts=2,
        error_code=-1,
        last_error="system busy rid: 1",
    )

    body = (await client.get(f"/api/v1/commands/{busy}", headers={**headers, "accept-language": "en"})).json()

    assert (body["state"], body["attempts"], body["error_code"]) == ("queued", 2, -1)
    assert body["error"] == "The WeChat platform is busy; try again shortly."
