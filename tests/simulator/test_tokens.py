"""Access tokens over HTTP: issuing, the errcodes of spec §1, expiry and rotation."""

from __future__ import annotations

import httpx

from desk.simulator import ManualClock, SimCorp, SimStore
from tests.simulator.support import channels_token, wecom_token


async def order_list_errcode(api: httpx.AsyncClient, token: str | None) -> int:
    params = {"access_token": token} if token is not None else {}
    body = {"create_time_range": {"start_time": 0, "end_time": 3600}}
    reply = await api.post("/channels/ec/order/list/get", params=params, json=body)
    return int(reply.json()["errcode"])


async def test_token_is_long_and_lasts_two_hours(api: httpx.AsyncClient, store: SimStore) -> None:
    reply = await api.get(
        "/cgi-bin/token",
        params={"grant_type": "client_credential", "appid": store.appid, "secret": store.secret},
    )
    body = reply.json()
    assert body["errcode"] == 0
    assert body["errmsg"].startswith("ok rid: ")
    assert len(body["access_token"]) >= 512
    assert body["expires_in"] == 7200


async def test_wrong_appid_and_wrong_secret_are_refused(api: httpx.AsyncClient, store: SimStore) -> None:
    base = {"grant_type": "client_credential"}
    wrong_appid = await api.get("/cgi-bin/token", params={**base, "appid": "wx0000", "secret": store.secret})
    wrong_secret = await api.get("/cgi-bin/token", params={**base, "appid": store.appid, "secret": "nope"})
    assert wrong_appid.json()["errcode"] == 40013
    assert wrong_secret.json()["errcode"] == 40001
    assert " rid: " in wrong_secret.json()["errmsg"]


async def test_missing_unknown_and_expired_tokens(
    api: httpx.AsyncClient, store: SimStore, clock: ManualClock
) -> None:
    token = await channels_token(api, store)
    assert await order_list_errcode(api, token) == 0
    assert await order_list_errcode(api, None) == 41001
    assert await order_list_errcode(api, "not-a-token") == 40014
    clock.advance(7200)
    assert await order_list_errcode(api, token) == 42001


async def test_a_new_token_retires_the_old_one_after_an_overlap(
    api: httpx.AsyncClient, store: SimStore, clock: ManualClock
) -> None:
    first = await channels_token(api, store)
    second = await channels_token(api, store)
    assert first != second
    clock.advance(60)
    assert await order_list_errcode(api, first) == 0  # still inside the overlap
    clock.advance(300)
    assert await order_list_errcode(api, first) == 40001
    assert await order_list_errcode(api, second) == 0


async def test_stable_token_is_reused_until_forced(api: httpx.AsyncClient, store: SimStore) -> None:
    body = {"grant_type": "client_credential", "appid": store.appid, "secret": store.secret}
    first = (await api.post("/cgi-bin/stable_token", json=body)).json()["access_token"]
    again = (await api.post("/cgi-bin/stable_token", json=body)).json()["access_token"]
    forced = (await api.post("/cgi-bin/stable_token", json={**body, "force_refresh": True})).json()[
        "access_token"
    ]
    assert first == again != forced
    assert await order_list_errcode(api, forced) == 0


async def test_wecom_token_is_stable_and_only_for_wecom(api: httpx.AsyncClient, corp: SimCorp) -> None:
    token = await wecom_token(api, corp)
    assert await wecom_token(api, corp) == token
    assert await order_list_errcode(api, token) == 40014
    bad = await api.get("/cgi-bin/gettoken", params={"corpid": corp.corpid, "corpsecret": "nope"})
    unknown = await api.get("/cgi-bin/gettoken", params={"corpid": "ww0", "corpsecret": corp.secret})
    assert (bad.json()["errcode"], unknown.json()["errcode"]) == (40001, 40013)
