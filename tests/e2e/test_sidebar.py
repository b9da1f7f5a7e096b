"""The order sidebar in a real browser, against the simulator over real HTTP with the embedded worker."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from playwright.async_api import Browser, Page, expect

from desk.accounts.models import Role
from desk.aftersales.models import MerchantAddress, ReturnAddressBinding
from desk.commands.models import OutboundCommand
from desk.inbox.models import Conversation
from desk.runtime import Runtime
from tests.e2e.conftest import SimDesk
from tests.e2e.test_inbox import agent_page

pytestmark = pytest.mark.e2e

ACCEPT = "aftersale/acceptapply"
ADDRESS_ACCEPT = "order/addressmodify/accept"


async def eventually(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:  # noqa: ASYNC109
    """Wait for the simulator to see what the desk's worker does (it runs in its own thread)."""
    loop = asyncio.get_running_loop()
    until = loop.time() + timeout
    while not check():
        if loop.time() > until:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.1)


async def conversation_of(runtime: Runtime, openid: str) -> int:
    for _ in range(100):
        async with runtime.db.engine.connect() as conn:
            found = (
                await conn.execute(sa.select(Conversation.id).where(Conversation.peer_id == openid))
            ).scalar_one_or_none()
        if found is not None:
            return int(found)
        await asyncio.sleep(0.1)
    raise AssertionError("the buyer's conversation never arrived")


def csp_violations(page: Page) -> list[str]:
    """Collects the page's Content-Security-Policy violations (the sidebar's script is a file)."""
    seen: list[str] = []
    page.on(
        "console",
        lambda m: seen.append(f"{m.text} @ {m.location}") if "Content Security Policy" in m.text else None,
    )
    return seen


async def open_sidebar(page: Page, conversation_id: int) -> None:
    await page.goto(f"/inbox/c/{conversation_id}")
    await expect(page.get_by_role("complementary", name="订单与售后")).to_be_visible()


async def test_an_agent_approves_a_return_from_the_sidebar_with_the_keyboard(
    browser: Browser, sim_desk: SimDesk, runtime: Runtime, make_user
) -> None:
    store = sim_desk.stores[0]
    sim = sim_desk.simulator
    appid = sim.stores[0].appid
    await make_user("xiaochen", Role.AGENT, [store])
    returns = [a for a in sim.store_state(appid).addresses.values() if a.recv_addr]
    assert len(returns) >= 2, "the simulated store needs two return addresses"
    bound, default = returns[0], returns[1]

    openid = sim.new_buyer(appid)
    order = sim.create_order(appid, openid)
    sim.ship_order(appid, order.order_id)
    aftersale = sim.open_aftersale(appid, order.order_id, "RETURN", desc="颜色和图片不一样")
    async with runtime.db.session() as session:  # as the return-address admin would have set them
        for address in returns:
            session.add(
                MerchantAddress(
                    store_id=store.id, address_id=address.address_id, name=address.name, is_return=True
                )
            )
        session.add(
            ReturnAddressBinding(
                store_id=store.id, scope="sku", ref=aftersale.sku_id, address_id=bound.address_id
            )
        )
        session.add(
            ReturnAddressBinding(store_id=store.id, scope="store", ref="", address_id=default.address_id)
        )
    sim.buyer_says(appid, openid, "我申请了退货，麻烦尽快处理")
    conversation_id = await conversation_of(runtime, openid)

    page = await agent_page(browser, sim_desk.url, "xiaochen")
    violations = csp_violations(page)
    await open_sidebar(page, conversation_id)
    card = page.locator(f"#aftersale-{aftersale.after_sale_order_id}")
    await expect(card).to_contain_text("退货退款", timeout=20_000)
    await expect(card).to_contain_text("待商家处理")
    await expect(card).to_contain_text("颜色和图片不一样")
    await expect(card.get_by_label(re.compile("^退货地址"))).to_have_value(bound.address_id)
    await page.screenshot(path="/tmp/h8s-sidebar-before.png")

    await page.locator("body").click(position={"x": 5, "y": 300})  # nowhere in particular: not typing
    await page.keyboard.press("y")
    await page.keyboard.press("y")  # a second press sends nothing more
    await expect(card).to_contain_text("待买家退货", timeout=20_000)  # a busy machine: the worker is slow
    await expect(card).to_contain_text("xiaochen 的操作已完成")
    await page.screenshot(path="/tmp/h8s-sidebar-after.png")
    await eventually(lambda: sim.api.calls_by_path[ACCEPT] >= 1, "acceptapply")
    assert sim.api.calls_by_path[ACCEPT] == 1
    assert sim.aftersale(appid, aftersale.after_sale_order_id).return_address_id == bound.address_id
    assert not violations


