"""``GET /api/v1/orders/{order_id}``: the order, its lines and buyer — only in the token's stores."""

from __future__ import annotations

import msgspec
import sqlalchemy as sa

from desk.accounts.models import Role, User
from desk.accounts.tokens import issue_token
from desk.db import utcnow
from desk.orders.models import Buyer
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


def _with_phone(order_id: str, phone: str, *, status: int = 20, create_time: int = 1700000000):
    order = channels_order(order_id, status=status)
    info = order.order_detail.delivery_info
    address = msgspec.structs.replace(info.address_info, tel_number=phone)
    detail = msgspec.structs.replace(
        order.order_detail, delivery_info=msgspec.structs.replace(info, address_info=address)
    )
    return msgspec.structs.replace(order, order_detail=detail, create_time=create_time)


async def test_orders_are_found_by_id_or_phone_tail_in_your_stores_only(
    client, runtime, make_store, make_user
) -> None:
    mine, theirs = await make_store(), await make_store()
    async with runtime.db.engine.begin() as conn:
        await save_order(conn, mine.id, _with_phone("3700000000000000011", "183****2807"), utcnow())
        await save_order(
            conn,
            mine.id,
            _with_phone("3700000000000000012", "139****1111", status=30, create_time=1700000100),
            utcnow(),
        )
        await save_order(conn, theirs.id, _with_phone("3700000000000000013", "150****2807"), utcnow())
    headers = await bearer(runtime, await make_user("agent", Role.AGENT, [mine]))

    async def ids(**params) -> list[str]:
        r = await client.get("/api/v1/orders", params=params, headers=headers)
        assert r.status_code == 200, r.text
        return [o["order_id"] for o in r.json()["items"]]

    assert await ids() == ["3700000000000000012", "3700000000000000011"]  # newest first
    assert await ids(q="2807") == ["3700000000000000011"]  # the other store's 2807 stays hidden
    assert await ids(q=" 3700000000000000012 ") == ["3700000000000000012"]
    assert await ids(q="3700000000000000013") == []
    assert await ids(status=30) == ["3700000000000000012"]
    assert await ids(status=20, q="1111") == []
    r = await client.get("/api/v1/orders", params={"q": "2807"}, headers=headers)
    found = r.json()["items"][0]
    assert (found["receiver_phone"], found["store_id"], found["order_price"]) == (
        "183****2807",
        str(mine.id),
        47700,
    )
    assert [line["sku_id"] for line in found["lines"]] == ["s1", "s2"]
    assert (
        await client.get("/api/v1/orders", params={"store": theirs.id}, headers=headers)
    ).status_code == 404


async def test_order_search_refuses_what_is_neither_an_order_id_nor_a_phone_tail(
    client, runtime, make_store, make_user
) -> None:
    store = await make_store()
    headers = await bearer(runtime, await make_user("agent", Role.AGENT, [store]))
    headers["accept-language"] = "en"
    for q in ("林先生", "18x2", "1' OR 1=1"):
        r = await client.get("/api/v1/orders", params={"q": q}, headers=headers)
        assert r.status_code == 400, q
        assert r.json()["extra"][0]["code"] == "orders.search.error.query"
        assert "last 4 digits" in r.json()["detail"]
    assert (
        await client.get("/api/v1/orders", params={"status": "shipped"}, headers=headers)
    ).status_code == 400


async def test_order_search_pages(client, runtime, make_store, make_user) -> None:
    store = await make_store()
    async with runtime.db.engine.begin() as conn:
        for n in range(5):
            order = _with_phone(f"37000000000000001{n:02d}", "183****2807", create_time=1700000000 + n)
            await save_order(conn, store.id, order, utcnow())
    headers = await bearer(runtime, await make_user("agent", Role.AGENT, [store]))
    r = await client.get("/api/v1/orders", params={"limit": 3}, headers=headers)
    first = r.json()
    assert [o["order_id"][-2:] for o in first["items"]] == ["04", "03", "02"]
    assert first["next_page"] == 2
    second = (await client.get("/api/v1/orders", params={"limit": 3, "page": 2}, headers=headers)).json()
    assert [o["order_id"][-2:] for o in second["items"]] == ["01", "00"]
    assert second["next_page"] is None


async def test_a_buyers_orders_span_the_stores_that_know_them(client, runtime, make_store, make_user) -> None:
    first, second, hidden = await make_store(), await make_store(), await make_store()
    async with runtime.db.engine.begin() as conn:
        await save_order(conn, first.id, channels_order("3700000000000000021", unionid="u_9"), utcnow())
        later = msgspec.structs.replace(
            channels_order("3700000000000000022", unionid="u_9", openid="o_other"), create_time=1700000500
        )
        await save_order(conn, second.id, later, utcnow())
        await save_order(conn, hidden.id, channels_order("3700000000000000023", unionid="u_9"), utcnow())
        buyer_id = (await conn.execute(sa.select(Buyer.id).where(Buyer.store_id == first.id))).scalar_one()
        hidden_buyer = (
            await conn.execute(sa.select(Buyer.id).where(Buyer.store_id == hidden.id))
        ).scalar_one()
    headers = await bearer(runtime, await make_user("agent", Role.AGENT, [first, second]))

    r = await client.get(f"/api/v1/buyers/{buyer_id}/orders", headers=headers)
    assert r.status_code == 200
    assert [(o["order_id"], o["store_id"]) for o in r.json()] == [
        ("3700000000000000022", str(second.id)),
        ("3700000000000000021", str(first.id)),
    ]
    assert (await client.get(f"/api/v1/buyers/{hidden_buyer}/orders", headers=headers)).status_code == 404
    assert (await client.get("/api/v1/buyers/999999/orders", headers=headers)).status_code == 404
    assert (await client.get(f"/api/v1/buyers/{buyer_id}/orders?limit=1", headers=headers)).json()[0][
        "order_id"
    ] == "3700000000000000022"
