"""A user changes their own password: the current one required, other sessions ended, this one kept."""

from __future__ import annotations

import pytest

from desk.accounts.models import Role, User
from desk.accounts.tokens import issue_token
from desk.app import SESSION_COOKIE
from tests.conftest import TEST_PASSWORD, app_lifespan, client_for, csrf_headers
from tests.shell.helpers import login_with_form, post_form

NEW = "a brand new passphrase"


def change(current: str = TEST_PASSWORD, new: str = NEW, confirm: str | None = None) -> dict[str, str]:
    return {
        "current_password": current,
        "new_password": new,
        "confirm_password": new if confirm is None else confirm,
    }


@pytest.mark.parametrize("role", list(Role))
async def test_every_role_reaches_the_page_from_the_user_menu(client, make_user, role) -> None:
    await make_user("alice", role)
    await login_with_form(client, "alice")
    home = await client.get("/", follow_redirects=True)
    assert 'href="/account/password"' in home.text
    page = await client.get("/account/password")
    assert page.status_code == 200
    assert "当前密码" in page.text
    assert 'autocomplete="current-password"' in page.text


async def test_the_page_needs_a_login_and_the_form_its_csrf_token(client, make_user) -> None:
    r = await client.get("/account/password", follow_redirects=False)
    assert r.headers["location"] == "/login?next=%2Faccount%2Fpassword"
    await make_user("alice")
    await login_with_form(client, "alice")
    r = await client.post("/account/password", data=change())
    assert r.status_code == 403
    client.cookies.delete(SESSION_COOKIE)
    assert (await login_with_form(client, "alice")).status_code in (302, 303)  # unchanged


async def test_changing_keeps_this_browser_signed_in_and_signs_out_the_others(
    app, runtime, make_user
) -> None:
    alice = await make_user("alice")
    async with runtime.db.session() as session:
        token, _ = await issue_token(session, await session.get_one(User, alice.id), "erp")
    here, elsewhere = client_for(app, "192.0.2.1"), client_for(app, "192.0.2.2")
    async with app_lifespan(app), here, elsewhere:
        for browser in (here, elsewhere):
            await login_with_form(browser, "alice")
        before = here.cookies[SESSION_COOKIE]
        r = await post_form(here, "/account/password", change())
        assert r.status_code in (302, 303)
        page = await here.get(r.headers["location"])
        assert "密码已修改" in page.text
        assert here.cookies[SESSION_COOKIE] != before  # a fresh session id for the new credentials
        assert (await here.get("/inbox")).status_code == 200
        r = await elsewhere.get("/inbox", follow_redirects=False)
        assert r.headers["location"].startswith("/login")
        api = await elsewhere.get("/api/v1/stores", headers={"authorization": f"Bearer {token}"})
        assert api.status_code == 200  # the user knew the old password; nothing says a token leaked
        assert (await login_with_form(elsewhere, "alice")).status_code == 400
        assert (await login_with_form(elsewhere, "alice", NEW)).status_code in (302, 303)


@pytest.mark.parametrize(
    ("form", "field", "text"),
    [
        (change(current="not my password"), "current_password", "当前密码不正确"),
        (change(new="short"), "new_password", "至少需要 10 个字符"),
        (change(confirm="a brand new passphrasf"), "confirm_password", "两次输入的新密码不一致"),
        (change(new=TEST_PASSWORD), "new_password", "不能与当前密码相同"),
    ],
)
async def test_a_refused_change_says_why_next_to_the_field_and_changes_nothing(
    client, make_user, form, field, text
) -> None:
    await make_user("alice")
    await login_with_form(client, "alice")
    r = await post_form(client, "/account/password", form)
    assert r.status_code == 400
    assert f'id="f-{field}-error"' in r.text
    assert text in r.text
    assert NEW not in r.text  # passwords are never echoed
    assert TEST_PASSWORD not in r.text
    assert (await client.get("/inbox")).status_code == 200  # still signed in
    client.cookies.delete(SESSION_COOKIE)
    assert (await login_with_form(client, "alice")).status_code in (302, 303)


async def test_guessing_the_current_password_is_throttled(client, app, clock, make_user) -> None:
    app.state.login_throttle.clock = clock  # the waits run on the test's time, not the machine's
    await make_user("alice")
    await login_with_form(client, "alice")
    # Strangers failing to sign in as alice do not block her form…
    async with client_for(app, "198.51.100.1") as stranger:
        for _ in range(6):
            await login_with_form(stranger, "alice", "guess")
    # …but guessing her current password from her session is slowed like a sign-in.
    answers = [await post_form(client, "/account/password", change(current=f"guess{n}")) for n in range(6)]
    assert [r.status_code for r in answers] == [400] * 6
    assert "当前密码错误次数过多" in answers[-1].text
    assert "当前密码错误次数过多" not in answers[-2].text
    r = await post_form(client, "/account/password", change())
    assert "当前密码错误次数过多" in r.text  # even the right one waits
    assert (await client.get("/inbox", headers=csrf_headers(client))).status_code == 200
