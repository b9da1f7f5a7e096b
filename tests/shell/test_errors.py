"""Errors as users meet them: pages for browsers, JSON for the API, never a traceback."""

from __future__ import annotations

from desk.accounts.models import Role
from desk.errors import Invalid
from desk.i18n import Message
from tests.conftest import login


async def test_browsers_without_a_session_are_sent_to_the_login_page(client) -> None:
    r = await client.get("/settings/stores?x=1", follow_redirects=False)
    assert r.status_code in (302, 303)
    assert r.headers["location"] == "/login?next=%2Fsettings%2Fstores%3Fx%3D1"


async def test_htmx_requests_without_a_session_get_a_full_page_redirect(client) -> None:
    r = await client.get("/inbox", headers={"hx-request": "true"})
    assert r.status_code == 401
    assert r.headers["hx-redirect"].startswith("/login")


async def test_unknown_pages_are_a_friendly_404_page_that_keeps_the_navigation(
    client, app, make_user
) -> None:
    await login(client, app, await make_user("alice", Role.AGENT))
    for path in ("/no/such/page", "/inbox/nothing/here", "/stores/999999"):
        r = await client.get(path)
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("text/html")
        assert "页面不存在" in r.text
        assert '<nav class="nav" aria-label="主导航">' in r.text
        assert 'href="/inbox"' in r.text  # the agent's own navigation…
        assert 'href="/settings"' not in r.text  # …and only theirs
        assert "alice" in r.text  # who is signed in, and the way out


async def test_unknown_pages_ask_visitors_to_sign_in_first(client) -> None:
    r = await client.get("/no/such/page")
    assert r.status_code in (302, 303)
    assert r.headers["location"] == "/login?next=%2Fno%2Fsuch%2Fpage"


async def test_malformed_form_posts_are_a_400_page_not_a_traceback(client, app, make_user) -> None:
    await login(client, app, await make_user("root", Role.ADMIN))
    await client.get("/settings")
    r = await client.post(
        "/settings/users",
        content="username=a&username=b",
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "x-csrftoken": client.cookies["desk_csrf"],
        },
    )
    assert r.status_code == 400
    assert "请求无效" in r.text
    assert "Traceback" not in r.text


async def test_api_errors_are_json(client) -> None:
    r = await client.get("/api/v1/stores/1")
    assert r.status_code == 401
    assert r.json() == {"status_code": 401, "detail": r.json()["detail"]}


def test_invalid_names_each_field_on_one_line() -> None:
    invalid = Invalid({"aes_key": Message("stores.error.aes_key_shape"), "name": Message("form.required")})
    line = invalid.one_line({"aes_key": "--aes-key"})
    assert (
        line
        == "--aes-key: The EncodingAESKey is 43 base64 characters (letters, digits, + or /).; name: Required."
    )
    assert "\n" not in invalid.one_line(language="zh-CN")
