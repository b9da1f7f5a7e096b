"""Searching the inbox in a real browser: typing finds as you go, matches are marked, payloads stay text."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from desk.accounts.models import Role
from tests.e2e.test_journeys import log_in
from tests.inbox.search_data import add_buyer, add_order, at, buyer_says, conversation_of

pytestmark = pytest.mark.e2e


async def test_an_agent_types_a_query_and_sees_their_stores_hits_marked(
    page: Page, runtime, make_store, make_user
) -> None:
    mine, theirs = await make_store("旗舰店"), await make_store("别人的店")
    await make_user("xiaowang", Role.AGENT, [mine])
    buyer = await add_buyer(runtime, mine, nickname="<i>小明</i>妈妈", openid="o_a")
    talk = await conversation_of(
        runtime,
        await buyer_says(runtime, mine, "请问退款怎么还没到账？", peer="o_a", buyer_id=buyer, sent=at(1)),
    )
    await buyer_says(runtime, mine, "<script>document.title='pwned'</script>退款了吗", peer="o_b", sent=at(2))
    await buyer_says(runtime, theirs, "退款怎么这么慢", peer="o_c", sent=at(3))
    await add_order(runtime, mine, "3705115058471208960", buyer_id=buyer, openid="o_a")

    await log_in(page, "xiaowang")
    await page.goto("/inbox/search")
    box = page.get_by_role("searchbox", name="搜索订单号、买家昵称或消息内容")
    await expect(box).to_be_focused()
    await box.fill("退款")  # no Enter: results come while typing

    results = page.locator("#search-results .feed-item")
    await expect(results).to_have_count(2)
    await expect(page).to_have_url(re.compile(r"/inbox/search\?q=%E9%80%80%E6%AC%BE$"))
    # The snippet starts a little before the match; the payload reads as the text it is.
    await expect(results.first.locator(".feed-text")).to_have_text("…'pwned'</script>退款了吗")
    await expect(results.nth(1).locator("mark")).to_have_text("退款")
    await expect(results.nth(1).get_by_role("link")).to_have_text("<i>小明</i>妈妈")
    await expect(results.nth(1).get_by_role("link")).to_have_attribute("href", f"/inbox/c/{talk}")
    await expect(page.get_by_text("只查找了最近的")).to_be_visible()
    assert await page.title() != "pwned"
    await expect(page.get_by_text("别人的店")).to_have_count(0)

    await box.fill("3705115058471208960")
    await box.press("Enter")
    await expect(results).to_have_count(1)
    await expect(results.first.locator("mark")).to_have_text("3705115058471208960")
    await expect(results.first.get_by_text("订单", exact=True)).to_be_visible()

    # The box stops at 100 characters; a longer query can still come in a link.
    await page.goto("/inbox/search?q=" + "退" * 101)
    await expect(page.get_by_role("alert")).to_have_text("搜索词最多 100 个字符，请缩短后再搜索。")
