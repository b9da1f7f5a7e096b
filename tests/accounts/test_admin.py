"""Settings → users, as an admin uses it in the browser."""

from __future__ import annotations

import httpx
import sqlalchemy as sa

from desk.accounts.models import Role, User
from desk.accounts.tokens import issue_token
from tests.conftest import TEST_PASSWORD, client_for, login
from tests.shell.helpers import login_with_form, post_form

NEW_PASSWORD = "a long new password"


async def as_admin(client, app, make_user) -> User:
    admin = await make_user("root", Role.ADMIN)
    await login(client, app, admin)
    return admin


async def user_named(runtime, username: str) -> User | None:
    async with runtime.db.session() as session:
        return await session.scalar(sa.select(User).where(User.username == username))


async def test_only_admins_reach_the_users_pages(client, app, make_user) -> None:
    await login(client, app, await make_user("boss", Role.MANAGER))
    for path in ("/settings/users", "/settings/users/new"):
        r = await client.get(path)
        assert r.status_code == 403
        assert "没有访问此页面的权限" in r.text
    r = await post_form(
        client, "/settings/users", {"username": "mallory", "role": "admin", "password": "x" * 20}
    )
    assert r.status_code == 403


async def test_admin_creates_an_agent_who_can_then_log_in(
    client, app, runtime, make_user, make_store
) -> None:
    await as_admin(client, app, make_user)
    store = await make_store("旗舰店")
    page = await client.get("/settings/users/new")
    assert "旗舰店" in page.text
    r = await post_form(
        client,
        "/settings/users",
        {
            "username": "xiaowang",
            "display_name": "小王",
            "role": "agent",
            "stores": str(store.id),
            "password": TEST_PASSWORD,
        },
    )
    assert r.status_code in (302, 303)
    listing = await client.get(r.headers["location"])
    assert "用户已创建" in listing.text
    assert "xiaowang" in listing.text
    assert "旗舰店" in listing.text
    client.cookies.clear()
    assert (await login_with_form(client, "xiaowang")).status_code in (302, 303)


async def test_a_bad_new_user_form_shows_errors_per_field_and_saves_nothing(
    client, app, runtime, make_user
) -> None:
    await as_admin(client, app, make_user)
    r = await post_form(
        client,
        "/settings/users",
        {"username": "X Y", "display_name": "", "role": "agent", "password": "short"},
    )
    assert r.status_code == 400
    assert 'id="f-username-error"' in r.text
    assert 'id="f-password-error"' in r.text
    assert 'id="f-role-error"' not in r.text
    assert "至少需要 10 个字符" in r.text
    assert 'value="short"' not in r.text  # the password is not echoed
    assert 'value="X Y"' in r.text  # what the admin typed stays in the form
    assert await user_named(runtime, "x y") is None


async def test_admin_edits_role_stores_and_name(client, app, runtime, make_user, make_store) -> None:
    await as_admin(client, app, make_user)
    agent = await make_user("alice", Role.AGENT)
    a, b = await make_store("A店"), await make_store("B店")
    page = await client.get(f"/settings/users/{agent.id}")
    assert f'action="/settings/users/{agent.id}"' in page.text
    assert f'action="/settings/users/{agent.id}/password"' in page.text
    assert 'value="alice"' in page.text
    r = await post_form(
        client,
        f"/settings/users/{agent.id}",
        {"display_name": "Alice", "role": "manager", "stores": [str(a.id), str(b.id)]},
    )
    assert r.status_code in (302, 303)
    page = await client.get(r.headers["location"])
    assert "已保存" in page.text
    user = await user_named(runtime, "alice")
    assert (user.display_name, user.role) == ("Alice", Role.MANAGER)
    assert sorted(s.name for s in user.stores) == ["A店", "B店"]


async def test_a_refused_edit_changes_nothing(client, app, runtime, make_user, make_store) -> None:
    await as_admin(client, app, make_user)
    agent = await make_user("alice", Role.AGENT)
    r = await post_form(
        client, f"/settings/users/{agent.id}", {"display_name": "Alice", "role": "god", "stores": "12345"}
    )
    assert r.status_code == 400
    assert 'id="f-role-error"' in r.text
    assert 'id="f-stores-error"' in r.text
    user = await user_named(runtime, "alice")
    assert (user.display_name, user.role) == ("alice", Role.AGENT)


async def test_admin_cannot_demote_or_deactivate_themselves(client, app, runtime, make_user) -> None:
    admin = await as_admin(client, app, make_user)
    r = await post_form(client, f"/settings/users/{admin.id}", {"role": "agent"})
    assert r.status_code == 400
    assert "不能取消自己的管理员角色" in r.text
    r = await post_form(client, f"/settings/users/{admin.id}/deactivate", {"confirmed": "true"})
    assert r.status_code == 400
    assert "不能停用自己的账号" in r.text
    user = await user_named(runtime, "root")
    assert user.is_active
    assert user.role is Role.ADMIN


async def test_reset_password(client, app, runtime, make_user) -> None:
    await as_admin(client, app, make_user)
    agent = await make_user("alice", Role.AGENT)
    r = await post_form(client, f"/settings/users/{agent.id}/password", {"password": "short"})
    assert r.status_code == 400
    assert 'id="f-password-error"' in r.text
    r = await post_form(client, f"/settings/users/{agent.id}/password", {"password": NEW_PASSWORD})
    assert r.status_code in (302, 303)
    assert "密码已重置" in (await client.get(r.headers["location"])).text
    client.cookies.clear()
    assert (await login_with_form(client, "alice")).status_code == 400
    assert (await login_with_form(client, "alice", NEW_PASSWORD)).status_code in (302, 303)


