"""扫码退单 in a real browser: a packer scans a returned parcel and the buyer is refunded, once."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Awaitable, Callable

import pytest
import sqlalchemy as sa
from playwright.async_api import Page, expect

from desk.accounts.models import Role
from desk.aftersales.actions import Decision, decide
from desk.aftersales.models import AfterSale, ReturnAddressBinding
from desk.aftersales.status import AfterSaleAction
from desk.audit.service import Actor
from desk.errors import Invalid
from desk.runtime import Runtime
from tests.conftest import TEST_PASSWORD
from tests.e2e.conftest import SimDesk

pytestmark = pytest.mark.e2e

ACCEPT = "aftersale/acceptapply"
# Set E2E_SCREENSHOTS to a folder to keep what the browser showed (for looking at the pages).
SHOTS = os.environ.get("E2E_SCREENSHOTS", "")


async def eventually(check: Callable[[], Awaitable[bool] | bool], what: str, timeout: float = 20) -> None:  # noqa: ASYNC109 - one deadline for many polls
    """Wait until ``check`` holds (the desk's worker and the simulator run in their own thread)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        outcome = check()
        if await outcome if not isinstance(outcome, bool) else outcome:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def desk_status(runtime: Runtime, after_sale_order_id: str) -> tuple[str, str] | None:
    async with runtime.db.engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(AfterSale.status, AfterSale.return_waybill_id).where(
                    AfterSale.after_sale_order_id == after_sale_order_id
                )
            )
        ).first()
    return (row.status, row.return_waybill_id) if row else None


async def a_parcel_on_its_way_back(sim_desk: SimDesk, runtime: Runtime) -> tuple[str, str]:
    """A return the desk agreed to, whose buyer posted the goods back: (after-sale id, waybill)."""
    sim, store = sim_desk.simulator, sim_desk.stores[0]
    appid = sim.stores[0].appid
    address = await sim_desk.on_platform(
        lambda: next(a for a in sim.store_state(appid).addresses.values() if a.recv_addr)
    )
    async with runtime.db.session() as session:
        session.add(
            ReturnAddressBinding(store_id=store.id, scope="store", ref="", address_id=address.address_id)
        )
    order = await sim_desk.on_platform(lambda: sim.create_order(appid, sim.new_buyer(appid)))
    await sim_desk.on_platform(lambda: sim.ship_order(appid, order.order_id))
    aftersale = await sim_desk.on_platform(
        lambda: sim.open_aftersale(appid, order.order_id, "RETURN", "QUALITY_ISSUE")
    )
    after_sale_order_id = aftersale.after_sale_order_id

    async def stored_as(status: str) -> bool:
        stored = await desk_status(runtime, after_sale_order_id)
        return stored is not None and stored[0] == status

    await eventually(lambda: stored_as("MERCHANT_PROCESSING"), "the desk to hear of the return")
    async with runtime.db.session() as session:
        agreed = await decide(
            session,
            runtime.wakeup,
            actor=Actor("system", "desk"),
            after_sale_order_id=after_sale_order_id,
            decision=Decision(action=AfterSaleAction.APPROVE),
        )
    assert not isinstance(agreed, Invalid), agreed
    await eventually(lambda: aftersale.status == "USER_WAIT_RETURN", "the platform to agree")
    await sim_desk.on_platform(lambda: sim.buyer_ships_return(appid, after_sale_order_id))
    await eventually(lambda: stored_as("MERCHANT_WAIT_RECEIPT"), "the desk to await the parcel")
    assert aftersale.return_waybill is not None
    return after_sale_order_id, aftersale.return_waybill[0]


async def test_a_packer_scans_the_returned_parcel_and_the_refund_completes_once(
    page: Page, sim_desk: SimDesk, runtime: Runtime, make_user
) -> None:
    sim = sim_desk.simulator
    appid = sim.stores[0].appid
    await make_user("cangku", Role.WAREHOUSE, [sim_desk.stores[0]])
    after_sale_order_id, waybill = await a_parcel_on_its_way_back(sim_desk, runtime)
    agreed_calls = sim.api.calls_by_path[ACCEPT]

    await page.goto(f"{sim_desk.url}/login")
    await page.get_by_label("用户名").fill("cangku")
    await page.get_by_label("密码").fill(TEST_PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await expect(page).to_have_url(re.compile(r"/warehouse$"))
    await page.wait_for_load_state("load")  # htmx has taken the form over (else it posts as a plain form)
    box = page.get_by_label("退货运单号")
    await expect(box).to_be_focused()

    # The scanner types the waybill and presses Enter; its double read sends it again at once.
    await page.keyboard.type(waybill)
    await page.keyboard.press("Enter")
    await page.keyboard.type(waybill)
    await page.keyboard.press("Enter")

    rows = page.locator(".scan-row")
    await expect(rows).to_have_count(2)
    first, second = rows.nth(1), rows.nth(0)  # newest on top
    await expect(first).to_contain_text("已确认收货，正在退款")
    await expect(first).to_contain_text(waybill)
    await expect(first.locator(".scan-amount")).to_have_text(re.compile(r"¥\d"))
    await expect(second).to_have_attribute("data-scan-outcome", re.compile(r"already_asked|already_refunded"))
    await expect(first.locator(".scan-state")).to_have_text("退款已提交平台", timeout=15_000)
    await expect(box).to_be_focused()

    await eventually(
        lambda: sim.aftersale(appid, after_sale_order_id).status == "MERCHANT_REFUND_SUCCESS",
        "the platform to pay the refund",
    )
    assert sim.api.calls_by_path[ACCEPT] == agreed_calls + 1

    # Scanned again later: told it is done, and nothing is sent.
    await page.keyboard.type(waybill.lower())
    await page.keyboard.press("Enter")
    await expect(rows).to_have_count(3)
    await expect(rows.nth(0)).to_contain_text("这一单已经退款")
    await page.keyboard.type("YT404404404")
    await page.keyboard.press("Enter")
    await expect(rows.nth(0)).to_contain_text("找不到运单号 YT404404404")
    if SHOTS:
        await page.screenshot(path=os.path.join(SHOTS, "warehouse.png"), full_page=True)
    assert sim.api.calls_by_path[ACCEPT] == agreed_calls + 1
    # Nothing else is theirs to open.
    await page.goto(f"{sim_desk.url}/inbox")
    await expect(page).to_have_url(re.compile(r"/warehouse$"))
