"""An admin enables the shipped refund rule and edits its amount limit in the TOML editor, in a
real browser: a typo first (the inline error names its path and line), then the fix; the
versions list and the diff show each change."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from desk.accounts.models import Role
from desk.rules.editing import get_rule, list_versions
from tests.e2e.test_journeys import log_in
from tests.rules.test_pages import REFUND, shipped  # noqa: F401  (fixture)

pytestmark = pytest.mark.e2e


async def test_an_admin_enables_the_refund_rule_and_edits_its_limit_after_a_typo(
    page: Page,
    runtime,
    shipped,  # noqa: F811
    make_user,
) -> None:
    await make_user("root", Role.ADMIN)
    await log_in(page, "root")
    await expect(page).to_have_url(re.compile(r"/settings$"))
    await page.get_by_role("link", name=re.compile("自动化规则")).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("自动化规则")
    row = page.locator(f'tr[data-rule-id="{REFUND}"]')
    await expect(row).to_have_attribute("data-enabled", "false")
    await row.get_by_role("button", name="开启").click()
    await expect(page.get_by_role("status")).to_have_text("规则已开启（新版本）。")
    await expect(row).to_have_attribute("data-enabled", "true")
    await expect(row).to_contain_text("v2")

    await row.get_by_role("link").first.click()
    editor = page.get_by_label("规则内容")
    text = await editor.input_value()
    assert "{ max = 50000 }" in text
    await editor.fill(text.replace("{ max = 50000 }", "{ mx = 30000 }"))
    await page.get_by_role("button", name="保存").click()
    errors = page.locator("#rule-errors")
    await expect(errors).to_contain_text("第 13 行")
    await expect(errors).to_contain_text("rules[0].conditions.all[3].refund_amount_fen.mx")
    await expect(errors).to_contain_text("未保存任何内容。")
    await expect(page.get_by_label("规则内容")).to_have_value(re.compile(r"mx = 30000"))
    await page.screenshot(path="/tmp/h9u-rule-error.png", full_page=True)

    await page.get_by_label("规则内容").fill(text.replace("{ max = 50000 }", "{ max = 30000 }"))
    await page.get_by_role("button", name="保存").click()
    await expect(page.get_by_role("status")).to_have_text("已保存为新版本。")
    versions = page.locator("tr.version-row")
    await expect(versions).to_have_count(3)
    await expect(versions.first).to_contain_text("v3")
    await expect(page.locator("pre.diff .diff-del")).to_contain_text("max = 50000")
    await expect(page.locator("pre.diff .diff-add")).to_contain_text("max = 30000")
    await page.screenshot(path="/tmp/h9u-rule-saved.png", full_page=True)
    async with runtime.db.session() as session:
        record = await get_rule(session, rule_id=REFUND)
        assert record is not None
        assert record.rule.enabled
        assert [v.version for v in await list_versions(session, record.pk)] == [3, 2, 1]
