"""Who is asking: exactly the public pages answer without a user; stale sessions are over."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from litestar import get

from desk.accounts.auth import PUBLIC_PATHS, SESSION_EPOCH_KEY, SESSION_USER_KEY
from desk.accounts.models import Role, User
from desk.app import SESSION_COOKIE
from tests.conftest import app_lifespan, client_for
from tests.shell.helpers import login_with_form


@get(
    ["/login-history", "/loginx", "/healthz2", "/schemas", "/language", "/statics/x", "/favicon.ico.bak"],
    name="test:private",
    include_in_schema=False,
)
async def private_page() -> str:
    return "private"


@pytest.mark.parametrize(
    "path",
    ["/login-history", "/loginx", "/healthz2", "/schemas", "/language", "/statics/x", "/favicon.ico.bak"],
)
async def test_pages_whose_names_merely_start_like_public_ones_need_a_login(make_app: Any, path: str) -> None:
    app = make_app()
    app.register(private_page)
    async with app_lifespan(app), client_for(app) as c:
        r = await c.get(path, follow_redirects=False)
    assert r.status_code in (302, 303), r.text
    assert r.headers["location"].startswith("/login?next=")


async def test_the_public_pages_answer_without_a_login(client) -> None:
    for path in ("/login", "/healthz", "/static/desk.css", "/schema/openapi.json"):
        assert (await client.get(path, follow_redirects=False)).status_code == 200, path
    r = await client.get("/lang/en", follow_redirects=False)
    assert r.status_code in (302, 303)
    assert not r.headers["location"].startswith("/login")


def test_public_path_matching_is_anchored() -> None:
    public = ["/login", "/healthz", "/favicon.ico", "/schema", "/schema/swagger", "/lang/en", "/static/a.css"]
    private = ["/login/", "/loginx", "/x/login", "/schema2", "/lang", "/static", "/favicon.icox", "/healthz/"]
    assert all(PUBLIC_PATHS.match(p) for p in public)
    assert not any(PUBLIC_PATHS.match(p) for p in private)


async def test_a_session_from_before_the_users_epoch_is_over_and_deleted(client, runtime, make_user) -> None:
    alice = await make_user("alice", Role.AGENT)
    await login_with_form(client, "alice")
    assert (await client.get("/inbox")).status_code == 200
    session_id = client.cookies[SESSION_COOKIE]
    async with runtime.db.session() as session:
        (await session.get_one(User, alice.id)).session_epoch += 1
    r = await client.get("/inbox", follow_redirects=False)
    assert r.headers["location"].startswith("/login")
    assert await runtime.kv("sessions").get(session_id) is None
    # The login page it is sent to also expires the cookie in the browser.
    await client.get(r.headers["location"])
    assert SESSION_COOKIE not in client.cookies


async def test_sessions_from_before_epochs_existed_belong_to_epoch_zero(
    client, app, runtime, make_user
) -> None:
    alice = await make_user("alice", Role.AGENT)
    await runtime.kv("sessions").set("old-session", msgspec.json.encode({SESSION_USER_KEY: alice.id}))
    client.cookies.set(SESSION_COOKIE, "old-session")
    assert (await client.get("/inbox")).status_code == 200
    async with runtime.db.session() as session:
        (await session.get_one(User, alice.id)).session_epoch = 1
    assert (await client.get("/inbox", follow_redirects=False)).status_code in (302, 303)


async def test_a_session_of_a_user_that_no_longer_exists_is_over(client, app, runtime, make_user) -> None:
    ghost = {SESSION_USER_KEY: 424242, SESSION_EPOCH_KEY: 0}
    await runtime.kv("sessions").set("ghost", msgspec.json.encode(ghost))
    client.cookies.set(SESSION_COOKIE, "ghost")
    assert (await client.get("/inbox", follow_redirects=False)).headers["location"].startswith("/login")
    assert await runtime.kv("sessions").get("ghost") is None
