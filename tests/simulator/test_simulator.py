"""The Python API the desk's tests, demo and benchmarks use."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from desk.simulator import SimStore, Simulator, demo_corp, demo_store
from desk.simulator.runner import serve_until_stopped
from desk.simulator.world import UnknownObjectError
from tests.simulator.support import PushReceiver


async def test_serving_uses_a_free_port_and_stops() -> None:
    sim = Simulator(seed=1, time_scale=0.0)
    sim.add_store(demo_store(1))
    async with sim.serving() as first, sim_copy().serving() as second:
        assert first != second
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{first}/sim/")).status_code == 200
    assert sim.base_url is None
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.get(f"{first}/sim/")


def sim_copy() -> Simulator:
    sim = Simulator(seed=1, time_scale=0.0)
    sim.add_store(demo_store(1))
    return sim


async def test_drain_gives_up_with_a_clear_error(store: SimStore, receiver: tuple[PushReceiver, str]) -> None:
    app, _ = receiver
    app.replies.extend([(500, b"")] * 40)
    sim = Simulator(seed=1, time_scale=1.0)  # the third retry waits 10 real seconds
    sim.add_store(store)
    async with sim.serving():
        sim.create_order(store.appid)
        with pytest.raises(TimeoutError, match="pushes"):
            await sim.drain(0.3)


def test_demo_credentials_are_stable_and_valid() -> None:
    assert demo_store(1) == demo_store(1)
    assert demo_store(1).appid != demo_store(2).appid
    assert demo_store(1, seed=2).appid != demo_store(1).appid
    corp = demo_corp(1)
    assert len(corp.kf_accounts) == 2
    sim = Simulator()
    sim.add_store(demo_store(1))  # the AES key is accepted by MsgCrypt
    sim.add_corp(corp)
    with pytest.raises(ValueError, match="already"):
        sim.add_store(demo_store(1))


def test_unknown_things_are_named() -> None:
    sim = Simulator()
    store = sim.add_store(demo_store(1))
    with pytest.raises(UnknownObjectError, match="wx-nope"):
        sim.create_order("wx-nope")
    with pytest.raises(UnknownObjectError, match="o-nobody"):
        sim.buyer_says(store.appid, "o-nobody", "hi")
    with pytest.raises(ValueError, match="SKU"):
        sim.create_order(store.appid, items=[("123", 1)])


def test_ground_truth_counts_what_happened() -> None:
    sim = Simulator(seed=2, time_scale=0.0)
    store = sim.add_store(demo_store(1))
    order = sim.create_order(store.appid)
    sim.buyer_says(store.appid, order.openid, "我要退款")
    aftersale = sim.open_aftersale(store.appid, order.order_id, "REFUND", "NO_LONGER_WANT")
    truth = sim.ground_truth().stores[store.appid]
    assert truth.orders[order.order_id].status == 20
    assert truth.orders[order.order_id].aftersale_ids == (aftersale.after_sale_order_id,)
    assert truth.aftersales[aftersale.after_sale_order_id].status == "MERCHANT_PROCESSING"
    assert [m.text for m in truth.buyer_messages] == ["我要退款"]
    assert sim.ground_truth().counts()["orders"] == 1


async def test_serve_until_stopped_plays_the_scenario() -> None:
    sim = Simulator(seed=4, time_scale=0.0)
    sim.add_store(demo_store(1))
    task = asyncio.create_task(
        serve_until_stopped(sim, port=0, scenario="quiet", duration_s=30, repeat=False)
    )
    while sim.last_report is None:  # noqa: ASYNC110 - polling the task under test
        await asyncio.sleep(0.01)
    assert sim.base_url is not None
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sim.last_report.name == "quiet"
