"""``GET /api/v1/aftersales/{id}``: scoped to the token user's stores."""

from __future__ import annotations

import datetime as dt

import msgspec

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


async def _store_aftersales(runtime, store_id: int, *items: tuple[str, str, int]) -> None:
    """Store after-sales of ``store_id``: (id, status, seconds left to the merchant's deadline)."""
    fetched_at = utcnow()
    async with runtime.db.engine.begin() as conn:
        for after_sale_order_id, status, deadline in items:
            aftersale = msgspec.structs.replace(
                channels_aftersale(after_sale_order_id, status=status), deadline=deadline
            )
            await save_aftersale(conn, store_id, aftersale, fetched_at)


async def test_the_list_shows_your_stores_deadline_soonest_first(
    client, runtime, make_store, make_user
) -> None:
    mine, theirs = await make_store(), await make_store()
    await _store_aftersales(
        runtime,
        mine.id,
        ("2001", "MERCHANT_PROCESSING", 30 * 3600),
        ("2002", "MERCHANT_REFUND_SUCCESS", 0),
        ("2003", "MERCHANT_WAIT_RECEIPT", 3600),
    )
    await _store_aftersales(runtime, theirs.id, ("2004", "MERCHANT_PROCESSING", 60))
    agent = await bearer(runtime, await make_user("agent", Role.AGENT, [mine]))
    admin = await bearer(runtime, await make_user("root", Role.ADMIN))

    r = await client.get("/api/v1/aftersales", headers=agent)
    assert r.status_code == 200
    body = r.json()
    assert [a["after_sale_order_id"] for a in body["items"]] == ["2003", "2001", "2002"]
    assert body["next_page"] is None
    first = body["items"][0]
    assert (first["store_id"], first["title"], first["refund_amount"]) == (str(mine.id), "", 35900)
    assert first["merchant_deadline"].endswith("Z")
    assert body["items"][2]["merchant_deadline"] is None

    r = await client.get("/api/v1/aftersales", headers=admin)
    assert [a["after_sale_order_id"] for a in r.json()["items"]] == ["2004", "2003", "2001", "2002"]
    r = await client.get("/api/v1/aftersales", params={"store": theirs.id}, headers=agent)
    assert r.status_code == 404
    r = await client.get("/api/v1/aftersales", params={"store": theirs.id}, headers=admin)
    assert [a["after_sale_order_id"] for a in r.json()["items"]] == ["2004"]


async def test_the_list_filters_by_status_and_deadline(client, runtime, make_store, make_user) -> None:
    store = await make_store()
    await _store_aftersales(
        runtime,
        store.id,
        ("2001", "MERCHANT_PROCESSING", 30 * 3600),
        ("2002", "MERCHANT_REFUND_SUCCESS", 0),
        ("2003", "MERCHANT_WAIT_RECEIPT", 3600),
    )
    headers = await bearer(runtime, await make_user("agent", Role.AGENT, [store]))

    async def ids(**params) -> list[str]:
        r = await client.get("/api/v1/aftersales", params=params, headers=headers)
        assert r.status_code == 200, r.text
        return [a["after_sale_order_id"] for a in r.json()["items"]]

    assert await ids(status="MERCHANT_PROCESSING") == ["2001"]
    assert await ids(status="actionable") == ["2003", "2001"]
    in_a_day = (utcnow() + dt.timedelta(hours=24)).isoformat()
    assert await ids(deadline_before=in_a_day) == ["2003"]
    assert await ids(deadline_before=in_a_day, status="MERCHANT_PROCESSING") == []


async def test_bad_list_filters_are_refused_with_a_message(client, runtime, make_store, make_user) -> None:
    store = await make_store()
    headers = await bearer(runtime, await make_user("agent", Role.AGENT, [store]))
    headers["accept-language"] = "en"

    r = await client.get("/api/v1/aftersales", params={"status": "REFUNDED"}, headers=headers)
    assert r.status_code == 400
    assert r.json()["extra"][0]["code"] == "aftersales.list.error.status"
    assert "REFUNDED" in r.json()["detail"]
    r = await client.get(
        "/api/v1/aftersales", params={"deadline_before": "2026-12-01T12:00:00"}, headers=headers
    )
    assert r.status_code == 400
    assert r.json()["extra"][0]["key"] == "deadline_before"
    for bad in ({"deadline_before": "tomorrow"}, {"limit": 0}, {"limit": 201}, {"page": 0}):
        r = await client.get("/api/v1/aftersales", params=bad, headers=headers)
        assert r.status_code == 400, bad
        assert r.json()["detail"]


async def test_the_list_pages_through_every_request_once(client, runtime, make_store, make_user) -> None:
    store = await make_store()
    await _store_aftersales(
        runtime, store.id, *[(f"30{n:02d}", "MERCHANT_PROCESSING", 3600 * (n + 1)) for n in range(5)]
    )
    headers = await bearer(runtime, await make_user("agent", Role.AGENT, [store]))
    seen, page = [], 1
    while page is not None:
        r = await client.get("/api/v1/aftersales", params={"limit": 2, "page": page}, headers=headers)
        body = r.json()
        assert len(body["items"]) <= 2
        seen += [a["after_sale_order_id"] for a in body["items"]]
        page = body["next_page"]
    assert seen == [f"30{n:02d}" for n in range(5)]
