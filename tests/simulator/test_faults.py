"""Injected API failures: as frequent as configured, the same for the same seed, never on pushes."""

from __future__ import annotations

import httpx
import pytest

from desk.simulator import Faults, SimStore, Simulator, demo_store
from tests.simulator.support import PushReceiver, channels_token


async def outcomes(faults: Faults, calls: int = 80) -> list[str]:
    """What ``calls`` sequential order/get calls meet: ok, http500, busy."""
    sim = Simulator(seed=3, time_scale=0.0)
    store = sim.add_store(demo_store(1))
    order = sim.create_order(store.appid)
    seen = []
    async with sim.serving() as base_url, httpx.AsyncClient(base_url=base_url) as api:
        token = await channels_token(api, store)  # before faults: the token call must not fail here
        sim.faults = faults
        for _ in range(calls):
            reply = await api.post(
                "/channels/ec/order/get", params={"access_token": token}, json={"order_id": order.order_id}
            )
            if reply.status_code == 500:
                seen.append("http500")
            elif reply.json()["errcode"] == -1:
                seen.append("busy")
            else:
                assert reply.json()["order"]["order_id"] == order.order_id
                seen.append("ok")
    assert sum(faults.injected.values()) == sum(1 for s in seen if s != "ok")
    return seen


async def test_failures_follow_the_rate_and_the_seed() -> None:
    first = await outcomes(Faults(error_rate=0.25, kinds=("http500", "busy"), seed=11))
    again = await outcomes(Faults(error_rate=0.25, kinds=("http500", "busy"), seed=11))
    other = await outcomes(Faults(error_rate=0.25, kinds=("http500", "busy"), seed=12))
    assert first == again
    assert first != other
    failed = sum(1 for s in first if s != "ok")
    assert 8 <= failed <= 35  # 20 expected of 80
    assert {"http500", "busy"} <= set(first)


async def test_no_faults_by_default() -> None:
    assert set(await outcomes(Faults(), calls=20)) == {"ok"}


async def test_a_timeout_never_answers_in_time_and_does_nothing(store: SimStore) -> None:
    sim = Simulator(seed=1, time_scale=0.0)
    sim.add_store(store)
    order = sim.create_order(store.appid)
    aftersale = sim.open_aftersale(store.appid, order.order_id)
    async with sim.serving() as base_url, httpx.AsyncClient(base_url=base_url) as api:
        token = await channels_token(api, store)
        sim.faults = Faults(error_rate=1.0, kinds=("timeout",), timeout_s=0.5)
        with pytest.raises(httpx.ReadTimeout):
            await api.post(
                "/channels/ec/aftersale/acceptapply",
                params={"access_token": token},
                json={"after_sale_order_id": aftersale.after_sale_order_id},
                timeout=0.1,
            )
    assert aftersale.status == "MERCHANT_PROCESSING"


async def test_a_late_reply_has_done_the_work(store: SimStore) -> None:
    sim = Simulator(seed=1, time_scale=0.0)
    sim.add_store(store)
    order = sim.create_order(store.appid)
    aftersale = sim.open_aftersale(store.appid, order.order_id)
    async with sim.serving() as base_url, httpx.AsyncClient(base_url=base_url) as api:
        token = await channels_token(api, store)
        sim.faults = Faults(error_rate=1.0, kinds=("late_reply",), timeout_s=0.3)
        with pytest.raises(httpx.ReadTimeout):
            await api.post(
                "/channels/ec/aftersale/acceptapply",
                params={"access_token": token},
                json={"after_sale_order_id": aftersale.after_sale_order_id},
                timeout=0.1,
            )
        await sim.drain(5)
    assert aftersale.status == "MERCHANT_REFUND_SUCCESS"


async def test_pushes_are_not_affected(store: SimStore, receiver: tuple[PushReceiver, str]) -> None:
    app, _ = receiver
    sim = Simulator(seed=1, time_scale=0.0, faults=Faults(error_rate=1.0, kinds=("http500",)))
    sim.add_store(store)
    async with sim.serving():
        sim.create_order(store.appid)
        await sim.drain(5)
    assert app.received
    assert all(a.acked for a in sim.push_log)


def test_a_policy_is_checked() -> None:
    with pytest.raises(ValueError, match="error_rate"):
        Faults(error_rate=1.5)
    with pytest.raises(ValueError, match="kinds"):
        Faults(kinds=("meteor",))
