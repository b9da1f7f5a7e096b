"""The connection test on save, and the platform's answers in words."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from desk.i18n import Message
from desk.platform.errors import CredentialError, PlatformBusyError, PlatformUnavailableError
from desk.runtime import Runtime
from desk.simulator import Simulator
from desk.stores.clients import PlatformClients
from desk.stores.connection import ConnectionChecker, describe_failure
from tests.conftest import on_platform

BASE = "https://api.weixin.qq.com"


@pytest.mark.parametrize(
    ("exc", "english"),
    [
        (
            CredentialError(40013, "invalid appid rid: 1"),
            "The platform does not know this AppID (errcode 40013)",
        ),
        (
            CredentialError(40125, "invalid appsecret rid: 1"),
            "The platform refused the secret (errcode 40125)",
        ),
        (
            CredentialError(40001, "invalid credential rid: 1"),
            "The platform refused the secret (errcode 40001)",
        ),
        (
            CredentialError(40164, "invalid ip 1.2.3.4, not in whitelist rid: 1"),
            "not on the IP whitelist (errcode 40164); add it in the backend. The platform said: invalid ip",
        ),
        (CredentialError(45009, "reach max api daily quota limit"), "quota is used up (errcode 45009)"),
        (PlatformBusyError(-1, "system error"), "The platform is busy (errcode -1)"),
        (
            CredentialError(48001, "api unauthorized rid: 1"),
            "refused the request: errcode 48001, api unauthorized",
        ),
        (
            PlatformUnavailableError("cgi-bin/stable_token", "cannot connect: ConnectError"),
            f"Cannot reach the platform at {BASE}: cannot connect: ConnectError. Check the server's network.",
        ),
        (
            PlatformUnavailableError("cgi-bin/stable_token", "HTTP 502", status_code=502),
            "The platform gave no usable answer (HTTP 502).",
        ),
    ],
)
def test_the_platforms_answers_in_words(exc: Exception, english: str) -> None:
    message = describe_failure(exc, base_url=BASE)
    assert english in message.render("en")
    assert message.render("zh-CN") != message.render("en")  # both catalogues say it


def test_a_corps_unknown_id_is_called_a_corp_id() -> None:
    message = describe_failure(CredentialError(40013, "invalid corpid"), base_url=BASE, wecom=True)
    assert message == Message("stores.check.invalid_corpid", {"errcode": 40013, "errmsg": "invalid corpid"})


async def test_a_passed_test_leaves_its_token_for_every_process(
    runtime: Runtime, wechat: Simulator, make_store: Any
) -> None:
    appid = f"wxcheck{secrets.token_hex(5)}"
    on_platform(wechat, appid=appid, secret="the-secret")
    checker = ConnectionChecker(runtime)
    assert await checker.check_store(appid, "wrong", stable_token=True) is not None
    assert await checker.check_store(appid, "the-secret", stable_token=True) is None
    assert wechat.tokens.calls["stable_token", appid] == 1  # the refused try got no token
    store = await make_store(appid=appid, appsecret="the-secret")
    order = wechat.create_order(appid)
    clients = PlatformClients(runtime)
    try:
        await (await clients.channels(store.id)).get_order(order.order_id)
    finally:
        await clients.aclose()
    assert wechat.tokens.calls["stable_token", appid] == 1  # the worker used the tested token
