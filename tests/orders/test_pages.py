"""The order page: what it shows to whom, and its buttons (CSRF-checked, counted at the simulator)."""

from __future__ import annotations

import re

import sqlalchemy as sa

from desk.accounts.models import Role
from desk.audit.models import AuditEntry, Outcome
from desk.commands.models import OutboundCommand
from tests.aftersales.test_actions import ACCEPT, requested, runner
from tests.conftest import login
from tests.ingest.conftest import Platform


async def _form_post(client, url: str, data: dict[str, str] | None = None):
    return await client.post(url, data={"_csrf_token": client.cookies.get("desk_csrf", ""), **(data or {})})


async def test_the_order_page_shows_the_order_masked_to_its_stores_only(
    client, app, platform: Platform, make_user
) -> None:
    sim, appid = platform.sim, platform.appids[0]
    after_sale_order_id, aftersale = await requested(platform, "REFUND", shipped=True)
    order = sim.order(appid, aftersale.order_id)
    agent = await make_user("xiaochen", Role.AGENT, [platform.stores[0]])
    await login(client, app, agent)

    r = await client.get(f"/orders/{order.order_id}")
    assert r.status_code == 200
    page = r.text
    assert order.order_id in page
    assert after_sale_order_id in page
    assert "待商家处理" in page
    assert "同意退款" in page
    assert "拦截快递" in page  # refund-only on a shipped order: the parcel can be stopped first
    assert order.address.tel_number not in page  # the receiver's phone never shows in full
    assert order.deliveries[-1].waybill_id in page

    outsider = await make_user("xiaoliu", Role.AGENT, [platform.stores[1]])
    client.cookies.clear()
    await login(client, app, outsider)
    assert (await client.get(f"/orders/{order.order_id}")).status_code == 404


async def test_approving_from_the_order_page_is_one_refund(
    client, app, platform: Platform, make_user
) -> None:
    after_sale_order_id, aftersale = await requested(platform, "REFUND")
    agent = await make_user("xiaochen", Role.AGENT, [platform.stores[0]])
    await login(client, app, agent)
    url = f"/orders/{aftersale.order_id}/aftersales/{after_sale_order_id}/approve"
    await client.get(f"/orders/{aftersale.order_id}")  # the CSRF cookie

    assert (await client.post(url, data={})).status_code == 403  # no CSRF token
    first = await _form_post(client, url)
    again = await _form_post(client, url)  # a double click
    assert first.status_code == again.status_code == 302
    assert "notice=queued" in first.headers["location"]
    assert "notice=repeated" in again.headers["location"]
    page = (await client.get(first.headers["location"])).text
    assert "正在提交给平台" in page
    assert 'hx-trigger="every 1s"' in page  # the section follows the command

    await runner(platform).drain()
    assert platform.sim.api.calls_by_path[ACCEPT] == 1
    page = (await client.get(f"/orders/{aftersale.order_id}")).text
    assert "待商家处理" not in page
    assert 'hx-trigger="every 1s"' not in page

    late = await _form_post(client, url)
    assert late.status_code == 422
    assert "已由 xiaochen 处理" in late.text
    async with platform.runtime.db.engine.connect() as conn:
        commands = (await conn.execute(sa.select(sa.func.count()).select_from(OutboundCommand))).scalar_one()
        audit = (await conn.execute(sa.select(AuditEntry.outcome).order_by(AuditEntry.id))).scalars().all()
    assert commands == 1
    assert audit == [Outcome.SUCCEEDED, Outcome.REFUSED]


async def test_a_reject_without_a_reason_is_explained_beside_its_after_sale(
    client, app, platform: Platform, make_user
) -> None:
    after_sale_order_id, aftersale = await requested(platform, "REFUND")
    await login(client, app, await make_user("xiaochen", Role.AGENT, [platform.stores[0]]))
    await client.get(f"/orders/{aftersale.order_id}")
    r = await _form_post(
        client,
        f"/orders/{aftersale.order_id}/aftersales/{after_sale_order_id}/reject",
        {"reject_reason_type": "x"},
    )
    assert r.status_code == 422
    assert "拒绝售后必须选择平台提供的拒绝原因" in r.text
    r = await _form_post(client, f"/orders/{aftersale.order_id}/aftersales/{after_sale_order_id}/explode")
    assert r.status_code == 404
    async with platform.runtime.db.engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(OutboundCommand))).scalar_one() == 0


