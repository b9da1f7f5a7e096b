"""纠纷/投诉: the simulator's disputes reach the desk, and the open ones are listed by deadline."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import sqlalchemy as sa

from desk.accounts.models import Role
from desk.aftersales.actions import Decision, decide
from desk.aftersales.complaints import open_complaints
from desk.aftersales.models import AfterSale, Complaint
from desk.aftersales.services import COMPLAINT_RESPONSE_TIME, save_complaint
from desk.aftersales.status import AfterSaleAction
from desk.audit.service import Actor
from desk.db import utcnow
from desk.errors import Invalid
from desk.runtime import Runtime
from tests.aftersales.test_actions import requested, runner
from tests.conftest import login
from tests.ingest.conftest import Platform


async def rejected(platform: Platform) -> Any:
    after_sale_order_id, aftersale = await requested(platform, "REFUND")
    async with platform.runtime.db.session() as session:
        result = await decide(
            session,
            platform.runtime.wakeup,
            actor=Actor("system", "desk"),
            after_sale_order_id=after_sale_order_id,
            decision=Decision(action=AfterSaleAction.REJECT, reject_reason_type=1),
        )
    assert not isinstance(result, Invalid)
    await runner(platform).drain()
    return aftersale


async def test_a_buyer_s_dispute_reaches_the_desk_and_leaves_the_list_when_closed(
    platform: Platform, make_user
) -> None:
    aftersale = await rejected(platform)
    appid = platform.appids[0]
    complaint_id = platform.sim.buyer_complains(appid, aftersale.after_sale_order_id)
    # The rejection's push and the dispute's arrive together: one worker batch, the same after-sale.
    await platform.settle()

    async with platform.runtime.db.engine.connect() as conn:
        stored = (await conn.execute(sa.select(Complaint.__table__))).one()
        linked = (
            await conn.execute(
                sa.select(AfterSale.complaint_id).where(
                    AfterSale.after_sale_order_id == aftersale.after_sale_order_id
                )
            )
        ).scalar_one()
    assert (stored.complaint_id, stored.after_sale_order_id, stored.status) == (
        complaint_id,
        aftersale.after_sale_order_id,
        100,
    )
    assert stored.merchant_deadline is not None
    assert linked == complaint_id  # the after-sale was read again with the dispute
    manager = await make_user("manager", Role.MANAGER, [platform.stores[0]])
    async with platform.runtime.db.session() as session:
        (row,) = await open_complaints(session, manager)
    assert row.complaint_id == complaint_id
    assert row.refund_amount == aftersale.amount
    assert row.seconds_left is not None
    assert 0 < row.seconds_left <= COMPLAINT_RESPONSE_TIME.total_seconds()

    platform.sim.close_complaint(appid, aftersale.after_sale_order_id)
    await platform.settle()
    async with platform.runtime.db.session() as session:
        assert await open_complaints(session, manager) == []


async def add_complaint(
    runtime: Runtime, store_id: int, complaint_id: str, *, hours_ago: float, status: int = 100
) -> None:
    async with runtime.db.engine.begin() as conn:
        await save_complaint(
            conn,
            store_id,
            complaint_id=complaint_id,
            after_sale_order_id=f"20{complaint_id}",
            order_id=f"37{complaint_id}",
            status=status,
            event_time=utcnow() - dt.timedelta(hours=hours_ago),
        )


async def test_managers_see_their_stores_open_complaints_soonest_deadline_first(
    client, app, runtime, make_store, make_user
) -> None:
    mine, theirs = await make_store("我的店"), await make_store("别人的店")
    await add_complaint(runtime, mine.id, "1001", hours_ago=1)
    await add_complaint(runtime, mine.id, "1002", hours_ago=40)  # the soonest deadline
    await add_complaint(runtime, mine.id, "1003", hours_ago=50)  # past its deadline
    await add_complaint(runtime, mine.id, "1004", hours_ago=2, status=116)  # closed
    await add_complaint(runtime, mine.id, "1005", hours_ago=3, status=103)  # open, the platform's move
    await add_complaint(runtime, theirs.id, "2001", hours_ago=45)
    await login(client, app, await make_user("manager", Role.MANAGER, [mine]))

    page = await client.get("/complaints")

    assert page.status_code == 200
    assert re.findall(r'data-complaint-id="(\d+)"', page.text) == ["1003", "1002", "1001", "1005"]
    assert "已超时" in page.text
    assert "处理中（状态 103）" in page.text
    assert 'href="/complaints"' in page.text  # in the navigation
    narrowed = await client.get("/complaints", params={"store": str(theirs.id)})
    assert re.findall(r'data-complaint-id="(\d+)"', narrowed.text) == []  # not their store
    client.cookies.set("desk_lang", "en")
    english = await client.get("/complaints")
    assert "Disputes and complaints" in english.text


async def test_agents_do_not_see_the_complaints_page(client, app, make_store, make_user) -> None:
    await login(client, app, await make_user("agent", Role.AGENT, [await make_store()]))
    page = await client.get("/complaints")
    assert page.status_code == 403
    assert 'href="/complaints"' not in (await client.get("/inbox")).text
