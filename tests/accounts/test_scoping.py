"""Store scoping: users see their own stores' data; other stores' data is "not found"."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from litestar.exceptions import NotFoundException

from desk.accounts.models import Role
from desk.accounts.scoping import get_scoped, scoped, store_ids_for
from desk.accounts.tokens import issue_token
from desk.stores.models import Store
from tests.conftest import login


async def bearer(runtime, user) -> dict[str, str]:
    async with runtime.db.session() as session:
        token, _ = await issue_token(session, await session.get_one(type(user), user.id), "test")
    return {"authorization": f"Bearer {token}"}


@pytest.mark.parametrize("role", [Role.AGENT, Role.MANAGER])
async def test_a_user_of_store_a_gets_404_for_store_b_by_url_and_by_api(
    client, app, runtime, make_user, make_store, role
) -> None:
    a, b = await make_store("A店"), await make_store("B店")
    user = await make_user("alice", role, [a])
    await login(client, app, user)
    assert (await client.get(f"/stores/{a.id}")).status_code == 200
    page = await client.get(f"/stores/{b.id}")
    assert page.status_code == 404
    assert "B店" not in page.text

    client.cookies.clear()
    headers = await bearer(runtime, user)
    assert (await client.get(f"/api/v1/stores/{a.id}", headers=headers)).json()["name"] == "A店"
    r = await client.get(f"/api/v1/stores/{b.id}", headers=headers)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/json")
    assert [s["name"] for s in (await client.get("/api/v1/stores", headers=headers)).json()] == ["A店"]


async def test_admins_see_every_store(client, runtime, make_user, make_store) -> None:
    a, b = await make_store("A店"), await make_store("B店")
    headers = await bearer(runtime, await make_user("root", Role.ADMIN))
    names = [s["name"] for s in (await client.get("/api/v1/stores", headers=headers)).json()]
    assert sorted(names) == ["A店", "B店"]
    assert (await client.get(f"/api/v1/stores/{b.id}", headers=headers)).status_code == 200
    assert (await client.get(f"/api/v1/stores/{a.id}", headers=headers)).status_code == 200


async def test_scoped_queries_filter_by_the_users_stores(runtime, make_user, make_store) -> None:
    a, b, c = await make_store("A"), await make_store("B"), await make_store("C")
    agent = await make_user("alice", Role.AGENT, [a, c])
    admin = await make_user("root", Role.ADMIN)
    nobody = await make_user("bob", Role.AGENT)
    assert store_ids_for(agent) == {a.id, c.id}
    assert store_ids_for(admin) is None
    async with runtime.db.session() as session:
        rows = await session.scalars(scoped(sa.select(Store.name), Store.id, agent).order_by(Store.name))
        assert list(rows) == ["A", "C"]
        assert list(await session.scalars(scoped(sa.select(Store.name), Store.id, nobody))) == []
        assert len(list(await session.scalars(scoped(sa.select(Store.id), Store.id, admin)))) == 3
        assert (await get_scoped(session, Store, agent, Store.id == c.id, scope_column=Store.id)).name == "C"
        with pytest.raises(NotFoundException):
            await get_scoped(session, Store, agent, Store.id == b.id, scope_column=Store.id)
