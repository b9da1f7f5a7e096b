"""A manager's journey: a rejected buyer disputes on the platform; the dispute and the trail of
what was done are one click away in the navigation, and the trail exports as CSV."""

from __future__ import annotations

import csv
import io
import os
import re

import pytest
import sqlalchemy as sa
from playwright.async_api import Page, expect

from desk.accounts.models import Role
from desk.aftersales.actions import Decision, decide
from desk.aftersales.models import AfterSale, Complaint
from desk.aftersales.status import AfterSaleAction
from desk.audit.service import Actor
from desk.errors import Invalid
from desk.runtime import Runtime
from tests.conftest import TEST_PASSWORD
from tests.e2e.conftest import SimDesk
from tests.e2e.test_warehouse import eventually

pytestmark = pytest.mark.e2e

SHOTS = os.environ.get("E2E_SCREENSHOTS", "")


async def stored_status(runtime: Runtime, after_sale_order_id: str) -> str | None:
    async with runtime.db.engine.connect() as conn:
        return (
            await conn.execute(
                sa.select(AfterSale.status).where(AfterSale.after_sale_order_id == after_sale_order_id)
            )
        ).scalar_one_or_none()


async def complaints_stored(runtime: Runtime) -> int:
    async with runtime.db.engine.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(Complaint))).scalar_one())


async def test_a_manager_finds_the_dispute_and_the_rejection_behind_it(
    page: Page, sim_desk: SimDesk, runtime: Runtime, make_user
) -> None:
    sim, store = sim_desk.simulator, sim_desk.stores[0]
    appid = sim.stores[0].appid
    manager = await make_user("dianzhang", Role.MANAGER, [store])
    order = await sim_desk.on_platform(lambda: sim.create_order(appid, sim.new_buyer(appid)))
    aftersale = await sim_desk.on_platform(lambda: sim.open_aftersale(appid, order.order_id, "REFUND"))
    after_sale_order_id = aftersale.after_sale_order_id

    async def desk_has(status: str) -> bool:
        return await stored_status(runtime, after_sale_order_id) == status

    await eventually(lambda: desk_has("MERCHANT_PROCESSING"), "the desk to hear of the request")
    async with runtime.db.session() as session:
        result = await decide(
            session,
            runtime.wakeup,
            actor=Actor.user(manager.id, "店长 李强"),
            after_sale_order_id=after_sale_order_id,
            decision=Decision(
                action=AfterSaleAction.REJECT, reject_reason_type=1, why="已发货，不支持仅退款"
            ),
        )
    assert not isinstance(result, Invalid)
    await eventually(lambda: desk_has("MERCHANT_REJECT_REFUND"), "the rejection to go through")
    complaint_id = await sim_desk.on_platform(lambda: sim.buyer_complains(appid, after_sale_order_id))

    async def one_complaint() -> bool:
        return await complaints_stored(runtime) == 1

    await eventually(one_complaint, "the dispute to reach the desk")

    await page.goto(f"{sim_desk.url}/login")
    await page.get_by_label("用户名").fill("dianzhang")
    await page.get_by_label("密码").fill(TEST_PASSWORD)
    await page.get_by_role("button", name="登录").click()
    nav = page.get_by_role("navigation", name="主导航")
    await nav.get_by_role("link", name="纠纷").click()
    await expect(page).to_have_url(re.compile(r"/complaints$"))
    row = page.locator(f'[data-complaint-id="{complaint_id}"]')
    await expect(row).to_contain_text("待商家处理")
    await expect(row).to_contain_text("剩余")
    await expect(row).to_contain_text(store.name)
    await expect(row).to_contain_text(after_sale_order_id)
    if SHOTS:
        await page.screenshot(path=os.path.join(SHOTS, "complaints.png"), full_page=True)

    await nav.get_by_role("link", name="操作记录").click()
    await expect(page).to_have_url(re.compile(r"/audit$"))
    entry = page.locator(".audit-row").first
    await expect(entry).to_contain_text("拒绝售后")
    await expect(entry).to_contain_text("店长 李强")
    await expect(entry).to_contain_text("已发货，不支持仅退款")
    await expect(entry.locator(".status")).to_have_text("成功")
    await page.get_by_label("结果").select_option("failed")
    await page.get_by_role("button", name="筛选").click()
    await expect(page).to_have_url(re.compile(r"outcome=failed"))
    await expect(page.get_by_text("没有符合条件的记录。")).to_be_visible()
    await page.get_by_label("结果").select_option("succeeded")
    await page.get_by_role("button", name="筛选").click()
    await expect(page.locator(".audit-row")).to_have_count(1)
    if SHOTS:
        await page.screenshot(path=os.path.join(SHOTS, "audit.png"), full_page=True)

    async with page.expect_download() as waiting:
        await page.get_by_role("link", name="导出 CSV").click()
    download = await waiting.value
    path = await download.path()
    assert path is not None
    with open(path, encoding="utf-8-sig") as fh:  # noqa: ASYNC230 - a small local file
        rows = list(csv.reader(io.StringIO(fh.read())))
    assert rows[0][:3] == ["id", "time", "store"]
    assert [(r[2], r[4], r[5], r[7]) for r in rows[1:]] == [
        (store.name, "店长 李强", "aftersale.reject", "succeeded")
    ]
