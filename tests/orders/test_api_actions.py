"""``POST /api/v1/orders/{id}/…``: address-change answers and merchant notes through the API,
counted at the simulated platform."""

from __future__ import annotations

from desk.accounts.models import Role
from tests.ingest.conftest import Platform
from tests.orders.test_actions import runner
from tests.orders.test_api import bearer

ACCEPT = "order/addressmodify/accept"


async def test_an_address_change_is_accepted_once_per_request_id(
    client, platform: Platform, make_user
) -> None:
    headers = await bearer(platform.runtime, await make_user("小陈", Role.AGENT, [platform.stores[0]]))
    sim, appid = platform.sim, platform.appids[0]
    order = sim.create_order(appid, sim.new_buyer(appid))
    sim.request_address_change(appid, order.order_id)
    await platform.settle()
    url = f"/api/v1/orders/{order.order_id}/address-change/accept"

    first = await client.post(url, json={"request_id": "a-1"}, headers=headers)
    again = await client.post(url, json={"request_id": "a-1"}, headers=headers)
    assert first.status_code == again.status_code == 202
    assert (first.json()["created"], again.json()["created"]) == (True, False)
    assert again.json()["command_id"] == first.json()["command_id"]
    await runner(platform).drain()
    assert sim.api.calls_by_path[ACCEPT] == 1
    assert sim.order(appid, order.order_id).address_under_review is None

    late = await client.post(url, json={"request_id": "a-1"}, headers=headers)
    assert (late.status_code, late.json()["state"]) == (202, "succeeded")
    headers["accept-language"] = "en"
    answered = await client.post(url.replace("accept", "reject"), json={"request_id": "a-2"}, headers=headers)
    assert answered.status_code == 409
    assert "no address change" in answered.json()["detail"]
    await runner(platform).drain()
    assert sim.api.calls_by_path[ACCEPT] == 1
    assert sim.api.calls_by_path["order/addressmodify/reject"] == 0


async def test_the_merchant_note_is_written_once_and_checked(client, platform: Platform, make_user) -> None:
    headers = await bearer(platform.runtime, await make_user("小陈", Role.AGENT, [platform.stores[0]]))
    other_store = await bearer(platform.runtime, await make_user("小刘", Role.AGENT, [platform.stores[1]]))
    sim, appid = platform.sim, platform.appids[0]
    order = sim.create_order(appid, sim.new_buyer(appid))
    await platform.settle()
    url = f"/api/v1/orders/{order.order_id}/merchant-note"

    assert (await client.post(url, json={"note": "顺丰发"}, headers=other_store)).status_code == 404
    too_long = await client.post(url, json={"note": "长" * 201}, headers=headers)
    assert too_long.status_code == 422
    assert too_long.json()["extra"][0]["key"] == "note"
    assert (await client.post(url, json={}, headers=headers)).status_code == 400
    first = await client.post(url, json={"note": "顺丰发", "request_id": "n-1"}, headers=headers)
    again = await client.post(url, json={"note": "顺丰发", "request_id": "n-1"}, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json()["command_id"] == first.json()["command_id"]
    await runner(platform).drain()
    assert sim.api.calls_by_path["order/merchantnotes/update"] == 1
    assert sim.order(appid, order.order_id).merchant_notes == "顺丰发"
