"""Watching a store live: what arrives shows up on the open page without a reload."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from desk.accounts.models import Role
from desk.db import utcnow
from desk.inbox.models import Channel, Conversation, Message, Sender
from desk.orders.models import Buyer
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.e2e


async def test_a_new_buyer_message_appears_on_the_open_store_page(
    page: Page, runtime, make_store, make_user
) -> None:
    store = await make_store("旗舰店")
    await make_user("xiaowang", Role.AGENT, [store])
    await page.goto("/login")
    await page.get_by_label("用户名").fill("xiaowang")
    await page.get_by_label("密码").fill(TEST_PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await expect(page).to_have_url(re.compile(r"/inbox$"))

    await page.goto(f"/stores/{store.id}")
    panel = page.get_by_role("region", name="最新买家消息")
    await expect(panel).to_contain_text("还没有买家消息")
    await expect(panel).to_contain_text("共 0 条")
    await page.evaluate("window.stillTheSamePage = true")

    async with runtime.db.session() as session:
        buyer = Buyer(store_id=store.id, openid="o_live_buyer_7f3a9c")
        session.add(buyer)
        await session.flush()
        now = utcnow()
        conversation = Conversation(
            store_id=store.id,
            buyer_id=buyer.id,
            channel=Channel.COMMKF,
            peer_id=buyer.openid,
            last_message_at=now,
            last_buyer_message_at=now,
            waiting_since=now,
        )
        session.add(conversation)
        await session.flush()
        session.add(
            Message(
                conversation_id=conversation.id,
                store_id=store.id,
                sender=Sender.BUYER,
                platform_msg_id="live-1",
                text="请问今天能发货吗？",
                sent_at=now,
            )
        )

    # The panel polls every 5 s; give it two rounds on a busy machine.
    await expect(panel.get_by_role("listitem")).to_contain_text("请问今天能发货吗？", timeout=12_000)
    await expect(panel).to_contain_text("买家 …7f3a9c")
    await expect(panel).to_contain_text("共 1 条")
    assert await page.evaluate("window.stillTheSamePage") is True