async def test_deactivating_a_user_ends_their_session_and_can_be_undone(client, app, make_user) -> None:
    await as_admin(client, app, make_user)
    agent = await make_user("alice", Role.AGENT)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as theirs:
        await login(theirs, app, agent)
        assert (await theirs.get("/inbox")).status_code == 200
        asked = await post_form(client, f"/settings/users/{agent.id}/deactivate", {})
        assert asked.status_code == 200  # first the confirmation page; nothing changed yet
        assert "停用账号「alice」？" in asked.text
        assert (await theirs.get("/inbox")).status_code == 200
        r = await post_form(client, f"/settings/users/{agent.id}/deactivate", {"confirmed": "true"})
        assert r.status_code in (302, 303)
        assert "账号已停用" in (await client.get(r.headers["location"])).text
        assert (await theirs.get("/inbox", follow_redirects=False)).headers["location"].startswith("/login")
    r = await post_form(client, f"/settings/users/{agent.id}/activate", {})
    assert r.status_code in (302, 303)
    client.cookies.clear()
    assert (await login_with_form(client, "alice")).status_code in (302, 303)


async def test_unknown_users_are_404(client, app, make_user) -> None:
    await as_admin(client, app, make_user)
    assert (await client.get("/settings/users/999999")).status_code == 404
    assert (
        await post_form(client, "/settings/users/999999/password", {"password": NEW_PASSWORD})
    ).status_code == 404


# -- credentials changes end sessions (issue #6, item 2) -----------------------------------------


async def signed_in_twice(app, make_user) -> tuple[User, list[httpx.AsyncClient]]:
    """alice, signed in through the form in two browsers (returned open; close them)."""
    alice = await make_user("alice", Role.AGENT)
    browsers = [client_for(app, peer) for peer in ("192.0.2.1", "192.0.2.2")]
    for browser in browsers:
        assert (await login_with_form(browser, "alice")).status_code in (302, 303)
    return alice, browsers


async def signed_out(browser: httpx.AsyncClient) -> bool:
    r = await browser.get("/inbox", follow_redirects=False)
    return r.status_code in (302, 303) and r.headers["location"].startswith("/login")


async def api_status(app, token: str) -> int:
    async with client_for(app) as c:
        return (await c.get("/api/v1/stores", headers={"authorization": f"Bearer {token}"})).status_code


async def test_a_password_reset_ends_every_session_and_token_of_the_user(
    client, app, runtime, make_user
) -> None:
    admin = await as_admin(client, app, make_user)
    alice, browsers = await signed_in_twice(app, make_user)
    token = await issue_token_for(runtime, alice)
    assert await api_status(app, token) == 200
    r = await post_form(client, f"/settings/users/{alice.id}/password", {"password": NEW_PASSWORD})
    assert r.status_code in (302, 303)
    assert "已在所有设备上退出登录" in (await client.get(r.headers["location"])).text
    assert [await signed_out(b) for b in browsers] == [True, True]
    assert await api_status(app, token) == 401
    assert (await client.get("/settings/users")).status_code == 200  # the admin is still in
    assert admin.id != alice.id
    for browser in browsers:
        await browser.aclose()


async def test_deactivating_ends_sessions_and_tokens_and_reactivating_revives_neither(
    client, app, runtime, make_user
) -> None:
    await as_admin(client, app, make_user)
    alice, browsers = await signed_in_twice(app, make_user)
    token = await issue_token_for(runtime, alice)
    deactivated = await post_form(client, f"/settings/users/{alice.id}/deactivate", {"confirmed": "true"})
    assert deactivated.status_code in (302, 303)
    assert await signed_out(browsers[0])
    assert await api_status(app, token) == 401
    assert (await post_form(client, f"/settings/users/{alice.id}/activate", {})).status_code in (302, 303)
    # The second browser had not asked since; its session does not come back, nor does the token.
    assert await signed_out(browsers[1])
    assert await api_status(app, token) == 401
    assert (await login_with_form(browsers[1], "alice")).status_code in (302, 303)
    assert not await signed_out(browsers[1])
    for browser in browsers:
        await browser.aclose()


async def test_a_role_change_ends_sessions_but_other_edits_do_not(client, app, runtime, make_user) -> None:
    await as_admin(client, app, make_user)
    alice, browsers = await signed_in_twice(app, make_user)
    token = await issue_token_for(runtime, alice)
    r = await post_form(client, f"/settings/users/{alice.id}", {"display_name": "Alice", "role": "agent"})
    assert r.status_code in (302, 303)
    assert [await signed_out(b) for b in browsers] == [False, False]
    page = await client.get(f"/settings/users/{alice.id}")
    assert "更改角色后，该用户需要重新登录" in page.text
    r = await post_form(client, f"/settings/users/{alice.id}", {"display_name": "Alice", "role": "manager"})
    assert r.status_code in (302, 303)
    assert [await signed_out(b) for b in browsers] == [True, True]
    # Tokens act with the user's current role anyway; they are not revoked by a role change.
    assert await api_status(app, token) == 200
    for browser in browsers:
        await browser.aclose()


async def issue_token_for(runtime, user: User) -> str:
    async with runtime.db.session() as session:
        token, _ = await issue_token(session, await session.get_one(User, user.id), "erp")
    return token
