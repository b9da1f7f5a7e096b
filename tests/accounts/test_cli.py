"""``desk users`` and ``desk tokens`` against the test database."""

from __future__ import annotations

import sqlalchemy as sa

from desk.accounts.models import ApiToken, Role, User
from tests.conftest import TEST_PASSWORD
from tests.shell.helpers import run_cli


async def get_user(runtime, username: str) -> User | None:
    async with runtime.db.session() as session:
        return await session.scalar(sa.select(User).where(User.username == username))


async def test_users_create_with_stores_and_password(settings, runtime, make_store) -> None:
    store = await make_store("旗舰店", key="flagship")
    result = await run_cli(
        settings,
        "users",
        "create",
        "xiaowang",
        "--role",
        "agent",
        "--store",
        "flagship",
        "--password",
        TEST_PASSWORD,
    )
    assert result.exit_code == 0, result.output
    assert "xiaowang" in result.output
    user = await get_user(runtime, "xiaowang")
    assert user.role is Role.AGENT
    assert [s.id for s in user.stores] == [store.id]


async def test_users_create_reads_the_password_from_standard_input(settings, runtime) -> None:
    # Not a terminal here: one line, no confirmation (tests/test_cli.py drives the terminal prompt).
    result = await run_cli(settings, "users", "create", "root", "--role", "admin", input=f"{TEST_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert TEST_PASSWORD not in result.output
    assert (await get_user(runtime, "root")).role is Role.ADMIN


async def test_users_create_refuses_bad_input_in_one_line_and_saves_nothing(settings, runtime) -> None:
    result = await run_cli(settings, "users", "create", "root", "--role", "admin", "--password", "short")
    assert result.exit_code != 0
    assert result.output.strip().count("\n") == 0
    assert "--password" in result.output
    assert "Traceback" not in result.output
    result = await run_cli(
        settings, "users", "create", "alice", "--role", "agent", "--store", "nope", "--password", "x" * 12
    )
    assert result.exit_code != 0
    assert "--store" in result.output
    assert await get_user(runtime, "root") is None
    assert await get_user(runtime, "alice") is None


async def test_users_list(settings, make_user, make_store) -> None:
    store = await make_store("旗舰店")
    await make_user("alice", Role.AGENT, [store])
    await make_user("root", Role.ADMIN)
    result = await run_cli(settings, "users", "list")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert any("alice" in line and "agent" in line and "旗舰店" in line for line in lines)
    assert any("root" in line and "admin" in line and "all" in line for line in lines)


async def test_tokens_create_list_revoke(settings, client, runtime, make_user) -> None:
    await make_user("alice", Role.AGENT)
    result = await run_cli(settings, "tokens", "create", "--user", "alice", "--name", "ERP sync")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("desk_")
    assert "will not be shown again" in result.stderr
    r = await client.get("/api/v1/stores", headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 200

    listing = await run_cli(settings, "tokens", "list")
    assert "ERP sync" in listing.output
    assert "alice" in listing.output
    assert token not in listing.output
    async with runtime.db.session() as session:
        row = await session.scalar(sa.select(ApiToken))
    assert row.prefix in listing.output

    revoked = await run_cli(settings, "tokens", "revoke", row.prefix)
    assert revoked.exit_code == 0, revoked.output
    r = await client.get("/api/v1/stores", headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 401
    again = await run_cli(settings, "tokens", "revoke", row.prefix)
    assert again.exit_code != 0


async def test_tokens_create_needs_an_active_user_and_a_name(settings, make_user) -> None:
    result = await run_cli(settings, "tokens", "create", "--user", "ghost", "--name", "x")
    assert result.exit_code != 0
    assert "--user" in result.output
    await make_user("alice", Role.AGENT)
    result = await run_cli(settings, "tokens", "create", "--user", "alice", "--name", "  ")
    assert result.exit_code != 0
    assert "--name" in result.output
