"""The agent's workbench in a real browser: live buyers, keyboard replies, fair routing, scoping."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from playwright.async_api import Browser, Page, expect

from desk.accounts.models import Role
from desk.db import utcnow
from desk.inbox.deadline import deadline_for
from desk.inbox.models import Channel, Conversation, ConversationStatus, Message, QuickReply, Sender
from desk.orders.models import Buyer
from desk.runtime import Runtime
from tests.conftest import TEST_PASSWORD
from tests.e2e.conftest import CHROMIUM_ARGS, SimDesk  # noqa: F401  (fixtures come from conftest)

pytestmark = pytest.mark.e2e


async def agent_page(browser: Browser, base_url: str, username: str) -> Page:
    context = await browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    page = await context.new_page()
    await page.goto("/login")
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(TEST_PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await expect(page).to_have_url(re.compile(r"/inbox$"))
    return page


async def buyer_page(browser: Browser, sim_url: str, store_name: str) -> Page:
    """A new buyer of ``store_name`` on the simulator's buyer page, ready to chat."""
    page = await (await browser.new_context(base_url=sim_url)).new_page()
    await page.goto("/sim/buyer")
    await page.get_by_label("选择店铺").select_option(label=store_name)
    await page.get_by_role("button", name="＋ 新买家").click()
    await expect(page.get_by_label("消息")).to_be_visible()
    return page


async def test_a_buyer_message_arrives_live_and_is_answered_from_the_keyboard(
    browser: Browser, sim_desk: SimDesk, runtime: Runtime, make_user
) -> None:
    store, other = sim_desk.stores
    await make_user("xiaochen", Role.AGENT, [store])
    await make_user("xiaoliu", Role.AGENT, [store])
    await make_user("outsider", Role.AGENT, [other])
    async with runtime.db.session() as session:
        session.add(
            QuickReply(store_id=store.id, title="发货时间", text="您好，今天下午五点前下单当天发货。")
        )
    first = await agent_page(browser, sim_desk.url, "xiaochen")
    outsider = await agent_page(browser, sim_desk.url, "outsider")

    buyer = await buyer_page(browser, sim_desk.sim_url, store.name)
    await buyer.get_by_label("消息").fill("请问今天能发货吗？")
    await buyer.get_by_label("消息").press("Enter")

    # No reload: the row appears through the live stream within two seconds.
    row = first.locator(".queue-row", has_text="请问今天能发货吗？")
    await expect(row).to_be_visible(timeout=2_000)
    await expect(row.locator(".holder")).to_contain_text("xiaochen")

    # Keyboard only: move to it, open it, "/" for the quick replies, search, choose, send.
    await first.keyboard.press("j")
    await first.keyboard.press("Enter")
    await expect(first.get_by_role("heading", level=2)).to_be_visible()
    await first.keyboard.press("/")
    await expect(first.get_by_label("搜索话术（标题或内容）")).to_be_focused()
    await first.keyboard.type("发货")
    await expect(first.get_by_role("option", name=re.compile("发货时间"))).to_be_visible()
    await first.keyboard.press("ArrowDown")
    await first.keyboard.press("Enter")
    await expect(first.get_by_label("回复买家")).to_have_value("您好，今天下午五点前下单当天发货。")
    await expect(first.get_by_label("回复买家")).to_be_focused()
    await first.keyboard.press("Enter")
    await first.keyboard.press("Enter")  # a double Enter sends once
    await expect(first.locator(".message.from-agent")).to_have_count(1)
    await expect(first.locator(".message.from-agent .delivery-state")).to_have_text("已送达", timeout=5_000)

    # The buyer sees the answer on their page (it refreshes every 2 s).
    await expect(buyer.get_by_text("您好，今天下午五点前下单当天发货。")).to_be_visible(timeout=6_000)
    sent = sim_desk.simulator.sent_messages(sim_desk.simulator.stores[0].appid)
    assert [m.content for m in sent] == ["您好，今天下午五点前下单当天发货。"]

    # A second agent of the store sees it held by the first; the other store's agent never sees it.
    second = await agent_page(browser, sim_desk.url, "xiaoliu")
    await second.get_by_role("link", name=re.compile("^我的")).click()
    await expect(second.locator(".queue-row", has_text="今天")).to_have_count(0)
    await outsider.reload()
    await expect(outsider.locator(".queue-row")).to_have_count(0)
    await outsider.goto(first.url)
    assert "请问今天能发货吗" not in await outsider.content()


