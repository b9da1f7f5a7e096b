"""The simulator's overview page in a browser: turning platform faults on and off from its form."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from desk.simulator import ManualClock, SimStore, Simulator, demo_store

pytestmark = pytest.mark.e2e


@pytest.fixture
async def simulator_page(browser: Browser) -> AsyncIterator[tuple[Page, Simulator, SimStore, str]]:
    """A served simulator with one store, and a fresh browser page on its overview."""
    sim = Simulator(seed=5, time_scale=0.001, clock=ManualClock(1_780_000_000.0))
    store = sim.add_store(demo_store(1))
    async with sim.serving() as base_url:
        context = await browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 800})
        context.set_default_timeout(10_000)
        page = await context.new_page()
        await page.goto("/sim/")
        yield page, sim, store, base_url
        await context.close()


async def token_errcode(base_url: str, store: SimStore) -> int:
    async with httpx.AsyncClient(base_url=base_url) as api:
        reply = await api.get(
            "/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": store.appid, "secret": store.secret},
        )
    return int(reply.json().get("errcode", 0))


async def test_token_failures_and_push_drops_are_set_and_cleared_from_the_overview(
    simulator_page: tuple[Page, Simulator, SimStore, str],
) -> None:
    page, _, store, base_url = simulator_page
    card = page.locator("#faults")
    await expect(card.get_by_role("heading")).to_contain_text("未开启")

    await card.get_by_label("获取 access_token 的调用全部失败").check()
    await card.get_by_label("丢弃接下来的").fill("2")
    await card.get_by_role("button", name="应用").click()

    await expect(page).to_have_url(re.compile(r"/sim/#faults$"))
    await expect(card.get_by_role("heading")).to_contain_text("生效中")
    await expect(card.get_by_label("获取 access_token 的调用全部失败")).to_be_checked()
    await expect(card.get_by_label("丢弃接下来的")).to_have_value("2")
    assert await token_errcode(base_url, store) == -1
    await page.reload()
    counters = card.get_by_role("table", name="故障计数")
    await expect(counters).to_contain_text("获取令牌失败 1")
    await expect(counters).to_contain_text("还将丢弃 2")

    await card.get_by_role("button", name="全部恢复正常").click()

    await expect(card.get_by_role("heading")).to_contain_text("未开启")
    await expect(card.get_by_label("获取 access_token 的调用全部失败")).not_to_be_checked()
    await expect(card.get_by_label("丢弃接下来的")).to_have_value("0")
    assert await token_errcode(base_url, store) == 0


async def test_a_share_of_failing_calls_needs_a_kind_and_keeps_what_was_typed(
    simulator_page: tuple[Page, Simulator, SimStore, str],
) -> None:
    page, sim, _, _ = simulator_page
    card = page.locator("#faults")
    for box in await card.get_by_role("group", name="故障类型").get_by_role("checkbox").all():
        await box.uncheck()
    await card.get_by_label("失败比例").fill("35")
    await card.get_by_role("button", name="应用").click()

    await expect(card.get_by_role("alert")).to_contain_text("选择至少一种 API 故障类型")
    await expect(card.get_by_label("失败比例")).to_have_value("35")
    assert sim.faults.error_rate == 0

    await card.get_by_label("系统繁忙（errcode -1）").check()
    await card.get_by_role("button", name="应用").click()

    await expect(card.get_by_role("heading")).to_contain_text("生效中")
    await expect(card.get_by_label("失败比例")).to_have_value("35")
    assert (sim.faults.error_rate, sim.faults.kinds) == (0.35, ("busy",))
