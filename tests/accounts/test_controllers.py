"""Logging in and out through the pages: messages, redirects, throttling, CSRF, session rotation."""

from __future__ import annotations

import asyncio

import httpx
import msgspec
import pytest

from desk.accounts.auth import SESSION_USER_KEY
from desk.accounts.models import Role
from desk.app import SESSION_COOKIE
from tests.conftest import TEST_PASSWORD, app_lifespan, client_for, csrf_headers, login
from tests.shell.helpers import login_with_form, post_form

WRONG = "not the password"
INVALID = "用户名或密码错误"
THROTTLED = "登录失败次数过多"


async def test_login_form_logs_in_and_sends_the_user_to_their_start_page(client, make_user) -> None:
    await make_user("agent1", Role.AGENT)
    r = await login_with_form(client, "agent1")
    assert r.status_code in (302, 303)
    assert r.headers["location"] == "/"
    r = await client.get("/", follow_redirects=True)
    assert r.url.path == "/inbox"
    assert "agent1" in r.text


async def test_login_keeps_next_and_refuses_off_site_targets(client, make_user) -> None:
    await make_user("agent1", Role.AGENT)
    r = await client.get("/stores", follow_redirects=False)
    assert r.headers["location"] == "/login?next=%2Fstores"
    page = await client.get(r.headers["location"])
    assert 'name="next" value="/stores"' in page.text
    r = await login_with_form(client, "agent1", next_path="/stores")
    assert r.headers["location"] == "/stores"
    for evil in ("//evil.example/x", "/\\evil.example", "https://evil.example/", "/login?next=/login"):
        r = await login_with_form(client, "agent1", next_path=evil)
        assert r.headers["location"] == "/", evil


async def test_usernames_are_case_insensitive_at_login(client, make_user) -> None:
    await make_user("agent1", Role.AGENT)
    r = await login_with_form(client, "  Agent1 ")
    assert r.status_code in (302, 303)


async def test_unknown_user_and_wrong_password_get_the_same_answer(client, make_user) -> None:
    await make_user("agent1", Role.AGENT)
    wrong = await login_with_form(client, "agent1", WRONG)
    unknown = await login_with_form(client, "nobody", WRONG)
    assert wrong.status_code == unknown.status_code == 400
    assert INVALID in wrong.text
    assert wrong.text.replace("agent1", "nobody") == unknown.text.replace("agent1", "nobody")
    assert SESSION_COOKIE not in client.cookies


async def test_deactivated_users_cannot_log_in_and_get_the_same_message(client, runtime, make_user) -> None:
    user = await make_user("agent1", Role.AGENT)
    async with runtime.db.session() as session:
        (await session.get_one(type(user), user.id)).is_active = False
    r = await login_with_form(client, "agent1")
    assert r.status_code == 400
    assert INVALID in r.text


async def test_failed_login_keeps_the_username_but_never_the_password(client, make_user) -> None:
    await make_user("agent1", Role.AGENT)
    r = await login_with_form(client, "agent1", "secret-typed-wrong")
    assert 'value="agent1"' in r.text
    assert "secret-typed-wrong" not in r.text


async def test_logged_in_users_are_sent_on_from_the_login_page(client, app, make_user) -> None:
    await login(client, app, await make_user("agent1", Role.AGENT))
    r = await client.get("/login?next=/stores", follow_redirects=False)
    assert r.status_code in (302, 303)
    assert r.headers["location"] == "/stores"
    r = await client.get("/login?next=%2Flogin", follow_redirects=False)
    assert r.headers["location"] == "/"


# -- throttling (desk.accounts.throttle): HTTP-level, as an attacker and a user meet it --------------

PROXY = "10.1.2.3"  # docker-compose's nginx, as DESK_TRUSTED_PROXIES names it


@pytest.fixture
def behind_proxy(make_app, clock):
    """The app as docker-compose runs it: every visitor arrives from the proxy, which appends the
    address it saw to X-Forwarded-For. Its throttle runs on the test's clock."""
    app = make_app(trusted_proxies=PROXY, login_address_free_failures=8)
    app.state.login_throttle.clock = clock
    return app


def from_address(address: str) -> dict[str, str]:
    return {"x-forwarded-for": address}


async def try_login(client, username, password=TEST_PASSWORD, address="203.0.113.1") -> httpx.Response:
    if "desk_csrf" not in client.cookies:
        await client.get("/login")
    data = {"username": username, "password": password, "next": "/"}
    return await client.post("/login", data=data, headers={**csrf_headers(client), **from_address(address)})


async def test_failures_elsewhere_do_not_keep_a_user_out_of_their_usual_browser(
    behind_proxy, make_user
) -> None:
    # Issue #6: five bad passwords for agent1, then the right one, answered 429 — from anywhere
    # behind the shared proxy. Now the browser agent1 works in is not slowed at all.
    await make_user("agent1", Role.AGENT)
    async with (
        app_lifespan(behind_proxy),
        client_for(behind_proxy, PROXY) as usual,
        client_for(behind_proxy, PROXY) as attacker,
    ):
        assert (await try_login(usual, "agent1")).status_code in (302, 303)
        await usual.post("/logout", headers=csrf_headers(usual))
        for _ in range(5):
            assert (await try_login(attacker, "agent1", WRONG, address="198.51.100.66")).status_code == 400
        assert (await try_login(attacker, "agent1", address="198.51.100.66")).status_code == 429
        # Same shared address as the attacker, even: the known browser gets in.
        assert (await try_login(usual, "agent1", address="198.51.100.66")).status_code in (302, 303)


