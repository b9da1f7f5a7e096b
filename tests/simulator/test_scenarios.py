"""Scenarios: reproducible for a seed, and shaped like a real quiet afternoon or live burst."""

from __future__ import annotations

from collections import Counter

import pytest

from desk.simulator import SCENARIOS, GroundTruth, ManualClock, Simulator, demo_corp, demo_store
from desk.simulator.data import PRESALE_QUESTIONS, QUESTIONS_ABOUT_ORDER


async def play(seed: int, name: str = "live-burst", **options: float) -> tuple[Simulator, GroundTruth]:
    sim = Simulator(seed=seed, time_scale=0.0, clock=ManualClock(1_780_000_000.0))
    for n in (1, 2):
        sim.add_store(demo_store(n))
    sim.add_corp(demo_corp(1))
    await sim.run_scenario(name, **options)
    return sim, sim.ground_truth()


async def test_the_same_seed_gives_the_same_ground_truth() -> None:
    _, first = await play(5, duration_s=60, orders_per_minute=120)
    _, again = await play(5, duration_s=60, orders_per_minute=120)
    _, other = await play(6, duration_s=60, orders_per_minute=120)
    assert first == again
    assert first != other


async def test_a_live_burst_looks_like_one() -> None:
    sim, truth = await play(8, duration_s=120, orders_per_minute=600)
    report = sim.last_report
    assert report is not None
    orders = [o for s in sim.world.stores.values() for o in s.orders.values()]
    new_orders = [o for o in orders if o.create_time >= 1_780_000_000]
    assert len(new_orders) == report.orders > 900  # ~1200 expected
    assert Counter(o.order_scene for o in new_orders)[2] > 0.8 * len(new_orders)
    assert {o.status for o in orders} >= {10, 20, 30, 100, 250}

    aftersales = [a for s in sim.world.stores.values() for a in s.aftersales.values()]
    assert 0.18 <= len(aftersales) / len(orders) <= 0.32
    assert {a.type for a in aftersales} == {"REFUND", "RETURN", "EXCHANGE"}
    reasons = {a.reason for a in aftersales}
    assert {"NO_LONGER_WANT", "QUALITY_ISSUE", "SEND_WRONG_GOODS", "INCORRECT_SELECTION"} <= reasons
    assert all(a.reason_text for a in aftersales)

    texts = [m.text for s in truth.stores.values() for m in s.buyer_messages if m.msg_type == "text"]
    kinds = Counter(m.msg_type for s in truth.stores.values() for m in s.buyer_messages)
    assert kinds["text"] > kinds["order_share"] > 0
    assert kinds["product_share"] > 0
    assert kinds["image"] > 0
    assert set(texts) & set(QUESTIONS_ABOUT_ORDER)
    assert set(texts) & set(PRESALE_QUESTIONS)
    assert any(c.kf_messages for c in truth.corps.values())
    # The first store of a live-stream merchant sells the most.
    per_store = [len(s.orders) for s in truth.stores.values()]
    assert per_store[0] > per_store[1]


async def test_a_quiet_afternoon_ships_and_completes_orders() -> None:
    sim, _ = await play(9, name="quiet", duration_s=1200, orders_per_minute=4)
    report = sim.last_report
    assert report is not None
    assert 40 <= report.orders <= 130  # ~80 expected
    scenario_orders = [
        o for s in sim.world.stores.values() for o in s.orders.values() if o.create_time >= 1_780_000_000
    ]
    assert Counter(o.order_scene for o in scenario_orders)[2] < len(scenario_orders) / 2
    assert {o.status for o in scenario_orders} & {30, 100}


async def test_unknown_scenario_is_refused() -> None:
    sim = Simulator(seed=1, time_scale=0.0)
    sim.add_store(demo_store(1))
    with pytest.raises(ValueError, match="live-burst"):
        await sim.run_scenario("rush-hour")


def test_the_two_scenarios_exist() -> None:
    assert set(SCENARIOS) == {"quiet", "live-burst"}
