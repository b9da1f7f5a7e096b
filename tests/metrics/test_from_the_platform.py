"""Facts from the real path: the simulator pushes over HTTP, the worker files, an agent decides.

Orders, after-sales and buyer messages reach the desk through the webhooks and the worker; an
agent's approval goes to the platform as a command (once), and the refund comes back as a push.
Each leaves its fact once, however often the platform repeats itself.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import sqlalchemy as sa

from desk.accounts.models import Role
from desk.metrics.models import MetricFact
from desk.runtime import Runtime
from tests.aftersales.test_actions import ACCEPT, APPROVE, decide_as, runner
from tests.ingest.conftest import Platform


async def facts(runtime: Runtime) -> list[MetricFact]:
    async with runtime.db.session() as session:
        return list(await session.scalars(sa.select(MetricFact).order_by(MetricFact.id)))


async def test_orders_after_sales_and_chats_from_the_platform_leave_one_fact_each(
    platform: Platform, make_user
) -> None:
    sim, appid = platform.sim, platform.appids[0]
    store = platform.stores[0]
    agent = await make_user("小陈", Role.AGENT, stores=[store])
    buyer = sim.new_buyer(appid)
    paid = sim.create_order(appid, buyer)
    sim.create_order(appid, buyer, paid=False)  # never paid: never counted
    aftersale = sim.open_aftersale(appid, paid.order_id, "REFUND")
    sim.buyer_says(appid, buyer, "退款什么时候到？")
    sim.buyer_says(appid, buyer, "在吗？")  # the same consultation
    await platform.settle()

    kinds = Counter(f.kind for f in await facts(platform.runtime))
    assert kinds == {"order.paid": 1, "aftersale.requested": 1, "consultation.opened": 1}

    decided = await decide_as(platform.runtime, aftersale.after_sale_order_id, APPROVE, agent)
    assert decided.created
    await runner(platform).drain()
    assert sim.api.calls_by_path[ACCEPT] == 1
    for _ in range(200):  # the platform settles the refund a moment later and pushes it
        await platform.settle()
        if sim.aftersale(appid, aftersale.after_sale_order_id).status == "MERCHANT_REFUND_SUCCESS":
            break
        await asyncio.sleep(0.02)
    await platform.settle()
    await platform.settle()  # nothing new: the pushes were all applied

    completed = [f for f in await facts(platform.runtime) if f.kind == "aftersale.completed"]
    assert len(completed) == 1
    assert (completed[0].detail, completed[0].automatic, completed[0].store_id) == ("REFUND", False, store.id)
    assert completed[0].agent_id == agent.id  # handled by the agent who approved it
    assert completed[0].seconds is not None
    assert Counter(f.kind for f in await facts(platform.runtime)) == {**kinds, "aftersale.completed": 1}
