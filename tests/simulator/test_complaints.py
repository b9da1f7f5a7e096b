"""Disputes (纠纷): a rejected buyer complains to the platform, which pushes the complaint (spec §3, §5)."""

from __future__ import annotations

import json
import random

import httpx
import pytest

from desk.platform.events import ComplaintUpdateEvent, decode_channels_event
from desk.simulator import SimStore, Simulator
from desk.simulator.aftersales import COMPLAINT_CHANCE
from desk.simulator.errcodes import ApiError
from tests.simulator.support import Channels, PushReceiver


async def test_a_rejected_buyer_disputes_and_the_platform_pushes_each_status(
    sim: Simulator, store: SimStore, channels: Channels, receiver: tuple[PushReceiver, str]
) -> None:
    order = sim.create_order(store.appid)
    aftersale = sim.open_aftersale(store.appid, order.order_id)
    target = {"after_sale_order_id": aftersale.after_sale_order_id}
    with pytest.raises(ApiError):
        sim.buyer_complains(store.appid, aftersale.after_sale_order_id)  # nothing was rejected yet
    assert (await channels("aftersale/rejectapply", {**target, "reject_reason_type": 1}))["errcode"] == 0

    complaint_id = sim.buyer_complains(store.appid, aftersale.after_sale_order_id)
    with pytest.raises(ApiError):
        sim.buyer_complains(store.appid, aftersale.after_sale_order_id)  # once
    wire = (await channels("aftersale/getaftersaleorder", target))["after_sale_order"]
    assert wire["complaint_id"] == complaint_id
    sim.close_complaint(store.appid, aftersale.after_sale_order_id)
    await sim.drain(5)

    app, _ = receiver
    pushed = [e for e in app.channels_events(store) if e["Event"] == "channels_ec_complaint_update"]
    assert [p["finder_shop_complaint"]["complaint_status"] for p in pushed] == [100, 116]
    event = decode_channels_event(json.dumps(pushed[0]).encode())
    assert isinstance(event, ComplaintUpdateEvent)
    assert event.finder_shop_complaint.complaint_id == complaint_id
    assert event.after_sale_order_id == aftersale.after_sale_order_id
    assert event.FromUserName != order.openid  # after-sale and dispute events come from the platform


async def test_some_rejected_buyers_complain_by_themselves(
    sim: Simulator, store: SimStore, channels: Channels
) -> None:
    rejected = []
    for _ in range(12):
        order = sim.create_order(store.appid)
        aftersale = sim.open_aftersale(store.appid, order.order_id)
        target = {"after_sale_order_id": aftersale.after_sale_order_id}
        assert (await channels("aftersale/rejectapply", {**target, "reject_reason_type": 1}))["errcode"] == 0
        rejected.append(aftersale)
    await sim.drain(10)
    for aftersale in rejected:
        complains = random.Random(aftersale.after_sale_order_id).random() < COMPLAINT_CHANCE
        assert bool(aftersale.complaint_id) is complains


async def test_a_buyer_disputes_a_rejection_from_the_buyer_page(
    sim: Simulator, store: SimStore, channels: Channels, api: httpx.AsyncClient
) -> None:
    order = sim.create_order(store.appid)
    aftersale = sim.open_aftersale(store.appid, order.order_id)
    target = {"after_sale_order_id": aftersale.after_sale_order_id}
    assert (await channels("aftersale/rejectapply", {**target, "reject_reason_type": 1}))["errcode"] == 0
    params = {"appid": store.appid, "openid": order.openid}
    assert "发起纠纷" in (await api.get("/sim/buyer/orders", params=params)).text
    r = await api.post("/sim/buyer/aftersale/action", data={**params, **target, "action": "complain"})
    assert r.status_code in (302, 303)
    assert aftersale.complaint_id
    page = (await api.get("/sim/buyer/orders", params=params)).text
    assert f"纠纷单 {aftersale.complaint_id}" in page
    assert "发起纠纷" not in page
