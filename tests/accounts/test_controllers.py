"""Logging in and out through the pages: messages, redirects, throttling, CSRF, session rotation."""

from __future__ import annotations

import httpx
import msgspec

from desk.accounts.auth import SESSION_USER_KEY
from desk.accounts.models import Role
from desk.app import SESSION_COOKIE
from tests.conftest import TEST_PASSWORD, app_lifespan, csrf_headers, login
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


async def test_five_failures_then_429_with_a_clear_message_even_for_the_right_password(
    client, make_user
) -> None:
    await make_user("agent1", Role.AGENT)
    for _ in range(5):
        r = await login_with_form(client, "agent1", WRONG)
        assert r.status_code == 400
    r = await login_with_form(client, "agent1", TEST_PASSWORD)
    assert r.status_code == 429
    assert THROTTLED in r.text
    assert 1 <= int(r.headers["retry-after"]) <= 60
    assert SESSION_COOKIE not in client.cookies


async def test_throttling_is_per_address_and_success_elsewhere_does_not_reset_it(app, make_user) -> None:
    await make_user("agent1", Role.AGENT)

    def client_from(ip: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(ip, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    async with app_lifespan(app), client_from("10.0.0.1") as attacker, client_from("10.0.0.2") as colleague:
        for _ in range(5):
            assert (await login_with_form(attacker, "agent1", WRONG)).status_code == 400
        assert (await login_with_form(attacker, "agent1", WRONG)).status_code == 429
        # The real user elsewhere is not locked out, and their success does not help the attacker.
        assert (await login_with_form(colleague, "agent1")).status_code in (302, 303)
        assert (await login_with_form(attacker, "agent1")).status_code == 429


async def test_a_successful_login_clears_its_own_failures(client, make_user) -> None:
    await make_user("agent1", Role.AGENT)
    for _ in range(4):
        await login_with_form(client, "agent1", WRONG)
    assert (await login_with_form(client, "agent1")).status_code in (302, 303)
    client.cookies.delete(SESSION_COOKIE)
    for _ in range(5):
        assert (await login_with_form(client, "agent1", WRONG)).status_code == 400


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
