"""一货一址 in a real browser: an admin syncs the store's addresses from the simulated platform,
binds one to a SKU by CSV upload (seeing a bad line first), and applies the valid rows."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import sqlalchemy as sa
from playwright.async_api import Page, expect

from desk.accounts.models import Role
from desk.aftersales.addresses import return_address_for
from desk.aftersales.models import ReturnAddressBinding
from desk.orders.models import Order, OrderLine
from desk.runtime import Runtime
from tests.conftest import TEST_PASSWORD
from tests.e2e.conftest import SimDesk

pytestmark = pytest.mark.e2e


async def a_buyer_orders(sim_url: str, appid: str, sku_id: str) -> None:
    """A buyer of the store orders ``sku_id`` on the simulator (which pushes it to the desk)."""
    async with httpx.AsyncClient(base_url=sim_url) as sim:
        made = await sim.post("/sim/buyer/new", data={"appid": appid})
        openid = parse_qs(urlparse(made.headers["location"]).query)["openid"][0]
        placed = await sim.post(
            "/sim/buyer/order",
            data={"appid": appid, "openid": openid, "sku_id": sku_id, "count": "1"},
            headers={"x-sim-fetch": "1"},
        )
        assert placed.status_code == 204, placed.text


async def admin_logs_in(page: Page, desk_url: str, username: str) -> None:
    """Log in to the desk at ``desk_url`` (not the page's default server) as an admin."""
    await page.goto(f"{desk_url}/login")
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(TEST_PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await expect(page).to_have_url(f"{desk_url}/settings")


async def desk_has_sold(runtime: Runtime, store_id: int, sku_id: str) -> None:
    for _ in range(200):
        async with runtime.db.engine.connect() as conn:
            found = await conn.scalar(
                sa.select(sa.func.count())
                .select_from(OrderLine)
                .join(Order, Order.id == OrderLine.order_pk)
                .where(Order.store_id == store_id, OrderLine.sku_id == sku_id)
            )
        if found:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the desk never received the order of {sku_id}")


async def test_an_admin_syncs_addresses_and_binds_one_to_a_sku_by_csv(
    page: Page, sim_desk: SimDesk, runtime: Runtime, make_user
) -> None:
    store = sim_desk.stores[0]
    sim_store = sim_desk.simulator.world.stores[store.appid]
    sku_id = next(iter(sim_store.skus))
    await a_buyer_orders(sim_desk.sim_url, store.appid, sku_id)
    await desk_has_sold(runtime, store.id, sku_id)
    await make_user("root", Role.ADMIN)

    page.set_default_timeout(15_000)
    await admin_logs_in(page, sim_desk.url, "root")
    await page.get_by_role("link", name=re.compile("退货地址")).click()
    await page.get_by_role("navigation", name="店铺", exact=True).get_by_role("link", name=store.name).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"退货地址 · {store.name}")
    await expect(page.get_by_text("还没有同步过地址")).to_be_visible()

    # Sync: the worker reads the addresses; the page follows its progress and reloads when done.
    await page.get_by_role("button", name="从平台同步地址").click()
    done = page.locator('#address-command[data-state="done"]')
    await expect(done).to_contain_text(f"同步完成：平台上共有 {len(sim_store.addresses)} 个地址。")
    addresses = page.get_by_role("table").first
    for address in sim_store.addresses.values():
        await expect(addresses).to_contain_text(address.address_info.detail_info)
    [second] = [a for a in sim_store.addresses.values() if not a.default_recv][:1]
    await page.screenshot(path="/tmp/h8a-addresses-synced.png", full_page=True)

    # A CSV with a SKU the store never sold: that line is reported, nothing is applied yet.
    await page.get_by_role("link", name="导入 CSV").click()
    csv = f"sku_id,address_id\r\n{sku_id},{second.address_id}\r\n404404,{second.address_id}\r\n".encode("gbk")
    await page.get_by_label("CSV 文件").set_input_files(
        files=[{"name": "一货一址.csv", "mimeType": "text/csv", "buffer": csv}]
    )
    await page.get_by_role("button", name="检查并导入").click()
    await expect(page.get_by_role("alert")).to_have_text("1 行有问题，还没有导入任何内容。")
    bad = page.get_by_role("row", name=re.compile("第 3 行"))
    await expect(bad).to_contain_text("未知的 SKU 404404")
    await page.screenshot(path="/tmp/h8a-addresses-import.png", full_page=True)
    async with runtime.db.engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(ReturnAddressBinding)) == 0

    await page.get_by_role("button", name="只导入这 1 行").click()
    await expect(page.get_by_role("status").filter(has_text="已导入")).to_have_text("已导入 1 条绑定。")
    row = page.locator(f'tr[data-scope="sku"][data-ref="{sku_id}"]')
    await expect(row).to_contain_text(second.address_id)

    # Which address a return of that SKU will use, and why.
    await page.get_by_label("SKU ID", exact=True).fill(sku_id)
    await page.get_by_role("button", name="查询").click()
    answer = page.locator("#which-answer")
    await expect(answer).to_contain_text(f"地址 ID {second.address_id}")
    await expect(answer).to_contain_text("因为这个 SKU 绑定了它")
    await page.screenshot(path="/tmp/h8a-addresses-bound.png", full_page=True)
    async with runtime.db.session() as session:
        chosen = await return_address_for(session, store.id, sku_id=sku_id, product_id="")
    assert chosen is not None
    assert (chosen.address_id, chosen.source) == (second.address_id, "sku")


async def test_an_admin_adds_a_return_address_once_despite_a_double_click(
    page: Page, sim_desk: SimDesk, make_user
) -> None:
    store = sim_desk.stores[0]
    sim_store = sim_desk.simulator.world.stores[store.appid]
    before = len(sim_store.addresses)
    await make_user("root", Role.ADMIN)
    page.set_default_timeout(15_000)
    await admin_logs_in(page, sim_desk.url, "root")
    await page.goto(f"{sim_desk.url}/settings/addresses?store={store.id}")
    await page.get_by_role("link", name="新增地址").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"新增退货地址 · {store.name}")
    for label, value in (
        ("地址名称", "杭州退货仓"),
        ("联系人", "王仓管"),
        ("省份", "浙江省"),
        ("城市", "杭州市"),
        ("区县", "余杭区"),
        ("详细地址", "文一西路 998 号 3 号库"),
    ):
        await page.get_by_label(label).fill(value)
    await page.get_by_role("button", name="添加到平台").click()
    await expect(page.locator("#f-phone-error")).to_have_text("请填写联系电话。")
    await expect(page.get_by_label("详细地址")).to_have_value(
        "文一西路 998 号 3 号库"
    )  # nothing typed is lost
    await page.get_by_label("联系电话").fill("0571-88886666")
    await page.get_by_label("设为默认退货地址").check()
    await page.get_by_role("button", name="添加到平台").dblclick()
    done = page.locator('#address-command[data-state="done"]')
    await expect(done).to_contain_text("地址已添加到平台")
    await expect(page.get_by_role("table").first).to_contain_text("文一西路 998 号 3 号库")
    row = page.get_by_role("row", name=re.compile("杭州退货仓"))
    await expect(row).to_contain_text("默认退货地址")
    await page.screenshot(path="/tmp/h8a-addresses-added.png", full_page=True)
    assert sim_desk.simulator.api.calls_by_path["merchant/address/add"] == 1
    assert len(sim_store.addresses) == before + 1
