"""Cookies are ``Secure`` when the request came over https, directly or through a trusted proxy."""

from __future__ import annotations

from typing import Any

import httpx

from desk.accounts.models import Role
from tests.conftest import TEST_PASSWORD, app_lifespan, client_for

PROXY = "10.1.2.3"


def secure_flags(response: httpx.Response) -> dict[str, int]:
    """Each cookie the response sets, with how many times ``Secure`` is among its attributes."""
    flags = {}
    for header in response.headers.get_list("set-cookie"):
        name = header.split("=", 1)[0]
        flags[name] = sum(part.strip().lower() == "secure" for part in header.split(";")[1:])
    return flags


async def sign_in(c: httpx.AsyncClient, headers: dict[str, str]) -> tuple[httpx.Response, httpx.Response]:
    page = await c.get("/login", headers=headers)
    csrf = page.cookies["desk_csrf"]
    form = {"username": "alice", "password": TEST_PASSWORD, "_csrf_token": csrf}
    # Sent by hand: the browser is on https, but this client talks plain http to the app (as the
    # proxy does), and would rightly keep a Secure cookie to itself.
    return page, await c.post("/login", data=form, headers={**headers, "cookie": f"desk_csrf={csrf}"})


async def test_https_through_a_trusted_proxy_gets_secure_cookies(make_app: Any, make_user) -> None:
    await make_user("alice", Role.AGENT)
    app = make_app(trusted_proxies=PROXY)
    async with app_lifespan(app), client_for(app, PROXY) as c:
        page, signed_in = await sign_in(c, {"x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.7"})
    assert secure_flags(page) == {"desk_csrf": 1}
    cookies = secure_flags(signed_in)
    assert signed_in.status_code in (302, 303)
    assert cookies.pop("desk_session") == 1
    ((device_cookie, flag),) = cookies.items()
    assert device_cookie.startswith("desk_device_")
    assert flag == 1


async def test_a_claimed_https_from_anyone_else_changes_nothing(make_app: Any, make_user) -> None:
    await make_user("alice", Role.AGENT)
    app = make_app(trusted_proxies=PROXY)
    async with app_lifespan(app), client_for(app, "198.51.100.20") as c:
        page, signed_in = await sign_in(c, {"x-forwarded-proto": "https"})
    assert signed_in.status_code in (302, 303)
    assert set(secure_flags(page).values()) == set(secure_flags(signed_in).values()) == {0}


async def test_direct_https_gets_secure_cookies_and_plain_http_does_not(make_app: Any, make_user) -> None:
    await make_user("alice", Role.AGENT)
    app = make_app()
    async with app_lifespan(app), client_for(app, base_url="https://testserver") as c:
        _, signed_in = await sign_in(c, {})
    assert set(secure_flags(signed_in).values()) == {1}
    async with app_lifespan(app), client_for(app) as c:
        _, signed_in = await sign_in(c, {})
    assert set(secure_flags(signed_in).values()) == {0}


async def test_desk_cookie_secure_marks_every_cookie_once(make_app: Any, make_user) -> None:
    await make_user("alice", Role.AGENT)
    app = make_app(cookie_secure=True)
    for base_url in ("http://testserver", "https://testserver"):
        async with app_lifespan(app), client_for(app, base_url=base_url) as c:
            page, signed_in = await sign_in(c, {})
        assert set(secure_flags(page).values()) == {1}
        assert set(secure_flags(signed_in).values()) == {1}, base_url
