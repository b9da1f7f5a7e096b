"""After-sales that do not start from a chat: the list, the order page, a refund approved there.

The desk runs with its embedded worker against the simulator over real HTTP; the buyers use the
simulator's buyer page (as ``desk demo`` does), so the after-sales arrive as the platform pushes them.
"""

from __future__ import annotations

import asyncio
import re
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import sqlalchemy as sa
from playwright.async_api import Page, expect

from desk.accounts.models import Role
from desk.aftersales.models import AfterSale
from desk.runtime import Runtime
from tests.conftest import TEST_PASSWORD
from tests.e2e.conftest import SimDesk

pytestmark = pytest.mark.e2e


async def buyer_asks_for(sim_desk: SimDesk, store_index: int, kind: str) -> tuple[str, str]:
    """A new buyer of the store orders, pays and asks for an after-sale; (order id, after-sale id)."""
    sim = sim_desk.simulator
    appid = sim.stores[store_index].appid
    async with httpx.AsyncClient(base_url=sim_desk.sim_url) as http:
        r = await http.post("/sim/buyer/new", data={"appid": appid})
        openid = parse_qs(urlparse(r.headers["location"]).query)["openid"][0]
        sku_id = next(iter(sim.store_state(appid).skus))
        await http.post("/sim/buyer/order", data={"appid": appid, "openid": openid, "sku_id": sku_id})
        [order] = [o for o in list(sim.store_state(appid).orders.values()) if o.openid == openid]
        await http.post(
            "/sim/buyer/aftersale",
            data={
                "appid": appid,
                "openid": openid,
                "order_id": order.order_id,
                "type": kind,
                "reason": "NO_LONGER_WANT",
            },
        )
    [aftersale] = [
        a for a in list(sim.store_state(appid).aftersales.values()) if a.order_id == order.order_id
    ]
    return order.order_id, aftersale.after_sale_order_id


async def arrived(runtime: Runtime, *after_sale_order_ids: str) -> None:
    """Wait until the desk has stored the after-sales the simulator pushed."""
    for _ in range(200):
        async with runtime.db.engine.connect() as conn:
            count = (
                await conn.execute(
                    sa.select(sa.func.count())
                    .select_from(AfterSale)
                    .where(AfterSale.after_sale_order_id.in_(after_sale_order_ids))
                )
            ).scalar_one()
        if count == len(after_sale_order_ids):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the desk never received the after-sales")


async def test_a_manager_filters_the_list_opens_a_request_and_approves_the_refund(
    page: Page, sim_desk: SimDesk, runtime: Runtime, make_user
) -> None:
    first, second = sim_desk.stores
    await make_user("boss", Role.MANAGER, [first, second])
    order_id, refund = await buyer_asks_for(sim_desk, 0, "REFUND")
    _, other = await buyer_asks_for(sim_desk, 1, "REFUND")
    await arrived(runtime, refund, other)

    page.set_default_timeout(10_000)
    await page.goto(f"{sim_desk.url}/login")
    await page.get_by_label("用户名").fill("boss")
    await page.get_by_label("密码").fill(TEST_PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.get_by_role("navigation", name="主导航").get_by_role("link", name="售后").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("售后")
    rows = page.locator("table.aftersale-list tbody tr")
    await expect(rows).to_have_count(2)

    await page.get_by_label("店铺").select_option(label=first.name)
    await page.get_by_label("状态").select_option(label="待商家处理")
    await page.get_by_role("button", name="筛选").click()
    await expect(page).to_have_url(re.compile(rf"store={first.id}&status=MERCHANT_PROCESSING&due=$"))
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("待商家处理")
    await expect(rows.first).to_contain_text("剩余")

    await rows.first.get_by_role("link", name=order_id).click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text(order_id)
    card = page.locator(f"#aftersale-{refund}")
    await expect(card).to_contain_text("待商家处理")
    await card.get_by_role("button", name="同意退款").click()
    await expect(page.get_by_role("status").first).to_contain_text("已提交")
    # The embedded worker calls the platform; the section follows the command without a reload.
    await expect(card.locator(".status")).not_to_have_text("待商家处理")
    await expect(card).to_have_attribute("data-status", re.compile("REFUND"))
    await expect(card.get_by_role("button", name="同意退款")).to_have_count(0)
    assert sim_desk.simulator.api.calls_by_path["aftersale/acceptapply"] == 1
    assert (
        sim_desk.simulator.aftersale(sim_desk.simulator.stores[0].appid, refund).status
        != "MERCHANT_PROCESSING"
    )