async def test_html_in_buyer_names_and_messages_is_shown_as_text(
    page: Page, runtime: Runtime, make_store, make_user
) -> None:
    store = await make_store()
    await make_user("xiaochen", Role.AGENT, [store])
    attack = '<img src=x onerror="document.title=\'owned\'"><script>document.title="owned"</script>'
    now = utcnow()
    async with runtime.db.session() as session:
        buyer = Buyer(store_id=store.id, openid="o_attacker", nickname=attack[:64])
        session.add(buyer)
        await session.flush()
        conversation = Conversation(
            store_id=store.id,
            buyer_id=buyer.id,
            channel=Channel.COMMKF,
            peer_id="o_attacker",
            last_message_at=now,
            last_buyer_message_at=now,
            waiting_since=now,
            deadline_at=deadline_for(now),
            status=ConversationStatus.OPEN,
        )
        session.add(conversation)
        await session.flush()
        session.add(
            Message(
                conversation_id=conversation.id,
                store_id=store.id,
                sender=Sender.BUYER,
                platform_msg_id="m1",
                text=attack,
                sent_at=now,
            )
        )
    dialogs: list[str] = []
    page.on("dialog", lambda d: dialogs.append(d.message))
    await page.goto("/login")
    await page.get_by_label("用户名").fill("xiaochen")
    await page.get_by_label("密码").fill(TEST_PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.goto(f"/inbox/c/{conversation.id}")
    await expect(page.locator(".message.from-buyer .text")).to_have_text(attack)
    await expect(page.get_by_role("heading", level=2)).to_have_text(attack[:64])
    assert await page.title() != "owned"
    assert await page.locator(".thread img").count() == 0
    assert dialogs == []


async def test_with_thirty_waiting_buyers_the_longest_overdue_is_first(
    page: Page, runtime: Runtime, make_store, make_user
) -> None:
    store = await make_store()
    await make_user("xiaochen", Role.AGENT, [store])
    now = utcnow()
    waits = [dt.timedelta(seconds=s) for s in (5, 400, 90, 179, 181, 30, 3600, 60, 120, 10) * 3]
    async with runtime.db.session() as session:
        for n, wait in enumerate(waits):
            since = now - wait - dt.timedelta(milliseconds=n)
            session.add(
                Conversation(
                    store_id=store.id,
                    channel=Channel.COMMKF,
                    peer_id=f"o_buyer_{n:02d}",
                    last_message_at=since,
                    last_buyer_message_at=since,
                    waiting_since=since,
                    deadline_at=deadline_for(since),
                    status=ConversationStatus.OPEN,
                )
            )
    await page.goto("/login")
    await page.get_by_label("用户名").fill("xiaochen")
    await page.get_by_label("密码").fill(TEST_PASSWORD)
    await page.get_by_role("button", name="登录").click()
    rows = page.locator(".queue-row")
    await expect(rows).to_have_count(30)
    # The one waiting an hour is first, overdue and red; the freshest (5 s) is last and calm.
    await expect(rows.first.locator(".buyer")).to_have_text("…yer_26")
    await expect(rows.first).to_have_class(re.compile("urgency-missed"))
    await expect(rows.last).to_have_class(re.compile("urgency-calm"))
    async with runtime.db.engine.connect() as conn:
        waiting = (await conn.execute(sa.select(sa.func.count()).select_from(Conversation))).scalar()
    assert waiting == 30