async def test_a_new_browser_is_slowed_not_locked_out(behind_proxy, clock, make_user) -> None:
    await make_user("agent1", Role.AGENT)
    async with app_lifespan(behind_proxy), client_for(behind_proxy, PROXY) as c:
        for _ in range(5):
            assert (await try_login(c, "agent1", WRONG)).status_code == 400
        r = await try_login(c, "agent1")
        assert r.status_code == 429
        assert THROTTLED in r.text
        assert r.headers["retry-after"] == "1"
        assert SESSION_COOKIE not in c.cookies
        clock.advance(1)
        assert (await try_login(c, "agent1", WRONG)).status_code == 400
        assert (await try_login(c, "agent1")).headers["retry-after"] == "2"  # doubled
        clock.advance(2)
        assert (await try_login(c, "agent1")).status_code in (302, 303)


async def test_rotating_addresses_does_not_buy_more_guesses_at_an_account(behind_proxy, make_user) -> None:
    await make_user("agent1", Role.AGENT)
    async with app_lifespan(behind_proxy), client_for(behind_proxy, PROXY) as c:
        for n in range(5):
            assert (await try_login(c, "agent1", WRONG, address=f"198.51.100.{n}")).status_code == 400
        assert (await try_login(c, "agent1", address="192.0.2.200")).status_code == 429


async def test_one_address_spraying_many_accounts_is_slowed(behind_proxy, make_user) -> None:
    async with app_lifespan(behind_proxy), client_for(behind_proxy, PROXY) as c:
        for n in range(8):
            assert (await try_login(c, f"user{n}", WRONG, address="198.51.100.9")).status_code == 400
        assert (await try_login(c, "user99", WRONG, address="198.51.100.9")).status_code == 429
        assert (await try_login(c, "user99", WRONG, address="198.51.100.10")).status_code == 400


async def test_forwarded_addresses_count_only_from_the_trusted_proxy(make_app, clock) -> None:
    direct = make_app(login_address_free_failures=3)  # no trusted proxies
    proxied = make_app(login_address_free_failures=3, trusted_proxies=PROXY)
    for app in (direct, proxied):
        app.state.login_throttle.clock = clock

    async def spray(app, peer: str, forwarded: list[str]) -> list[int]:
        async with app_lifespan(app), client_for(app, peer) as c:
            return [
                (await try_login(c, f"u{peer}-{n}", WRONG, address=f)).status_code
                for n, f in enumerate(forwarded)
            ]

    rotating = [f"192.0.2.{n}" for n in range(4)]
    # Straight at the app, rotating X-Forwarded-For: all one address, the one connecting.
    assert await spray(direct, "198.51.100.9", rotating) == [400, 400, 400, 429]
    # Through the proxy, a forged left part is ignored: nginx appends the real address.
    assert await spray(proxied, PROXY, [f"{r}, 198.51.100.10" for r in rotating]) == [400, 400, 400, 429]
    # A peer that is not the proxy is not believed by the proxied app either…
    assert await spray(proxied, "198.51.100.50", rotating) == [400, 400, 400, 429]
    # …while through the proxy, four visitors are four addresses.
    assert await spray(proxied, PROXY, rotating) == [400, 400, 400, 400]


async def test_fifty_parallel_guesses_at_one_account_check_exactly_five_passwords(
    behind_proxy, make_user
) -> None:
    await make_user("agent1", Role.AGENT)
    async with app_lifespan(behind_proxy), client_for(behind_proxy, PROXY) as c:
        await c.get("/login")
        answers = await asyncio.gather(
            *(try_login(c, "agent1", WRONG, address=f"198.51.{n}.{n}") for n in range(50))
        )
    codes = sorted(r.status_code for r in answers)
    assert codes == [400] * 5 + [429] * 45
    assert all(r.headers["retry-after"] == "1" for r in answers if r.status_code == 429)


async def test_fifty_parallel_guesses_from_one_address_check_exactly_its_allowance(behind_proxy) -> None:
    async with app_lifespan(behind_proxy), client_for(behind_proxy, PROXY) as c:
        await c.get("/login")
        answers = await asyncio.gather(
            *(try_login(c, f"user{n}", WRONG, address="198.51.100.9") for n in range(50))
        )
    assert sorted(r.status_code for r in answers) == [400] * 8 + [429] * 42


