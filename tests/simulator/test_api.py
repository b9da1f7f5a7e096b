"""Whatever a client sends, the simulated platform answers with its JSON envelope, never a crash."""

from __future__ import annotations

import asyncio
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from desk.simulator import Simulator, demo_corp, demo_store
from desk.simulator.api import answer_call
from desk.simulator.app import CGI_BIN_ENDPOINTS
from desk.simulator.channels_api import CHANNELS_ENDPOINTS

SIM = Simulator(seed=1, time_scale=0.0)
STORE = SIM.add_store(demo_store(1))
CORP = SIM.add_corp(demo_corp(1))
ORDER = SIM.create_order(STORE.appid)
CHANNELS_TOKEN = SIM.tokens.channels_token(STORE.appid)
WECOM_TOKEN = SIM.tokens.wecom_token(CORP.corpid)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(
    [
        "order_id",
        "after_sale_order_id",
        "next_key",
        "page_size",
        "cursor",
        "limit",
        "token",
        "open_kfid",
        "address_id",
        "accept_type",
        "reject_reason_type",
        "create_time_range",
        "request_id",
        "open_id",
        "msg_type",
    ]
)
bodies = st.one_of(
    st.binary(max_size=60),
    st.dictionaries(field_names, json_values, max_size=5).map(lambda d: json.dumps(d).encode()),
)


def call(table: str, path: str, body: bytes) -> tuple[int, dict[str, object]]:
    endpoints = CHANNELS_ENDPOINTS if table == "channels" else CGI_BIN_ENDPOINTS
    token = CHANNELS_TOKEN if table == "channels" else WECOM_TOKEN
    method = next(iter(endpoints[path].methods))
    answer = asyncio.run(
        answer_call(SIM.api, endpoints, path=path, method=method, query={"access_token": token}, body=body)
    )
    return answer.status_code, json.loads(answer.body)


@settings(max_examples=150, deadline=None)
@given(path=st.sampled_from(sorted(CHANNELS_ENDPOINTS)), body=bodies)
def test_channels_endpoints_answer_any_body(path: str, body: bytes) -> None:
    status, reply = call("channels", path, body)
    assert status == 200
    assert isinstance(reply["errcode"], int)
    assert " rid: " in str(reply["errmsg"])


@settings(max_examples=150, deadline=None)
@given(
    path=st.sampled_from(sorted(p for p in CGI_BIN_ENDPOINTS if p not in ("token", "gettoken"))), body=bodies
)
def test_wecom_endpoints_answer_any_body(path: str, body: bytes) -> None:
    status, reply = call("wecom", path, body)
    assert status == 200
    assert isinstance(reply["errcode"], int)


@settings(max_examples=100, deadline=None)
@given(cursor=st.text(max_size=40))
def test_any_cursor_is_read_or_refused(cursor: str) -> None:
    _, reply = call("wecom", "kf/sync_msg", json.dumps({"cursor": cursor}).encode())
    assert reply["errcode"] in (0, 40097)
