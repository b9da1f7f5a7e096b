"""The first journeys through the desk, in a real browser."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.async_api import Page, expect

from desk.accounts.models import Role
from desk.stores.models import Store
from tests.conftest import TEST_AES_KEY, TEST_PASSWORD, on_platform

pytestmark = pytest.mark.e2e

APPSECRET = "e2e-appsecret-0123456789abcdef"
PUSH_TOKEN = "E2ePushToken42"


async def log_in(page: Page, username: str, password: str = TEST_PASSWORD) -> None:
    await page.goto("/login")
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(password)
    await page.get_by_role("button", name="登录").click()


async def test_an_agent_logs_in_and_sees_the_inbox_with_the_inbox_and_after_sales_in_the_nav(
    page: Page, make_user, make_store
) -> None:
    store = await make_store("旗舰店")
    await make_user("xiaowang", Role.AGENT, [store])
    await page.goto("/inbox")
    await expect(page).to_have_url(re.compile(r"/login\?next=%2Finbox$"))
    await page.get_by_label("用户名").fill("xiaowang")
    await page.get_by_label("密码").fill("wrong password")
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_role("alert")).to_have_text("用户名或密码错误。")
    await page.get_by_label("密码").fill(TEST_PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await expect(page).to_have_url(re.compile(r"/inbox$"))
    nav = page.get_by_role("navigation", name="主导航")
    await expect(nav.get_by_role("link")).to_have_text(["工作台", "售后"])
    await expect(page.get_by_role("heading", level=1)).to_have_text("工作台")
    await expect(page.get_by_label("店铺")).to_contain_text("旗舰店")


async def test_an_admin_fixes_a_bad_aes_key_and_the_store_list_masks_secrets(
    page: Page, runtime, make_user, wechat
) -> None:
    on_platform(wechat, appid="wx1234567890abcdef", secret=APPSECRET)
    await make_user("root", Role.ADMIN)
    await log_in(page, "root")
    await expect(page).to_have_url(re.compile(r"/settings$"))
    await page.get_by_role("link", name="店铺").first.click()
    await page.get_by_role("link", name="接入店铺").first.click()

    async def fill(aes_key: str) -> None:
        await page.get_by_label("店铺名称").fill("旗舰店")
        await page.get_by_label("AppID").fill("wx1234567890abcdef")
        await page.get_by_label("AppSecret").fill(APPSECRET)
        await page.get_by_label("Token（令牌）").fill(PUSH_TOKEN)
        await page.get_by_label("EncodingAESKey").fill(aes_key)
        await page.get_by_role("button", name="接入店铺").click()

    await fill("this-is-not-a-valid-key")
    error = page.locator("#f-aes_key-error")
    await expect(error).to_contain_text("43 位")
    await expect(page.get_by_label("EncodingAESKey")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator(".field-error")).to_have_count(1)
    async with runtime.db.session() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(Store)) == 0

    await fill(TEST_AES_KEY)
    await expect(page).to_have_url(re.compile(r"/settings/stores\?notice=created$"))
    await expect(page.get_by_role("status")).to_contain_text("已接入")
    row = page.get_by_role("row", name=re.compile("旗舰店"))
    await expect(row).to_contain_text("••••••••" + APPSECRET[-4:])
    await expect(row).to_contain_text("/webhooks/channels/")
    html = await page.content()
    for secret in (APPSECRET, PUSH_TOKEN, TEST_AES_KEY):
        assert secret not in html
    async with runtime.db.session() as session:
        store = await session.scalar(sa.select(Store))
    assert runtime.secrets.decrypt(store.aes_key_enc) == TEST_AES_KEY


async def test_an_agent_opening_settings_gets_403(page: Page, make_user) -> None:
    await make_user("xiaowang", Role.AGENT)
    await log_in(page, "xiaowang")
    await expect(page).to_have_url(re.compile(r"/inbox$"))
    response = await page.goto("/settings")
    assert response is not None
    assert response.status == 403
    await expect(page.get_by_text("你的角色没有访问此页面的权限。")).to_be_visible()


async def test_switching_to_english_and_back(page: Page, make_user) -> None:
    await make_user("boss", Role.MANAGER)
    await log_in(page, "boss")
    await expect(page).to_have_url(re.compile(r"/dashboard$"))
    await page.get_by_role("link", name="English").click()
    await expect(page).to_have_url(re.compile(r"/dashboard$"))
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link")).to_have_text(
        ["Inbox", "After-sales", "Dashboard", "Disputes", "Audit trail"]
    )
    await page.get_by_role("link", name="简体中文").click()
    await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    await expect(page.get_by_role("navigation", name="主导航").get_by_role("link")).to_have_text(
        ["工作台", "售后", "数据", "纠纷", "操作记录"]
    )
