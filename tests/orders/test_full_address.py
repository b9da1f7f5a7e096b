"""What the order page reads from the platform: the full address (managers only, audited) and the
platform's reject reasons."""

from __future__ import annotations

import secrets

import msgspec
import sqlalchemy as sa

from desk.accounts.models import Role
from desk.aftersales.services import save_aftersale
from desk.audit.models import AuditEntry, Outcome
from desk.db import utcnow
from desk.orders.services import save_order
from tests.aftersales.test_services import channels_aftersale
from tests.conftest import login, on_platform
from tests.orders.test_services import channels_order

DECODE = "order/sensitiveinfo/decode"
REASONS = "aftersale/rejectreason/get"


async def _order_on_platform(runtime, wechat, make_store) -> tuple[str, object]:
    """An order that exists on the (session's) simulated platform and, masked, in the desk."""
    appid, secret = f"wxfull{secrets.token_hex(6)}", "full-address-secret"
    on_platform(wechat, appid=appid, secret=secret)
    store = await make_store(appid=appid, appsecret=secret)
    sim_order = wechat.create_order(appid)
    async with runtime.db.engine.begin() as conn:
        await save_order(conn, store.id, channels_order(sim_order.order_id), utcnow())
    return sim_order.order_id, store


async def test_a_manager_sees_the_full_address_once_and_it_is_audited(
    client, app, runtime, wechat, make_store, make_user
) -> None:
    order_id, store = await _order_on_platform(runtime, wechat, make_store)
    full = wechat.order(store.appid, order_id).address
    await login(client, app, await make_user("boss", Role.MANAGER, [store]))
    page = (await client.get(f"/orders/{order_id}")).text
    assert "查看完整地址" in page
    assert full.tel_number not in page
    calls = wechat.api.calls_by_path[DECODE]

    r = await client.post(
        f"/orders/{order_id}/full-address", data={"_csrf_token": client.cookies["desk_csrf"]}
    )
    assert r.status_code == 200
    assert full.tel_number in r.text
    assert full.detail_info in r.text
    assert wechat.api.calls_by_path[DECODE] == calls + 1
    assert full.tel_number not in (await client.get(f"/orders/{order_id}")).text  # shown once, not stored
    async with runtime.db.engine.connect() as conn:
        audit = (
            await conn.execute(sa.select(AuditEntry.action, AuditEntry.actor_name, AuditEntry.outcome))
        ).all()
    assert [(a.action, a.actor_name, a.outcome) for a in audit] == [
        ("order.address.reveal", "boss", Outcome.SUCCEEDED)
    ]


async def test_agents_never_see_the_full_address(client, app, runtime, wechat, make_store, make_user) -> None:
    order_id, store = await _order_on_platform(runtime, wechat, make_store)
    await login(client, app, await make_user("xiaochen", Role.AGENT, [store]))
    page = (await client.get(f"/orders/{order_id}")).text
    assert "查看完整地址" not in page
    calls = wechat.api.calls_by_path[DECODE]
    r = await client.post(
        f"/orders/{order_id}/full-address", data={"_csrf_token": client.cookies["desk_csrf"]}
    )
    assert r.status_code == 403
    assert wechat.api.calls_by_path[DECODE] == calls


async def test_the_reject_form_offers_the_platforms_reasons_for_the_request_type(
    client, app, runtime, wechat, make_store, make_user
) -> None:
    order_id, store = await _order_on_platform(runtime, wechat, make_store)
    async with runtime.db.engine.begin() as conn:
        aftersale = msgspec.structs.replace(channels_aftersale("5001"), order_id=order_id)  # a return
        await save_aftersale(conn, store.id, aftersale, utcnow())
    await login(client, app, await make_user("xiaochen", Role.AGENT, [store]))
    calls = wechat.api.calls_by_path[REASONS]

    page = (await client.get(f"/orders/{order_id}")).text
    assert '<select name="reject_reason_type" required>' in page
    assert "未收到退货商品" in page  # a return's reason
    assert "商品已发货" not in page  # a refund-only reason
    await client.get(f"/orders/{order_id}")
    assert wechat.api.calls_by_path[REASONS] == calls + 1  # read once, then cached
