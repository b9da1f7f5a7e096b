"""Fault controls over HTTP: the JSON API and the overview page's form set what fails, and say what did."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from desk.simulator import SimCorp, SimStore, Simulator
from desk.simulator.fault_controls import FaultSettings, apply_faults, fault_status, form_settings
from tests.simulator.support import PushReceiver, channels_token, wecom_token

CLEAR = {"api_error_percent": 0, "token_calls_fail": False, "drop_next_pushes": 0, "drop_push_percent": 0}


async def set_faults(api: httpx.AsyncClient, **settings: Any) -> dict[str, Any]:
    reply = await api.post("/sim/api/faults", json=settings)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


async def order_get(api: httpx.AsyncClient, token: str, order_id: str) -> httpx.Response:
    return await api.post(
        "/channels/ec/order/get", params={"access_token": token}, json={"order_id": order_id}
    )


async def test_nothing_fails_until_asked(sim: Simulator, api: httpx.AsyncClient) -> None:
    status = (await api.get("/sim/api/faults")).json()
    assert status["api_error_percent"] == 0
    assert status["token_calls_fail"] is False
    assert (status["drop_next_pushes"], status["drop_push_percent"]) == (0, 0)
    assert set(status["injected"].values()) == {0}


async def test_a_share_of_api_calls_fails_as_chosen_and_is_counted(
    sim: Simulator, store: SimStore, api: httpx.AsyncClient
) -> None:
    token = await channels_token(api, store)
    order = sim.create_order(store.appid)

    status = await set_faults(api, api_error_percent=100, api_error_kinds=["busy"])
    assert (status["api_error_percent"], status["api_error_kinds"]) == (100, ["busy"])
    replies = [(await order_get(api, token, order.order_id)).json()["errcode"] for _ in range(5)]
    assert replies == [-1] * 5

    status = await set_faults(api, api_error_percent=0)
    assert (await order_get(api, token, order.order_id)).json()["errcode"] == 0
    assert status["injected"]["busy"] == 5
    assert status["api_calls"] == 1 + 5  # the token call, the failed reads (the last read came after)

    await set_faults(api, api_error_percent=40, api_error_kinds=["http500", "busy"])
    codes = [(await order_get(api, token, order.order_id)).status_code for _ in range(60)]
    status = (await api.get("/sim/api/faults")).json()
    assert 8 <= status["injected"]["http500"] + status["injected"]["busy"] <= 40  # 24 expected
    assert codes.count(500) == status["injected"]["http500"] > 0


async def test_failing_token_calls_cut_the_desk_off_until_turned_off(
    sim: Simulator, store: SimStore, corp: SimCorp, api: httpx.AsyncClient
) -> None:
    token = await channels_token(api, store)
    order = sim.create_order(store.appid)
    assert (await order_get(api, token, order.order_id)).json()["errcode"] == 0

    await set_faults(api, token_calls_fail=True)

    assert (await order_get(api, token, order.order_id)).json()["errcode"] == 42001  # expired at once
    fresh = await api.get(
        "/cgi-bin/token",
        params={"grant_type": "client_credential", "appid": store.appid, "secret": store.secret},
    )
    stable = await api.post(
        "/cgi-bin/stable_token",
        json={"grant_type": "client_credential", "appid": store.appid, "secret": store.secret},
    )
    wecom = await api.get("/cgi-bin/gettoken", params={"corpid": corp.corpid, "corpsecret": corp.secret})
    assert [r.json()["errcode"] for r in (fresh, stable, wecom)] == [-1, -1, -1]
    assert all("access_token" not in r.json() for r in (fresh, stable, wecom))
    assert (await api.get("/sim/api/faults")).json()["injected"]["token"] == 3

    await set_faults(api, token_calls_fail=False)
    token = await channels_token(api, store)
    assert (await order_get(api, token, order.order_id)).json()["errcode"] == 0
    assert await wecom_token(api, corp)


async def test_the_next_pushes_are_lost_without_a_retry(
    sim: Simulator, store: SimStore, api: httpx.AsyncClient, receiver: tuple[PushReceiver, str]
) -> None:
    app, _ = receiver
    status = await set_faults(api, drop_next_pushes=3)
    assert status["drop_next_pushes"] == 3
    for _ in range(3):
        sim.create_order(store.appid)
    await sim.drain(5)

    status = (await api.get("/sim/api/faults")).json()
    pushes = sorted({a.push_id: a for a in sim.push_log}.values(), key=lambda a: a.push_id)
    assert len(pushes) > 3
    assert [p.dropped for p in pushes] == [True] * 3 + [False] * (len(pushes) - 3)
    lost = {p.push_id for p in pushes if p.dropped}
    assert [a.push_id for a in sim.push_log if a.push_id in lost] == sorted(lost)  # never tried again
    assert len(app.received) == len(pushes) - 3
    assert (status["drop_next_pushes"], status["pushes"]["dropped"]) == (0, 3)
    assert status["pushes"]["acked"] == len(pushes) - 3


async def test_a_share_of_pushes_is_lost(
    sim: Simulator, store: SimStore, api: httpx.AsyncClient, receiver: tuple[PushReceiver, str]
) -> None:
    app, _ = receiver
    await set_faults(api, drop_push_percent=50)
    for _ in range(30):
        sim.create_order(store.appid)
    await sim.drain(10)
    total = len({a.push_id for a in sim.push_log})
    status = (await api.get("/sim/api/faults")).json()
    assert 0.3 * total <= status["pushes"]["dropped"] <= 0.7 * total
    assert status["pushes"]["dropped"] + len(app.received) == total

    await set_faults(api, drop_push_percent=0)
    sim.create_order(store.appid)
    await sim.drain(5)
    assert (await api.get("/sim/api/faults")).json()["pushes"]["dropped"] == status["pushes"]["dropped"]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"api_error_percent": 150}, "api_error_percent"),
        ({"api_error_percent": -1}, "api_error_percent"),
        ({"api_error_percent": 10, "api_error_kinds": []}, "api_error_kinds"),
        ({"api_error_kinds": ["meteor"]}, "api_error_kinds"),
        ({"drop_next_pushes": -2}, "drop_next_pushes"),
        ({"drop_push_percent": "a lot"}, "drop_push_percent"),
        ({"token_calls_fail": True, "fail_everything": True}, "fail_everything"),
    ],
)
async def test_bad_settings_are_refused_with_the_reason_and_change_nothing(
    sim: Simulator, api: httpx.AsyncClient, settings: dict[str, Any], message: str
) -> None:
    before = (await api.get("/sim/api/faults")).json()
    reply = await api.post("/sim/api/faults", json=settings)
    assert reply.status_code == 400
    assert message in reply.text
    assert (await api.get("/sim/api/faults")).json() == before


async def test_the_overview_form_sets_every_fault_and_shows_them(
    sim: Simulator, api: httpx.AsyncClient
) -> None:
    page = await api.get("/sim/")
    assert "故障注入" in page.text
    assert "未开启" in page.text

    reply = await api.post(
        "/sim/faults",
        content="api_error_percent=25&api_error_kinds=http500&api_error_kinds=timeout"
        "&token_calls_fail=true&drop_next_pushes=4&drop_push_percent=10",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert reply.status_code in (302, 303)
    assert reply.headers["location"] == "/sim/#faults"
    status = (await api.get("/sim/api/faults")).json()
    assert status | {"injected": None, "pushes": None, "api_calls": None} == {
        "api_error_percent": 25,
        "api_error_kinds": ["http500", "timeout"],
        "token_calls_fail": True,
        "drop_next_pushes": 4,
        "drop_push_percent": 10,
        "injected": None,
        "pushes": None,
        "api_calls": None,
    }
    page = await api.get("/sim/")
    assert "生效中" in page.text
    assert 'value="timeout"\n            checked' in page.text or 'value="timeout" checked' in page.text

    # The form sends every setting: an unticked box turns its fault off.
    await api.post(
        "/sim/faults", data={"api_error_percent": "0", "drop_next_pushes": "0", "drop_push_percent": "0"}
    )
    status = (await api.get("/sim/api/faults")).json()
    assert (status["api_error_percent"], status["token_calls_fail"], status["drop_push_percent"]) == (
        0,
        False,
        0,
    )
    assert status["api_error_kinds"] == ["http500", "timeout"]  # kept for next time


async def test_a_bad_form_is_shown_again_as_typed_with_its_error(
    sim: Simulator, api: httpx.AsyncClient
) -> None:
    reply = await api.post(
        "/sim/faults",
        data={
            "api_error_percent": "30",
            "token_calls_fail": "true",
            "drop_next_pushes": "7",
            "drop_push_percent": "0",
        },
    )
    assert reply.status_code == 400
    card = reply.text.split('id="faults"')[1].split("</form>")[0]
    assert 'role="alert">选择至少一种 API 故障类型（api_error_kinds）' in card
    assert 'value="30"' in card
    assert 'value="7"' in card
    assert "checked" in card.split('name="token_calls_fail"')[1].split(">")[0]
    status = (await api.get("/sim/api/faults")).json()
    assert (status["api_error_percent"], status["token_calls_fail"], status["drop_next_pushes"]) == (
        0,
        False,
        0,
    )

    reply = await api.post("/sim/faults", data={"api_error_percent": "lots", "api_error_kinds": "busy"})
    assert reply.status_code == 400
    assert "api_error_percent" in reply.text
    assert 'value="lots"' in reply.text


async def test_one_button_turns_everything_off(
    sim: Simulator, store: SimStore, api: httpx.AsyncClient
) -> None:
    await set_faults(
        api,
        api_error_percent=50,
        api_error_kinds=["busy"],
        token_calls_fail=True,
        drop_next_pushes=9,
        drop_push_percent=5,
    )
    reply = await api.post("/sim/faults/clear")
    assert reply.status_code in (302, 303)
    status = (await api.get("/sim/api/faults")).json()
    assert {k: status[k] for k in CLEAR} == CLEAR
    assert "未开启" in (await api.get("/sim/")).text
    assert await channels_token(api, store)


FORM_FIELDS = (
    "api_error_percent",
    "api_error_kinds",
    "token_calls_fail",
    "drop_next_pushes",
    "drop_push_percent",
    "something_else",
)


@given(st.lists(st.tuples(st.sampled_from(FORM_FIELDS), st.text(max_size=12)), max_size=8))
def test_any_form_reads_as_settings_or_a_clear_error(fields: list[tuple[str, str]]) -> None:
    try:
        settings = form_settings(fields)
    except ValueError as exc:
        error = str(exc)
    else:
        error = ""
    if error:
        assert error.startswith("故障设置无效：")
        return
    assert settings.token_calls_fail == any(key == "token_calls_fail" for key, _ in fields)
    assert settings.api_error_kinds == [value for key, value in fields if key == "api_error_kinds"]
    percent = settings.api_error_percent
    assert percent is None or 0 <= percent <= 100


@pytest.mark.parametrize(
    "settings",
    [
        FaultSettings(drop_push_percent=250),
        FaultSettings(drop_next_pushes=-1, token_calls_fail=True),
        FaultSettings(api_error_percent=500, drop_next_pushes=3),
    ],
)
def test_settings_made_in_python_are_checked_before_anything_changes(settings: FaultSettings) -> None:
    sim = Simulator(seed=1, time_scale=0.0)
    before = fault_status(sim)
    with pytest.raises(ValueError, match=r"drop_push_percent|drop_next_pushes|error_rate"):
        apply_faults(sim, settings)
    assert fault_status(sim) == before
