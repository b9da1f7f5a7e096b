"""Ids in paths that no row could have are pages that do not exist: 404, quietly, on every route."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from litestar.routes import HTTPRoute

from desk.accounts.models import Role
from desk.accounts.tokens import issue_token
from desk.path_ids import MAX_ROW_ID
from tests.conftest import csrf_headers, login

OUT_OF_RANGE = [
    str(MAX_ROW_ID + 1),  # 9223372036854775808
    str(MAX_ROW_ID),  # the largest possible id, which no row has
    "99999999999999999999",
    "0",
    "-1",
    str(-MAX_ROW_ID - 2),
    "9" * 5000,
]


def routes_with_ids(app: Any) -> list[tuple[str, str]]:
    """(method, path template) of every route taking an integer from its path."""
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        if any(p.type is int for p in route.path_parameters.values()):
            found.extend((method, route.path) for method in sorted(route.methods - {"HEAD", "OPTIONS"}))
    return found


def test_the_routes_checked_here_include_the_ones_issue_6_names(app) -> None:
    paths = {path for _, path in routes_with_ids(app)}
    assert {
        "/settings/users/{user_id:int}",
        "/api/v1/stores/{store_id:int}",
        "/stores/{store_id:int}",
    } <= paths


@pytest.mark.parametrize("value", OUT_OF_RANGE, ids=lambda v: v if len(v) < 30 else f"{len(v)} digits")
async def test_every_route_answers_404_without_a_traceback(
    client, app, runtime, make_user, caplog, value
) -> None:
    admin = await make_user("root", Role.ADMIN)
    async with runtime.db.session() as session:
        token, _ = await issue_token(session, await session.get_one(type(admin), admin.id), "probe")
    await login(client, app, admin)
    await client.get("/settings")  # the CSRF cookie
    caplog.set_level(logging.INFO)
    for method, template in routes_with_ids(app):
        path = re.sub(r"\{\w+:int\}", value, template)
        headers = {"authorization": f"Bearer {token}"} if path.startswith("/api/") else csrf_headers(client)
        r = await client.request(method, path, headers=headers, follow_redirects=False)
        # An API call that needs a body is refused for the missing body first (400, naming it):
        # also fine — what must never happen is a 500 or a traceback.
        missing_body = r.status_code == 400 and '"source":"body"' in r.text
        assert r.status_code == 404 or missing_body, (method, template, r.status_code, r.text[:200])
    assert not [rec for rec in caplog.records if rec.levelno >= logging.WARNING], caplog.text
    assert "Traceback" not in caplog.text
