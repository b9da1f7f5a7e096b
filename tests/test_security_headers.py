"""Security headers on every response of the running app: pages, API, pushes, errors, static files."""

from __future__ import annotations

import re

import httpx
import pytest
from litestar import Litestar

from desk.accounts.models import Role
from desk.app import create_app
from desk.runtime import Runtime
from desk.security_headers import SecurityHeaders
from desk.settings import Settings
from tests.conftest import app_lifespan, login
from tests.ingest.conftest import channels_push, order_event, store_crypt


def directives(response: httpx.Response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {d.split(" ", 1)[0]: d.partition(" ")[2] for d in (p.strip() for p in policy.split(";")) if d}


def assert_protected(response: httpx.Response) -> None:
    csp = directives(response)
    assert csp["frame-ancestors"] == "'none'"
    # Only the desk's own scripts and styles: no inline code, no eval, no other origin.
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert csp["default-src"] == "'self'"
    assert csp["object-src"] == "'none'"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in response.headers  # plain HTTP unless told otherwise


async def test_every_kind_of_response_carries_the_headers(client, app: Litestar, runtime, make_store) -> None:
    store = await make_store()
    query, body = channels_push(store_crypt(runtime, store), order_event("3700000000000000001"))
    responses = {
        "login page": await client.get("/login"),
        "redirect to login": await client.get("/inbox"),
        "router 404": await client.get("/no/such/page"),
        "router 405": await client.delete("/login"),
        "health": await client.get("/healthz"),
        "API error": await client.get("/api/v1/stores"),
        "API docs": await client.get("/schema"),
        "schema": await client.get("/schema/openapi.json"),
        "static file": await client.get("/static/desk.css"),
        "push accepted": await client.post(f"/webhooks/channels/{store.key}?{query}", content=body),
        "push refused": await client.post(f"/webhooks/channels/{store.key}", content=body),
        "webhook unknown key": await client.get("/webhooks/channels/nope"),
    }
    assert responses["push accepted"].text == "success"
    assert responses["router 405"].status_code == 405
    for name, response in responses.items():
        try:
            assert_protected(response)
        except (AssertionError, KeyError) as exc:
            raise AssertionError(f"{name} ({response.status_code}): {exc!r}") from None


async def test_pages_are_not_cached_but_static_files_may_be(client, app: Litestar, make_user) -> None:
    admin = await make_user("root", Role.ADMIN)
    assert (await client.get("/login")).headers["cache-control"] == "no-store"  # carries a CSRF token
    await login(client, app, admin)
    for path in ("/settings", "/settings/users", "/inbox", f"/settings/users/{admin.id}", "/api/v1/stores"):
        response = await client.get(path)
        assert response.status_code in (200, 401), path  # the API wants a token, not the session
        assert response.headers["cache-control"] == "no-store", path
    static = await client.get("/static/desk.css")
    assert static.status_code == 200
    assert "no-store" not in static.headers.get("cache-control", "")


async def test_hsts_only_when_the_desk_is_served_over_https(settings: Settings) -> None:
    for secure in (True, False):
        runtime = Runtime(settings.with_changes(cookie_secure=secure))
        app = create_app(runtime=runtime)
        try:
            async with (
                app_lifespan(app),
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://desk") as client,
            ):
                responses = [await client.get("/login"), await client.get("/static/desk.css")]
        finally:
            await runtime.stop()
        for response in responses:
            hsts = response.headers.get("strict-transport-security")
            assert (hsts == "max-age=31536000; includeSubDomains") if secure else (hsts is None)


async def test_pages_load_scripts_and_styles_from_the_desk_only(client, app: Litestar, make_user) -> None:
    """What the CSP allows is what the pages use: no inline script or style, no CDN."""
    await login(client, app, await make_user("root", Role.ADMIN))
    for path in ("/login", "/settings", "/settings/users/new", "/schema"):
        html = (await client.get(path)).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path  # every script is a file
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=", html, re.I), path
        for parts in re.findall(r'\bsrc="([^"]+)"|<link [^>]*href="([^"]+)"', html):
            url = "".join(parts)
            assert re.match(r"/[^/]", url), (path, url)  # this origin, never //cdn… or https://
        for url in re.findall(r'<script src="([^"]+)"', html):
            assert (await client.get(url)).status_code == 200, url  # served here, offline


@pytest.mark.parametrize("path", ["/settings", "/static/desk.css"])
async def test_a_header_the_response_chose_itself_is_kept(path: str) -> None:
    hook = SecurityHeaders(https=False)
    message = {"type": "http.response.start", "status": 200, "headers": [(b"cache-control", b"max-age=60")]}
    await hook(message, {"type": "http", "path": path})  # type: ignore[arg-type]
    headers = message["headers"]
    assert [v for n, v in headers if n == b"cache-control"] == [b"max-age=60"]
    assert (b"x-content-type-options", b"nosniff") in headers
