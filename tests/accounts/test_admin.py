"""Settings → users, as an admin uses it in the browser."""

from __future__ import annotations

import httpx
import sqlalchemy as sa

from desk.accounts.models import Role, User
from tests.conftest import TEST_PASSWORD, login
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
    r = await post_form(client, f"/settings/users/{admin.id}/deactivate", {})
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
        r = await post_form(client, f"/settings/users/{agent.id}/deactivate", {})
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
