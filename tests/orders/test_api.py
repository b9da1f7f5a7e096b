"""``GET /api/v1/orders/{order_id}``: the order, its lines and buyer — only in the token's stores."""

from __future__ import annotations

from desk.accounts.models import Role, User
from desk.accounts.tokens import issue_token
from desk.db import utcnow
from desk.orders.services import save_order
from tests.orders.test_services import channels_order


async def bearer(runtime, user: User) -> dict[str, str]:
    async with runtime.db.session() as session:
        token, _ = await issue_token(session, await session.get_one(User, user.id), "integration")
    return {"authorization": f"Bearer {token}"}


async def test_order_of_own_store_is_returned_typed(client, runtime, make_store, make_user) -> None:
    store = await make_store()
    async with runtime.db.engine.begin() as conn:
        await save_order(conn, store.id, channels_order("3700000000000000001", unionid="u_1"), utcnow())
    headers = await bearer(runtime, await make_user("agent", Role.AGENT, [store]))

    r = await client.get("/api/v1/orders/3700000000000000001", headers=headers)

    assert r.status_code == 200
    body = r.json()
    assert body["order_id"] == "3700000000000000001"
    assert body["store_id"] == str(store.id)
    assert (body["status"], body["order_price"]) == (20, 47700)
    assert body["create_time"] == "2023-11-14T22:13:20Z"
    assert body["receiver_tel_masked"] == "183****2807"
    assert [(line["sku_id"], line["real_price"]) for line in body["lines"]] == [("s1", 35900), ("s2", 5900)]
    assert body["buyer"]["openid"] == "o_buyer"
    assert body["buyer"]["unionid"] == "u_1"
    assert isinstance(body["buyer"]["id"], str)


async def test_order_of_another_store_is_404_for_agents_and_visible_to_admins(
    client, runtime, make_store, make_user
) -> None:
    mine, theirs = await make_store(), await make_store()
    async with runtime.db.engine.begin() as conn:
        await save_order(conn, theirs.id, channels_order("3700000000000000002"), utcnow())
    agent = await bearer(runtime, await make_user("agent", Role.AGENT, [mine]))
    admin = await bearer(runtime, await make_user("root", Role.ADMIN))

    assert (await client.get("/api/v1/orders/3700000000000000002", headers=agent)).status_code == 404
    assert (await client.get("/api/v1/orders/3700000000000000002", headers=admin)).status_code == 200
    assert (await client.get("/api/v1/orders/3700000000000000009", headers=admin)).status_code == 404


async def test_orders_need_a_token(client) -> None:
    assert (await client.get("/api/v1/orders/3700000000000000001")).status_code == 401