async def test_a_buyers_address_change_is_accepted_from_the_sidebar(
    browser: Browser, sim_desk: SimDesk, runtime: Runtime, make_user
) -> None:
    store = sim_desk.stores[0]
    sim = sim_desk.simulator
    appid = sim.stores[0].appid
    await make_user("xiaochen", Role.AGENT, [store])
    openid = sim.new_buyer(appid)
    order = sim.create_order(appid, openid)
    sim.request_address_change(appid, order.order_id)
    sim.buyer_says(appid, openid, "地址写错了，帮我改一下")
    conversation_id = await conversation_of(runtime, openid)

    page = await agent_page(browser, sim_desk.url, "xiaochen")
    await open_sidebar(page, conversation_id)
    change = page.get_by_role("group", name="买家申请修改收货地址：")
    await expect(change).to_be_visible(timeout=20_000)
    await change.get_by_role("button", name="同意改地址").click()
    await expect(change).to_have_count(0, timeout=20_000)
    await expect(page.locator(f"#order-{order.order_id}")).to_contain_text("xiaochen 的操作已完成")
    await eventually(
        lambda: sim.order(appid, order.order_id).address_under_review is None, "the change accepted"
    )
    assert sim.api.calls_by_path[ADDRESS_ACCEPT] == 1


async def test_a_second_agent_approving_the_same_refund_is_told_who_handled_it(
    browser: Browser, sim_desk: SimDesk, runtime: Runtime, make_user
) -> None:
    store = sim_desk.stores[0]
    sim = sim_desk.simulator
    appid = sim.stores[0].appid
    await make_user("xiaochen", Role.AGENT, [store])
    await make_user("xiaoliu", Role.AGENT, [store])
    openid = sim.new_buyer(appid)
    order = sim.create_order(appid, openid)
    aftersale = sim.open_aftersale(appid, order.order_id, "REFUND")
    sim.buyer_says(appid, openid, "我不想要了，请退款")
    conversation_id = await conversation_of(runtime, openid)
    first = await agent_page(browser, sim_desk.url, "xiaochen")
    second = await agent_page(browser, sim_desk.url, "xiaoliu")
    violations = csp_violations(second)
    for page in (first, second):
        await open_sidebar(page, conversation_id)
        await expect(page.locator(f"#aftersale-{aftersale.after_sale_order_id}")).to_contain_text(
            "待商家处理", timeout=20_000
        )
    # The platform is busy for a while: the first agent's refund waits in the queue, still undone.
    sim.faults.configure(error_rate=1.0, kinds=["busy"])
    try:
        await first.get_by_role("button", name="同意退款").click()
        await expect(first.locator(".sb-flash")).to_have_text("已提交，正在发给平台。")
        await second.get_by_role("button", name="同意退款").click()
        await expect(second.get_by_role("alert")).to_contain_text("已由 xiaochen 处理")
    finally:
        sim.faults.configure(error_rate=0.0)
    await expect(second.locator(f"#aftersale-{aftersale.after_sale_order_id}")).to_contain_text(
        "xiaochen 的操作已完成", timeout=30_000
    )
    assert sim.aftersale(appid, aftersale.after_sale_order_id).status != "MERCHANT_PROCESSING"
    async with runtime.db.engine.connect() as conn:
        commands = (
            await conn.execute(
                sa.select(sa.func.count())
                .select_from(OutboundCommand)
                .where(OutboundCommand.subject == f"aftersale:{aftersale.after_sale_order_id}")
            )
        ).scalar_one()
    assert commands == 1
    assert not violations
