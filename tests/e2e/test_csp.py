"""The desk's pages run under its Content-Security-Policy without a single violation, offline.

The ``page`` fixture fails any test whose pages report a CSP violation; this journey walks every
main page (and the API documentation) and checks that nothing is fetched from another origin.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, Request, expect

from desk.accounts.models import Role
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.e2e


async def test_every_main_page_runs_under_the_csp_from_the_desk_alone(
    page: Page, live_server: str, make_user, make_store
) -> None:
    store = await make_store("旗舰店")
    admin = await make_user("root", Role.ADMIN)
    fetched: list[str] = []
    errors: list[str] = []

    def track(request: Request) -> None:
        fetched.append(request.url)

    page.on("request", track)
    page.on("pageerror", lambda error: errors.append(str(error)))

    await page.goto("/login")
    await page.get_by_label("用户名").fill("root")
    await page.get_by_label("密码").fill(TEST_PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await expect(page).to_have_url(re.compile(r"/settings$"))

    for path in (
        "/inbox",
        "/dashboard",
        "/settings/users",
        "/settings/users/new",
        f"/settings/users/{admin.id}",
        "/settings/stores",
        "/settings/stores/new",
        f"/settings/stores/{store.id}",
        "/settings/wecom",
        "/settings/wecom/new",
        "/settings/events",
        "/stores",
        "/no-such-page",
    ):
        await page.goto(path)
        await expect(page.get_by_role("banner")).to_be_visible()
        # htmx started (its config meta tag applied): it would have injected a <style> otherwise.
        assert await page.evaluate("window.htmx.config.includeIndicatorStyles") is False

    # (A store's page and its htmx polling run under the policy in test_activity.py: the page
    # fixture fails that journey on any violation too.)
    await page.goto(f"/stores/{store.id}")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("旗舰店")

    # The API documentation: Swagger UI from /static, started by /static/openapi.js.
    await page.goto("/schema")
    operation = page.locator(".opblock").filter(has_text="ListStores")
    await operation.locator(".opblock-summary").click()
    await operation.get_by_role("button", name="Try it out").click()
    await operation.get_by_role("button", name="Execute").click()
    # The call went out from the page (no token in this browser: 401) and its answer is shown.
    await expect(operation.locator(".live-responses-table tbody .response-col_status")).to_contain_text("401")

    foreign = [url for url in fetched if not url.startswith(live_server)]
    assert foreign == []
    assert errors == []
