"""A user's own account in a real browser: changing one's password signs out one's other browsers."""

from __future__ import annotations

import os
import re

import pytest
from playwright.async_api import Browser, Page, expect

from desk.accounts.models import Role
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "spring tea 2027 longjing"
# Set E2E_SCREENSHOTS to a folder to keep what the browser showed (for looking at the pages).
SHOTS = os.environ.get("E2E_SCREENSHOTS", "")


async def shot(page: Page, name: str) -> None:
    if SHOTS:
        await page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


async def log_in(page: Page, username: str, password: str = TEST_PASSWORD) -> None:
    await page.goto("/login")
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(password)
    await page.get_by_role("button", name="登录").click()


async def test_changing_ones_password_signs_out_the_other_browser(
    page: Page, browser: Browser, live_server: str, make_user
) -> None:
    await make_user("xiaowang", Role.AGENT)
    phone = await browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 800})
    other = await phone.new_page()
    try:
        await log_in(other, "xiaowang")
        await expect(other).to_have_url(re.compile(r"/inbox$"))
        await log_in(page, "xiaowang")
        await expect(page).to_have_url(re.compile(r"/inbox$"))

        await page.get_by_role("link", name="修改密码").click()
        await expect(page).to_have_url(re.compile(r"/account/password$"))
        await expect(page.get_by_role("heading", level=1)).to_have_text("修改密码")
        await shot(page, "password-form")

        # A wrong current password: said next to the field, nothing changes, nothing is echoed.
        await page.get_by_label("当前密码").fill("not my password")
        await page.get_by_label(re.compile("^新密码")).fill(NEW_PASSWORD)
        await page.get_by_label("再次输入新密码").fill(NEW_PASSWORD)
        await page.get_by_role("button", name="修改密码").click()
        await expect(page.locator("#f-current_password-error")).to_have_text("当前密码不正确。")
        await expect(page.get_by_label("当前密码")).to_have_attribute("aria-invalid", "true")
        await expect(page.get_by_label(re.compile("^新密码"))).to_have_value("")
        await shot(page, "password-wrong-current")

        await page.get_by_label("当前密码").fill(TEST_PASSWORD)
        await page.get_by_label(re.compile("^新密码")).fill(NEW_PASSWORD)
        await page.get_by_label("再次输入新密码").fill(NEW_PASSWORD)
        await page.get_by_role("button", name="修改密码").click()
        await expect(page).to_have_url(re.compile(r"/account/password\?notice=changed$"))
        await expect(page.get_by_role("status")).to_contain_text("密码已修改")
        await shot(page, "password-changed")

        # This browser is still signed in; the other one is sent to the login page.
        await page.goto("/inbox")
        await expect(page).to_have_url(re.compile(r"/inbox$"))
        await other.reload()
        await expect(other).to_have_url(re.compile(r"/login\?next=%2Finbox$"))
        await log_in(other, "xiaowang")
        await expect(other.get_by_role("alert")).to_have_text("用户名或密码错误。")
        await log_in(other, "xiaowang", NEW_PASSWORD)
        await expect(other).to_have_url(re.compile(r"/inbox$"))
    finally:
        await phone.close()


async def test_the_password_page_in_english(page: Page, make_user) -> None:
    await make_user("boss", Role.MANAGER)
    await log_in(page, "boss")
    await expect(page).to_have_url(re.compile(r"/dashboard$"))
    await page.get_by_role("link", name="English").click()
    await page.get_by_role("link", name="Change password").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Change password")
    await page.get_by_label("Current password").fill(TEST_PASSWORD)
    await page.get_by_label(re.compile("^New password(?! again)")).fill("short")
    await page.get_by_label("New password again").fill("short")
    await page.get_by_role("button", name="Change password").click()
    await expect(page.locator("#f-new_password-error")).to_have_text(
        "The password needs at least 10 characters."
    )
    await shot(page, "password-form-en")
