"""``GET /api/v1/aftersales/{id}``: scoped to the token user's stores."""

from __future__ import annotations

from desk.accounts.models import Role
from desk.aftersales.services import save_aftersale
from desk.db import utcnow
from tests.aftersales.test_services import channels_aftersale
from tests.orders.test_api import bearer


async def test_aftersale_is_returned_to_its_stores_only(client, runtime, make_store, make_user) -> None:
    mine, theirs = await make_store(), await make_store()
    async with runtime.db.engine.begin() as conn:
        await save_aftersale(conn, mine.id, channels_aftersale("1001"), utcnow())
        await save_aftersale(conn, theirs.id, channels_aftersale("1002"), utcnow())
    agent = await bearer(runtime, await make_user("agent", Role.AGENT, [mine]))
    admin = await bearer(runtime, await make_user("root", Role.ADMIN))

    r = await client.get("/api/v1/aftersales/1001", headers=agent)
    assert r.status_code == 200
    body = r.json()
    assert (body["after_sale_order_id"], body["order_id"], body["store_id"]) == (
        "1001",
        "3700000000000000001",
        str(mine.id),
    )
    assert (body["type"], body["status"], body["refund_amount"]) == ("RETURN", "MERCHANT_PROCESSING", 35900)
    assert body["merchant_deadline"].endswith("Z")
    assert body["buyer"]["openid"] == "o_buyer"

    assert (await client.get("/api/v1/aftersales/1002", headers=agent)).status_code == 404
    assert (await client.get("/api/v1/aftersales/1002", headers=admin)).status_code == 200