async def test_the_merchant_note_and_an_address_change_are_answered_from_the_page(
    client, app, platform: Platform, make_user
) -> None:
    sim, appid = platform.sim, platform.appids[0]
    order = sim.create_order(appid, sim.new_buyer(appid))
    sim.request_address_change(appid, order.order_id)
    await platform.settle()
    await login(client, app, await make_user("xiaochen", Role.AGENT, [platform.stores[0]]))
    page = (await client.get(f"/orders/{order.order_id}")).text
    assert "买家申请修改地址" in page

    too_long = await _form_post(client, f"/orders/{order.order_id}/merchant-note", {"note": "长" * 201})
    assert too_long.status_code == 422
    assert "长" * 201 in too_long.text  # what was typed is kept
    assert (
        await _form_post(client, f"/orders/{order.order_id}/merchant-note", {"note": "顺丰发"})
    ).status_code == 302
    assert (await _form_post(client, f"/orders/{order.order_id}/address-change/accept")).status_code == 302
    await runner(platform).drain()
    assert sim.api.calls_by_path["order/addressmodify/accept"] == 1
    assert sim.order(appid, order.order_id).merchant_notes == "顺丰发"
    page = (await client.get(f"/orders/{order.order_id}")).text
    assert "买家申请修改地址" not in page
    assert "顺丰发" in page


async def test_a_shipped_parcel_is_intercepted_then_refunded_from_the_page(
    client, app, platform: Platform, make_user
) -> None:
    after_sale_order_id, aftersale = await requested(platform, "REFUND", shipped=True)
    await login(client, app, await make_user("xiaochen", Role.AGENT, [platform.stores[0]]))
    order_url = f"/orders/{aftersale.order_id}"
    await client.get(order_url)
    r = await _form_post(client, f"{order_url}/aftersales/{after_sale_order_id}/intercept")
    assert "notice=intercepting" in r.headers["location"]
    await runner(platform).drain()  # the courier hook (here: recorded only)
    page = (await client.get(order_url)).text
    assert "拦截中" in page
    assert "拦截快递" not in page  # asked once
    assert platform.sim.api.calls_by_path[ACCEPT] == 0
    confirm = re.search(r'action="(/orders/\d+/interceptions/\d+/confirm)"', page)
    assert confirm is not None
    assert (await _form_post(client, confirm.group(1))).status_code == 302
    await runner(platform).drain()
    assert platform.sim.api.calls_by_path[ACCEPT] == 1
    page = (await client.get(order_url)).text
    assert "拦截中" not in page
    over = await _form_post(client, confirm.group(1))
    assert over.status_code == 422
    assert "这次拦截已经结束" in over.text


async def test_a_request_that_changed_before_the_worker_acted_is_explained_on_the_page(
    client, app, platform: Platform, make_user
) -> None:
    after_sale_order_id, aftersale = await requested(platform, "REFUND")
    await login(client, app, await make_user("xiaochen", Role.AGENT, [platform.stores[0]]))
    await client.get(f"/orders/{aftersale.order_id}")
    await _form_post(client, f"/orders/{aftersale.order_id}/aftersales/{after_sale_order_id}/approve")
    platform.sim.buyer_cancels_aftersale(platform.appids[0], after_sale_order_id)  # meanwhile
    await runner(platform).drain()
    await platform.settle()
    page = (await client.get(f"/orders/{aftersale.order_id}")).text
    assert "上次操作失败" in page
    assert "售后单在平台上已被更改" in page
    assert "买家已取消" in page
    assert platform.sim.api.calls_by_path[ACCEPT] == 0
