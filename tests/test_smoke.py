from __future__ import annotations

from desk.accounts.models import Role
from tests.conftest import login


async def test_healthz(client) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["database"] == "ok"


async def test_agent_sees_inbox(client, app, make_user, make_store) -> None:
    store = await make_store()
    user = await make_user("a1", Role.AGENT, [store])
    r = await client.get("/inbox", follow_redirects=False)
    assert r.status_code in (302, 303, 307)
    await login(client, app, user)
    r = await client.get("/inbox")
    assert r.status_code == 200, r.text
    assert "工作台" in r.text
    r = await client.get("/settings")
    assert r.status_code == 403
