"""Who is asking: exactly the public pages answer without a user."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import get

from desk.accounts.auth import PUBLIC_PATHS
from tests.conftest import app_lifespan, client_for


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
