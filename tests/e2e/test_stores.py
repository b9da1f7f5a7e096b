"""Admins looking after their stores' connections, in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from desk.accounts.models import Role
from desk.secret_box import SecretBox
from tests.conftest import TEST_AES_KEY, on_platform
from tests.e2e.test_journeys import log_in

pytestmark = pytest.mark.e2e

APPSECRET = "e2e-appsecret-0123456789abcdef"
PUSH_TOKEN = "E2ePushToken42"


async def fill_secrets(page: Page, appsecret: str = APPSECRET) -> None:
    await page.get_by_label("AppSecret").fill(appsecret)
    await page.get_by_label("Token（令牌）").fill(PUSH_TOKEN)
    await page.get_by_label("EncodingAESKey").fill(TEST_AES_KEY)


async def test_a_store_with_unreadable_secrets_is_listed_with_its_badge_and_fixed_from_the_form(
    page: Page, make_user, make_store, wechat
) -> None:
    foreign = await make_store("外来店铺", box=SecretBox("the key of another desk"))
    await make_store("本店")
    on_platform(wechat, appid=foreign.appid, secret=APPSECRET)
    await make_user("root", Role.ADMIN)
    await log_in(page, "root")
    await page.goto("/settings/stores")
    row = page.get_by_role("row", name=re.compile("外来店铺"))
    await expect(row.locator(".status-error")).to_have_text("密钥无法解密")
    await expect(page.get_by_role("row", name=re.compile("本店")).locator(".status-error")).to_have_count(0)

    await row.get_by_role("link", name="重新填写密钥").click()
    await expect(page).to_have_url(re.compile(rf"/settings/stores/{foreign.id}$"))
    await expect(page.get_by_role("alert")).to_contain_text("无法解密这里保存的")
    await page.get_by_role("button", name="保存").click()  # secrets are required again
    await expect(page.locator("#f-appsecret-error")).to_have_text("必填。")
    await fill_secrets(page)
    await page.get_by_role("button", name="保存").click()
    await expect(page).to_have_url(re.compile(rf"/settings/stores/{foreign.id}\?notice=saved$"))
    await expect(page.get_by_role("status")).to_have_text("已保存。")

    await page.goto("/settings/stores")
    row = page.get_by_role("row", name=re.compile("外来店铺"))
    await expect(row.locator(".status-error")).to_have_count(0)
    await expect(row).to_contain_text("••••••••" + APPSECRET[-4:])


async def test_a_store_the_platform_refuses_is_explained_and_saved_only_when_the_admin_says_so(
    page: Page, make_user, wechat
) -> None:
    on_platform(wechat, appid="wx00e2e00000000001", secret=APPSECRET)
    await make_user("root", Role.ADMIN)
    await log_in(page, "root")
    await page.goto("/settings/stores/new")
    await page.get_by_label("店铺名称").fill("旗舰店")
    await page.get_by_label("AppID").fill("wx00e2e00000000001")
    await fill_secrets(page, appsecret="a-mistyped-secret")
    await page.get_by_role("button", name="接入店铺").click()

    warning = page.locator(".alert-warn")
    await expect(warning).to_contain_text("连接测试未通过")
    await expect(warning).to_contain_text("平台拒绝了这个 Secret（错误码 40125）")
    await expect(page.get_by_label("店铺名称")).to_have_value("旗舰店")  # what was typed is kept
    await expect(page.get_by_label("AppSecret")).to_have_value("")  # secrets are not

    await fill_secrets(page, appsecret="a-mistyped-secret")
    await page.get_by_label("连接测试未通过也仍然保存").check()
    await page.get_by_role("button", name="接入店铺").click()
    await expect(page).to_have_url(re.compile(r"/settings/stores\?notice=created$"))
    row = page.get_by_role("row", name=re.compile("旗舰店"))
    await expect(row.locator(".status-error")).to_have_text("调用失败")
    await expect(row).to_contain_text("平台拒绝了这个 Secret")

    await row.get_by_role("link", name="编辑").click()
    await expect(page.locator(".connection-state")).to_contain_text("调用失败")
    await page.get_by_label("AppSecret").fill(APPSECRET)
    await page.get_by_role("button", name="保存").click()
    await expect(page.get_by_role("status")).to_have_text("已保存。")
    await expect(page.locator(".connection-state")).to_contain_text("未发现问题")


async def test_deactivating_a_store_asks_first(page: Page, make_user, make_store) -> None:
    await make_store("旗舰店")
    await make_user("root", Role.ADMIN)
    await log_in(page, "root")
    await page.goto("/settings/stores")
    await page.get_by_role("row", name=re.compile("旗舰店")).get_by_role("link", name="停用").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("停用店铺“旗舰店”？")
    await page.get_by_role("link", name="取消").click()
    await expect(page).to_have_url(re.compile(r"/settings/stores$"))
    await expect(page.get_by_role("row", name=re.compile("旗舰店"))).to_contain_text("启用")

    await page.get_by_role("row", name=re.compile("旗舰店")).get_by_role("link", name="停用").click()
    await page.get_by_role("button", name="停用").click()
    await expect(page.get_by_role("status")).to_have_text("已停用。")
    await expect(page.get_by_role("row", name=re.compile("旗舰店")).locator(".status-off")).to_have_text(
        "已停用"
    )
