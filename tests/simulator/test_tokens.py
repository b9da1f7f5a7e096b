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
    assert wrong_secret.json()["errcode"] == 40125
    assert wrong_secret.json()["errmsg"].startswith("invalid appsecret rid: ")
    stable = {"grant_type": "client_credential", "appid": store.appid, "secret": "nope"}
    assert (await api.post("/cgi-bin/stable_token", json=stable)).json()["errcode"] == 40125


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


async def stable_token(api: httpx.AsyncClient, store: SimStore, *, force: bool = False) -> tuple[str, int]:
    body = {"grant_type": "client_credential", "appid": store.appid, "secret": store.secret}
    reply = (await api.post("/cgi-bin/stable_token", json={**body, "force_refresh": force})).json()
    assert reply["errcode"] == 0, reply
    return reply["access_token"], reply["expires_in"]


async def test_stable_token_is_reused_with_its_remaining_life(
    api: httpx.AsyncClient, store: SimStore, clock: ManualClock
) -> None:
    first, expires_in = await stable_token(api, store)
    assert expires_in == 7200
    clock.advance(1000)
    assert await stable_token(api, store) == (first, 6200)
    # A /cgi-bin/token call does not touch the stable token (the two are kept apart).
    await channels_token(api, store)
    clock.advance(400)
    assert await order_list_errcode(api, first) == 0


async def test_stable_token_is_renewed_in_its_last_five_minutes_and_the_old_one_still_works(
    api: httpx.AsyncClient, store: SimStore, clock: ManualClock
) -> None:
    first, _ = await stable_token(api, store)
    clock.advance(7200 - 300 + 1)
    renewed, expires_in = await stable_token(api, store)
    assert (renewed != first, expires_in) == (True, 7200)
    assert await order_list_errcode(api, first) == 0
    assert await stable_token(api, store) == (renewed, 7200)
    clock.advance(300)
    assert await order_list_errcode(api, first) == 42001
    assert await order_list_errcode(api, renewed) == 0


async def test_forcing_retires_the_stable_token_at_once_but_not_twice_within_30_seconds(
    api: httpx.AsyncClient, store: SimStore, clock: ManualClock
) -> None:
    first, _ = await stable_token(api, store)
    forced, _ = await stable_token(api, store, force=True)
    assert forced != first
    assert await order_list_errcode(api, first) == 40001
    assert await order_list_errcode(api, forced) == 0
    clock.advance(10)
    assert await stable_token(api, store, force=True) == (forced, 7190)
    for _ in range(19):
        clock.advance(31)
        await stable_token(api, store, force=True)
    clock.advance(31)
    body = {
        "grant_type": "client_credential",
        "appid": store.appid,
        "secret": store.secret,
        "force_refresh": True,
    }
    assert (await api.post("/cgi-bin/stable_token", json=body)).json()["errcode"] == 45009
    assert (await stable_token(api, store))[0]  # normal mode still answers


async def test_wecom_token_is_stable_and_only_for_wecom(api: httpx.AsyncClient, corp: SimCorp) -> None:
    token = await wecom_token(api, corp)
    assert await wecom_token(api, corp) == token
    assert await order_list_errcode(api, token) == 40014
    bad = await api.get("/cgi-bin/gettoken", params={"corpid": corp.corpid, "corpsecret": "nope"})
    unknown = await api.get("/cgi-bin/gettoken", params={"corpid": "ww0", "corpsecret": corp.secret})
    assert (bad.json()["errcode"], unknown.json()["errcode"]) == (40001, 40013)