async def test_a_known_browser_is_known_for_its_own_user_only(behind_proxy, make_user) -> None:
    await make_user("agent1", Role.AGENT)
    await make_user("agent2", Role.AGENT)
    async with app_lifespan(behind_proxy), client_for(behind_proxy, PROXY) as c:
        r = await try_login(c, "agent1")
        (device,) = [h for h in r.headers.get_list("set-cookie") if h.startswith("desk_device_")]
        attributes = {part.strip().lower() for part in device.split(";")[1:]}
        assert {"httponly", "path=/login", "samesite=lax", f"max-age={180 * 24 * 3600}"} <= attributes
        await c.post("/logout", headers=csrf_headers(c))
        for _ in range(5):
            await try_login(c, "agent2", WRONG, address="198.51.100.1")
        assert (await try_login(c, "agent2")).status_code == 429
        # A cookie copied under agent2's name does not pass for agent2's, nor does a forged one.
        value = device.split(";")[0].partition("=")[2]
        other = behind_proxy.state.known_devices.cookie_name("agent2")
        for forged in (value, "x.y", value.split(".")[0] + ".0"):
            c.cookies.set(other, forged, domain="testserver.local", path="/login")
            assert (await try_login(c, "agent2")).status_code == 429


async def test_a_successful_login_forgives_the_accounts_failures(behind_proxy, make_user) -> None:
    await make_user("agent1", Role.AGENT)
    async with app_lifespan(behind_proxy), client_for(behind_proxy, PROXY) as c:
        for n in range(4):
            await try_login(c, "agent1", WRONG, address=f"198.51.100.{n}")
        assert (await try_login(c, "agent1")).status_code in (302, 303)
    async with app_lifespan(behind_proxy), client_for(behind_proxy, PROXY) as stranger:
        for n in range(5):
            assert (await try_login(stranger, "agent1", WRONG, address=f"192.0.2.{n}")).status_code == 400


async def test_login_issues_a_new_session_id_so_a_planted_one_is_useless(
    client, app, runtime, make_user
) -> None:
    await make_user("agent1", Role.AGENT)
    planted = "a" * 64
    await runtime.kv("sessions").set(planted, msgspec.json.encode({}))
    client.cookies.set(SESSION_COOKIE, planted, domain="testserver.local")
    r = await login_with_form(client, "agent1")
    assert r.status_code in (302, 303)
    fresh = client.cookies.get(SESSION_COOKIE)
    assert fresh
    assert fresh != planted
    assert await runtime.kv("sessions").get(planted) is None
    stored = msgspec.json.decode(await runtime.kv("sessions").get(fresh))
    assert SESSION_USER_KEY in stored
    # Whoever planted the old id is still logged out.
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as other:
        other.cookies.set(SESSION_COOKIE, planted)
        r = await other.get("/inbox", follow_redirects=False)
        assert r.headers["location"].startswith("/login")


async def test_anonymous_pages_create_no_session(client, runtime) -> None:
    r = await client.get("/login")
    assert r.status_code == 200
    assert SESSION_COOKIE not in r.cookies


async def test_logout_needs_the_csrf_token_and_ends_the_session(client, app, runtime, make_user) -> None:
    await login(client, app, await make_user("agent1", Role.AGENT))
    await client.get("/inbox")
    (session_id,) = {c.value for c in client.cookies.jar if c.name == SESSION_COOKIE}
    refused = await client.post("/logout", follow_redirects=False)
    assert refused.status_code == 403
    assert "页面已过期" in refused.text
    assert (await client.get("/inbox")).status_code == 200
    r = await client.post("/logout", headers=csrf_headers(client), follow_redirects=False)
    assert r.headers["location"] == "/login"
    assert await runtime.kv("sessions").get(session_id) is None
    r = await client.get("/inbox", follow_redirects=False)
    assert r.headers["location"].startswith("/login")


async def test_logout_expires_the_cookie_in_the_browser(client, make_user) -> None:
    await make_user("agent1", Role.AGENT)
    await login_with_form(client, "agent1")
    assert SESSION_COOKIE in client.cookies
    r = await client.post("/logout", headers=csrf_headers(client), follow_redirects=False)
    (expiry,) = [h for h in r.headers.get_list("set-cookie") if h.startswith(f"{SESSION_COOKIE}=")]
    attributes = {part.strip().lower() for part in expiry.split(";")[1:]}
    assert "max-age=0" in attributes
    assert not any(a.startswith("max-age=") and a != "max-age=0" for a in attributes)
    assert SESSION_COOKIE not in client.cookies
    # The known-device cookie stays: it is about the browser, not the session.
    assert any(c.name.startswith("desk_device_") for c in client.cookies.jar)


async def test_the_csrf_token_may_come_as_a_form_field(client, app, make_user) -> None:
    await login(client, app, await make_user("agent1", Role.AGENT))
    await client.get("/inbox")
    r = await client.post(
        "/logout", data={"_csrf_token": client.cookies["desk_csrf"]}, follow_redirects=False
    )
    assert r.headers["location"] == "/login"


async def test_a_forged_csrf_token_is_refused(client, app, make_user) -> None:
    await login(client, app, await make_user("agent1", Role.AGENT))
    await client.get("/inbox")
    r = await client.post("/logout", headers={"x-csrftoken": "0" * 128}, follow_redirects=False)
    assert r.status_code == 403
    assert (await post_form(client, "/logout", {})).status_code in (302, 303)
