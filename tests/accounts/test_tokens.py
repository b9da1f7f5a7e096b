"""Personal API tokens: shown once, stored hashed, acting as their user until revoked."""

from __future__ import annotations

from desk.accounts.models import ApiToken, Role
from desk.accounts.tokens import (
    TOKEN_PREFIX,
    hash_token,
    issue_token,
    list_tokens,
    revoke_token,
    revoke_user_tokens,
)
from tests.conftest import login


async def issue(runtime, user, name: str = "erp") -> tuple[str, ApiToken]:
    async with runtime.db.session() as session:
        return await issue_token(session, await session.get_one(type(user), user.id), name)


async def test_only_the_hash_is_stored_and_the_token_authenticates(client, runtime, make_user) -> None:
    token, row = await issue(runtime, await make_user("root", Role.ADMIN))
    assert token.startswith(TOKEN_PREFIX)
    assert row.token_hash == hash_token(token) != token
    assert token.startswith(row.prefix)
    r = await client.get("/api/v1/stores", headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 200
    async with runtime.db.session() as session:
        assert (await session.get_one(ApiToken, row.id)).last_used_at is not None


async def test_requests_without_a_valid_token_get_401_json(client, runtime, make_user) -> None:
    token, _ = await issue(runtime, await make_user("root", Role.ADMIN))
    for headers in ({}, {"authorization": "Bearer desk_nonsense"}, {"authorization": f"Basic {token}"}):
        r = await client.get("/api/v1/stores", headers=headers)
        assert r.status_code == 401
        assert r.json()["status_code"] == 401


async def test_a_session_cookie_does_not_open_the_api(client, app, make_user) -> None:
    await login(client, app, await make_user("root", Role.ADMIN))
    assert (await client.get("/api/v1/stores")).status_code == 401


async def test_revoked_tokens_and_deactivated_users_stop_working(client, runtime, make_user) -> None:
    alice = await make_user("alice", Role.AGENT)
    first, row = await issue(runtime, alice, "one")
    second, _ = await issue(runtime, alice, "two")
    async with runtime.db.session() as session:
        assert (await revoke_token(session, str(row.id))).name == "one"
        assert await revoke_token(session, str(row.id)) is None  # already revoked
        assert [t.name for t in await list_tokens(session)] == ["two", "one"]
    assert (
        await client.get("/api/v1/stores", headers={"authorization": f"Bearer {first}"})
    ).status_code == 401
    assert (
        await client.get("/api/v1/stores", headers={"authorization": f"Bearer {second}"})
    ).status_code == 200
    async with runtime.db.session() as session:
        (await session.get_one(type(alice), alice.id)).is_active = False
    assert (
        await client.get("/api/v1/stores", headers={"authorization": f"Bearer {second}"})
    ).status_code == 401


async def test_tokens_can_be_revoked_by_their_prefix(runtime, make_user) -> None:
    _, row = await issue(runtime, await make_user("root", Role.ADMIN))
    async with runtime.db.session() as session:
        assert await revoke_token(session, "desk_nothing") is None
        assert (await revoke_token(session, row.prefix)).id == row.id


async def test_revoking_a_users_tokens_leaves_other_users_tokens_alone(runtime, make_user) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    await issue(runtime, alice, "one")
    await issue(runtime, alice, "two")
    await issue(runtime, bob, "bobs")
    async with runtime.db.session() as session:
        assert await revoke_user_tokens(session, alice.id) == 2
        assert await revoke_user_tokens(session, alice.id) == 0
    async with runtime.db.session() as session:
        live = {row.name for row in await list_tokens(session) if row.revoked_at is None}
    assert live == {"bobs"}
