"""A user's own stores: the store page and the JSON API never show credentials."""

from __future__ import annotations

from desk.accounts.models import Role
from desk.accounts.tokens import issue_token
from tests.conftest import TEST_AES_KEY, login


async def test_the_store_page_shows_identity_push_url_and_that_no_push_came_yet(
    client, app, make_user, make_store
) -> None:
    store = await make_store("旗舰店", appsecret="appsecret-value-1", token="tokenvalue1")
    await login(client, app, await make_user("alice", Role.AGENT, [store]))
    page = await client.get(f"/stores/{store.id}")
    assert page.status_code == 200
    assert "旗舰店" in page.text
    assert store.appid in page.text
    assert f"/webhooks/channels/{store.key}" in page.text
    assert "尚未收到推送" in page.text
    for secret in ("appsecret-value-1", "tokenvalue1", TEST_AES_KEY):
        assert secret not in page.text


async def test_my_stores_lists_only_mine(client, app, make_user, make_store) -> None:
    a, _b = await make_store("A店"), await make_store("B店")
    await login(client, app, await make_user("alice", Role.AGENT, [a]))
    page = await client.get("/stores")
    assert "A店" in page.text
    assert "B店" not in page.text


async def test_the_api_returns_typed_stores_without_secrets(client, runtime, make_user, make_store) -> None:
    store = await make_store("旗舰店", appsecret="appsecret-value-1", token="tokenvalue1")
    admin = await make_user("root", Role.ADMIN)
    async with runtime.db.session() as session:
        token, _ = await issue_token(session, await session.get_one(type(admin), admin.id), "t")
    r = await client.get(f"/api/v1/stores/{store.id}", headers={"authorization": f"Bearer {token}"})
    body = r.json()
    assert set(body) == {"id", "key", "name", "appid", "push_url", "is_active", "timezone"}
    assert body["push_url"].endswith(f"/webhooks/channels/{store.key}")
    for secret in ("appsecret-value-1", "tokenvalue1", TEST_AES_KEY):
        assert secret not in r.text


async def test_the_api_is_described_in_the_openapi_schema(client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/api/v1/stores" in schema["paths"]
    assert "/api/v1/stores/{store_id}" in schema["paths"]
