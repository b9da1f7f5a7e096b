"""``POST /api/v1/aftersales/{id}/…``: decisions through the API, counted at the simulated platform.

The API answers 202 with the command; the real command runner then calls the simulator over HTTP,
so "one platform call" is what the simulator itself counted.
"""

from __future__ import annotations

import sqlalchemy as sa

from desk.accounts.models import Role
from desk.aftersales.models import ReturnAddressBinding
from desk.audit.models import AuditEntry, Outcome
from desk.commands.models import OutboundCommand
from tests.aftersales.test_actions import ACCEPT, requested, runner
from tests.ingest.conftest import Platform
from tests.orders.test_api import bearer


async def _commands(platform: Platform) -> int:
    async with platform.runtime.db.engine.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(OutboundCommand))).scalar_one())


async def test_the_same_request_id_twice_is_one_command_and_one_refund(
    client, platform: Platform, make_user
) -> None:
    chen = await make_user("小陈", Role.AGENT, [platform.stores[0]])
    liu = await make_user("小刘", Role.AGENT, [platform.stores[0]])
    headers, other = await bearer(platform.runtime, chen), await bearer(platform.runtime, liu)
    after_sale_order_id, _ = await requested(platform, "REFUND")
    url = f"/api/v1/aftersales/{after_sale_order_id}/approve"

    first = await client.post(url, json={"request_id": "erp-1", "why": "质量问题"}, headers=headers)
    again = await client.post(url, json={"request_id": "erp-1"}, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json()["created"] is True
    assert first.json()["state"] == "queued"
    assert again.json()["command_id"] == first.json()["command_id"]
    assert again.json()["created"] is False

    await runner(platform).drain()
    assert platform.sim.api.calls_by_path[ACCEPT] == 1
    assert platform.sim.aftersale(platform.appids[0], after_sale_order_id).status != "MERCHANT_PROCESSING"

    # A retry after the refund went through still answers with the first command, now done…
    late = await client.post(url, json={"request_id": "erp-1"}, headers=headers)
    assert late.status_code == 202
    assert (late.json()["command_id"], late.json()["state"]) == (first.json()["command_id"], "succeeded")
    # …while a colleague's new request is told who handled it.
    colleague = await client.post(
        url, json={"request_id": "erp-2"}, headers={**other, "accept-language": "en"}
    )
    assert colleague.status_code == 409
    assert "Already handled by 小陈" in colleague.json()["detail"]
    await runner(platform).drain()
    assert platform.sim.api.calls_by_path[ACCEPT] == 1
    async with platform.runtime.db.engine.connect() as conn:
        audit = (
            await conn.execute(sa.select(AuditEntry.actor_name, AuditEntry.outcome).order_by(AuditEntry.id))
        ).all()
    assert [(a.actor_name, a.outcome) for a in audit] == [
        ("小陈", Outcome.SUCCEEDED),
        ("小刘", Outcome.REFUSED),
    ]


async def test_a_return_approved_through_the_api_goes_to_the_sku_address_unless_one_is_given(
    client, platform: Platform, make_user
) -> None:
    headers = await bearer(platform.runtime, await make_user("小陈", Role.AGENT, [platform.stores[0]]))
    store, appid = platform.stores[0], platform.appids[0]
    addresses = [a.address_id for a in platform.sim.store_state(appid).addresses.values() if a.recv_addr]
    bound, chosen = addresses[0], addresses[1]
    bound_one, _ = await requested(platform, "RETURN", shipped=True)
    chosen_one, _ = await requested(platform, "RETURN", shipped=True)
    async with platform.runtime.db.session() as session:
        session.add(ReturnAddressBinding(store_id=store.id, scope="store", ref="", address_id=bound))

    r = await client.post(f"/api/v1/aftersales/{bound_one}/approve", json={}, headers=headers)
    assert (r.status_code, r.json()["address_id"]) == (202, bound)
    r = await client.post(
        f"/api/v1/aftersales/{chosen_one}/approve", json={"address_id": chosen}, headers=headers
    )
    assert (r.status_code, r.json()["address_id"]) == (202, chosen)
    await runner(platform).drain()
    assert platform.sim.aftersale(appid, bound_one).return_address_id == bound
    assert platform.sim.aftersale(appid, chosen_one).return_address_id == chosen
    assert platform.sim.api.calls_by_path[ACCEPT] == 2


async def test_bad_decisions_are_refused_clearly_and_send_nothing(
    client, platform: Platform, make_user
) -> None:
    headers = await bearer(platform.runtime, await make_user("小陈", Role.AGENT, [platform.stores[0]]))
    headers["accept-language"] = "en"
    after_sale_order_id, _ = await requested(platform, "REFUND")
    base = f"/api/v1/aftersales/{after_sale_order_id}"

    r = await client.post(f"{base}/reject", json={"reject_reason": "no"}, headers=headers)
    assert r.status_code == 422
    assert r.json()["extra"][0]["code"] == "aftersales.error.reason_required"
    r = await client.post(f"{base}/negotiate", json={"merchant_update_type": 2}, headers=headers)
    assert r.status_code == 422
    assert r.json()["extra"][0]["code"] == "aftersales.error.negotiation_incomplete"
    r = await client.post(f"{base}/confirm-receipt", json={}, headers=headers)  # nothing returned yet
    assert r.status_code == 409
    for body in (
        {"request_id": "has space"},
        {"request_id": "x" * 65},
        {"nonsense": 1},
        {"merchant_update_type": 7},
    ):
        path = "negotiate" if "merchant_update_type" in body else "approve"
        r = await client.post(f"{base}/{path}", json=body, headers=headers)
        assert r.status_code == 400, body
        assert r.json()["detail"]
    r = await client.post(f"{base}/approve", content=b"{not json", headers=headers)
    assert r.status_code == 400
    r = await client.post("/api/v1/aftersales/999999/approve", json={}, headers=headers)
    assert r.status_code == 404
    assert await _commands(platform) == 0


async def test_after_sales_of_other_stores_are_404_and_a_key_serves_one_request(
    client, platform: Platform, make_user
) -> None:
    headers = await bearer(platform.runtime, await make_user("小陈", Role.AGENT, [platform.stores[1]]))
    admin = await bearer(platform.runtime, await make_user("root", Role.ADMIN))
    first, _ = await requested(platform, "REFUND")  # store 0
    second, _ = await requested(platform, "REFUND")
    r = await client.post(f"/api/v1/aftersales/{first}/approve", json={"request_id": "k"}, headers=headers)
    assert r.status_code == 404
    assert await _commands(platform) == 0
    assert (
        await client.post(f"/api/v1/aftersales/{first}/approve", json={"request_id": "k"}, headers=admin)
    ).status_code == 202
    r = await client.post(f"/api/v1/aftersales/{second}/approve", json={"request_id": "k"}, headers=admin)
    assert r.status_code == 409
    assert r.json()["extra"][0]["code"] == "orders.api.request_key_used"
    assert await _commands(platform) == 1


async def test_an_interception_is_asked_once_per_request_id(client, platform: Platform, make_user) -> None:
    headers = await bearer(platform.runtime, await make_user("小陈", Role.AGENT, [platform.stores[0]]))
    shipped, _ = await requested(platform, "REFUND", shipped=True)
    unshipped, _ = await requested(platform, "REFUND")

    first = await client.post(
        f"/api/v1/aftersales/{shipped}/intercept",
        json={"request_id": "i-1", "reason": "买家拒收"},
        headers=headers,
    )
    again = await client.post(
        f"/api/v1/aftersales/{shipped}/intercept", json={"request_id": "i-1"}, headers=headers
    )
    other = await client.post(
        f"/api/v1/aftersales/{shipped}/intercept", json={"request_id": "i-2"}, headers=headers
    )
    assert first.status_code == again.status_code == other.status_code == 202
    assert first.json()["created"] is True
    assert again.json()["command_id"] == other.json()["command_id"] == first.json()["command_id"]
    r = await client.post(f"/api/v1/aftersales/{unshipped}/intercept", json={}, headers=headers)
    assert r.status_code == 409
    assert r.json()["extra"][0]["code"] == "aftersales.error.not_shipped"
    await runner(platform).drain()
    done = await client.get(f"/api/v1/commands/{first.json()['command_id']}", headers=headers)
    assert done.json()["state"] == "succeeded"
    assert platform.sim.api.calls_by_path[ACCEPT] == 0  # the refund waits for the courier's answer


async def test_the_courier_integration_confirms_an_interception_and_the_refund_goes_once(
    client, platform: Platform, make_user
) -> None:
    headers = await bearer(platform.runtime, await make_user("小陈", Role.AGENT, [platform.stores[0]]))
    stopped, _ = await requested(platform, "REFUND", shipped=True)
    delivered, _ = await requested(platform, "REFUND", shipped=True)
    base = "/api/v1/aftersales"
    r = await client.post(f"{base}/{stopped}/interception/confirm", headers=headers)
    assert r.status_code == 409  # nothing asked of the courier yet
    assert r.json()["extra"][0]["code"] == "aftersales.interception.no_interception"
    for after_sale_order_id in (stopped, delivered):
        assert (
            await client.post(f"{base}/{after_sale_order_id}/intercept", json={}, headers=headers)
        ).status_code == 202

    first = await client.post(f"{base}/{stopped}/interception/confirm", headers=headers)
    again = await client.post(f"{base}/{stopped}/interception/confirm", headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json()["command_id"] == first.json()["command_id"]
    assert (await client.post(f"{base}/{delivered}/interception/fail", headers=headers)).status_code == 204
    assert (await client.post(f"{base}/{delivered}/interception/fail", headers=headers)).status_code == 409
    await runner(platform).drain()
    assert platform.sim.api.calls_by_path[ACCEPT] == 1
    assert platform.sim.aftersale(platform.appids[0], stopped).status != "MERCHANT_PROCESSING"
    assert platform.sim.aftersale(platform.appids[0], delivered).status == "MERCHANT_PROCESSING"
