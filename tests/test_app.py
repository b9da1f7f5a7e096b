"""Cross-cutting behaviour of the app: health, OpenAPI, and how errors reach people and programs."""

from __future__ import annotations

import httpx
from litestar import Litestar


async def test_healthz_reports_database_and_redis(client: httpx.AsyncClient, app: Litestar) -> None:
    body = (await client.get("/healthz")).json()
    assert body["database"] == "ok"
    expected = "ok" if app.state.runtime.redis is not None else "not configured"
    assert body["redis"] == expected
    assert body["status"] == "ok"


async def test_openapi_schema_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "desk"


async def test_api_errors_are_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/stores", headers={"authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")
    assert "API token" in response.json()["detail"]
    missing = await client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404
    assert missing.json()["status_code"] == 404


async def test_page_errors_are_html_and_pages_need_a_login(client: httpx.AsyncClient) -> None:
    response = await client.get("/inbox")
    assert response.status_code in (302, 303)
    assert response.headers["location"] == "/login?next=%2Finbox"
    # Only /login itself is public: an address that merely starts with it needs a login too.
    missing = await client.get("/login/nowhere")
    assert missing.status_code in (302, 303)
    assert missing.headers["location"] == "/login?next=%2Flogin%2Fnowhere"


async def test_the_order_and_after_sale_actions_are_documented(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    for path in (
        "/api/v1/orders",
        "/api/v1/buyers/{buyer_id}/orders",
        "/api/v1/aftersales",
        "/api/v1/aftersales/{after_sale_order_id}/approve",
        "/api/v1/aftersales/{after_sale_order_id}/intercept",
        "/api/v1/orders/{order_id}/address-change/accept",
        "/api/v1/orders/{order_id}/merchant-note",
    ):
        assert path in paths, path
    approve = paths["/api/v1/aftersales/{after_sale_order_id}/approve"]["post"]
    assert {"202", "404", "409", "422"} <= set(approve["responses"])
    assert "/orders/{order_id}" not in paths  # pages stay out of the API reference
