"""An admin imports a store's quick replies from a CSV file with a bad row, in a real browser."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.async_api import Page, expect

from desk.accounts.models import Role
from desk.inbox.models import QuickReply
from tests.e2e.test_journeys import log_in

pytestmark = pytest.mark.e2e

CSV = (
    "title,text\r\n"
    "发货时间,亲，付款后 48 小时内发货。\r\n"
    "物流查询,您的订单 {订单编号} 已发出\r\n"  # row 3: not a variable
    '退换货说明,"7 天无理由退换货，\r\n寄回时请附上订单号 {订单号}"\r\n'
).encode("gbk")


async def test_an_admin_imports_a_csv_sees_the_bad_row_by_number_and_applies_the_valid_rows(
    page: Page, runtime, make_user, make_store
) -> None:
    await make_store("潮流女装旗舰店")
    store = await make_store("山野户外专营店")
    await make_user("root", Role.ADMIN)
    await log_in(page, "root")
    await expect(page).to_have_url(re.compile(r"/settings$"))
    await page.get_by_role("link", name=re.compile("话术库")).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("店铺话术")
    await page.get_by_role("navigation", name="选择店铺").get_by_role("link", name="山野户外专营店").click()
    await expect(page.get_by_role("link", name="山野户外专营店")).to_have_attribute("aria-current", "page")
    await page.get_by_role("link", name="导入 CSV").click()

    await page.get_by_label("CSV 文件").set_input_files(
        files=[{"name": "话术库.csv", "mimeType": "text/csv", "buffer": CSV}]
    )
    await page.get_by_role("button", name="检查并导入").click()
    await expect(page.get_by_role("alert")).to_have_text("1 行有问题，还没有导入任何内容。")
    bad_row = page.get_by_role("row", name=re.compile("第 3 行"))
    await expect(bad_row).to_contain_text("物流查询")
    await expect(bad_row).to_contain_text("未知变量 {订单编号}")
    async with runtime.db.session() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(QuickReply)) == 0

    await page.get_by_role("button", name="只导入这 2 行").click()
    await expect(page).to_have_url(re.compile(rf"/settings/quick-replies\?store={store.id}&notice=imported"))
    await expect(page.get_by_role("status")).to_have_text("导入完成：新增 2 条，更新 0 条，0 条没有变化。")
    rows = page.get_by_role("table").get_by_role("row")
    await expect(rows).to_have_count(3)  # the header and the two replies
    await expect(page.get_by_role("row", name=re.compile("退换货说明"))).to_contain_text(
        "寄回时请附上订单号 {订单号}"
    )
    async with runtime.db.session() as session:
        stored = dict((await session.execute(sa.select(QuickReply.title, QuickReply.store_id))).all())
    assert stored == {"发货时间": store.id, "退换货说明": store.id}
