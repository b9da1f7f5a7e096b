"""UserService: the rules for creating and changing users, whoever calls it (pages or CLI)."""

from __future__ import annotations

import string

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from desk.accounts.models import Role, User
from desk.accounts.services import (
    MIN_PASSWORD_LENGTH,
    NewUserForm,
    PasswordForm,
    UserEditForm,
    UserService,
    check_password,
    check_username,
)
from desk.errors import Invalid
from tests.conftest import TEST_PASSWORD

USERNAME_CHARS = string.ascii_lowercase + string.digits + "._-"


async def count_users(runtime) -> int:
    async with runtime.db.session() as session:
        return await session.scalar(sa.select(sa.func.count()).select_from(User))


async def test_create_stores_a_hashed_password_and_the_chosen_stores(runtime, make_store) -> None:
    a, _b = await make_store("A"), await make_store("B")
    async with runtime.db.session() as session:
        form = NewUserForm(username="Li.Wei", role="agent", stores=[str(a.id)], password=TEST_PASSWORD)
        user = await UserService(session).create(form)
    assert isinstance(user, User)
    assert user.username == "li.wei"
    assert user.display_name == "li.wei"
    assert [s.name for s in user.stores] == ["A"]
    assert TEST_PASSWORD not in user.password_hash
    async with runtime.db.session() as session:
        assert await UserService(session).authenticate("LI.WEI", TEST_PASSWORD) is not None
        assert await UserService(session).authenticate("li.wei", "wrong password") is None


async def test_create_reports_every_bad_field_and_saves_nothing(runtime) -> None:
    async with runtime.db.session() as session:
        form = NewUserForm(
            username="x", display_name="n" * 65, role="boss", stores=["99999"], password="short"
        )
        result = await UserService(session).create(form)
    assert isinstance(result, Invalid)
    assert set(result.errors) == {"username", "display_name", "role", "stores", "password"}
    assert result.errors["password"].params == {"min": MIN_PASSWORD_LENGTH}
    assert await count_users(runtime) == 0


async def test_usernames_are_unique_whatever_the_case(runtime, make_user) -> None:
    await make_user("alice", Role.AGENT)
    async with runtime.db.session() as session:
        result = await UserService(session).create(
            NewUserForm(username="ALICE", role="agent", password=TEST_PASSWORD)
        )
    assert isinstance(result, Invalid)
    assert result.errors["username"].key == "users.error.username_taken"


async def test_a_single_ticked_store_arrives_as_a_string_and_counts(runtime, make_store) -> None:
    store = await make_store("A")
    async with runtime.db.session() as session:
        user = await UserService(session).create(
            NewUserForm(username="bob", role="manager", stores=str(store.id), password=TEST_PASSWORD)
        )
    assert [s.id for s in user.stores] == [store.id]


async def test_update_changes_role_stores_and_name(runtime, make_user, make_store) -> None:
    admin = await make_user("root", Role.ADMIN)
    agent = await make_user("alice", Role.AGENT)
    store = await make_store("A")
    async with runtime.db.session() as session:
        service = UserService(session)
        user = await service.get(agent.id)
        form = UserEditForm(display_name="Alice Li", role="manager", stores=[str(store.id)])
        assert isinstance(await service.update(user, form, acting=admin), User)
    async with runtime.db.session() as session:
        user = await session.get_one(User, agent.id)
        assert (user.display_name, user.role, [s.id for s in user.stores]) == (
            "Alice Li",
            Role.MANAGER,
            [store.id],
        )


async def test_admins_cannot_demote_themselves_or_the_last_admin(runtime, make_user) -> None:
    root = await make_user("root", Role.ADMIN)
    other = await make_user("other", Role.ADMIN)
    demote = UserEditForm(role="agent")
    async with runtime.db.session() as session:
        service = UserService(session)
        result = await service.update(await service.get(root.id), demote, acting=root)
        assert result.errors["role"].key == "users.error.demote_self"
        # With two admins, one may demote the other ...
        assert isinstance(await service.update(await service.get(other.id), demote, acting=root), User)
    async with runtime.db.session() as session:
        service = UserService(session)
        # ... but the last active admin keeps the role, even when someone else asks.
        result = await service.update(await service.get(root.id), demote, acting=other)
        assert result.errors["role"].key == "users.error.last_admin"
        assert (await service.get(root.id)).role is Role.ADMIN


async def test_reset_password_checks_the_length_and_replaces_the_hash(runtime, make_user) -> None:
    user = await make_user("alice", Role.AGENT)
    async with runtime.db.session() as session:
        service = UserService(session)
        row = await service.get(user.id)
        assert isinstance(await service.reset_password(row, PasswordForm(password="short")), Invalid)
        assert isinstance(
            await service.reset_password(row, PasswordForm(password="a brand new secret")), User
        )
    async with runtime.db.session() as session:
        assert await UserService(session).authenticate("alice", TEST_PASSWORD) is None
        assert await UserService(session).authenticate("alice", "a brand new secret") is not None


async def test_admins_cannot_deactivate_themselves(runtime, make_user) -> None:
    root = await make_user("root", Role.ADMIN)
    agent = await make_user("alice", Role.AGENT)
    async with runtime.db.session() as session:
        service = UserService(session)
        assert isinstance(await service.set_active(await service.get(root.id), False, acting=root), Invalid)
        assert isinstance(await service.set_active(await service.get(agent.id), False, acting=root), User)
    async with runtime.db.session() as session:
        assert await UserService(session).authenticate("alice", TEST_PASSWORD) is None


async def test_the_session_epoch_moves_exactly_when_sessions_must_end(runtime, make_user) -> None:
    root = await make_user("root", Role.ADMIN)
    alice = await make_user("alice", Role.AGENT)

    async def epoch_after(change) -> int:
        async with runtime.db.session() as session:
            service = UserService(session)
            await change(service, await service.get(alice.id))
        async with runtime.db.session() as session:
            return (await session.get_one(User, alice.id)).session_epoch

    same_role = UserEditForm(display_name="Alice", role="agent")
    assert await epoch_after(lambda s, u: s.update(u, same_role, acting=root)) == 0
    assert await epoch_after(lambda s, u: s.update(u, UserEditForm(role="manager"), acting=root)) == 1
    assert await epoch_after(lambda s, u: s.reset_password(u, PasswordForm(password="short"))) == 1
    assert await epoch_after(lambda s, u: s.reset_password(u, PasswordForm(password="x" * 12))) == 2
    assert await epoch_after(lambda s, u: s.set_active(u, True, acting=root)) == 2  # already active
    assert await epoch_after(lambda s, u: s.set_active(u, False, acting=root)) == 3
    assert await epoch_after(lambda s, u: s.set_active(u, False, acting=root)) == 3
    assert await epoch_after(lambda s, u: s.set_active(u, True, acting=root)) == 4


@given(st.text(max_size=40))
def test_username_check_accepts_exactly_the_documented_set(value: str) -> None:
    valid = (
        2 <= len(value) <= 32
        and all(c in USERNAME_CHARS for c in value)
        and value[0] in string.ascii_lowercase + string.digits
    )
    assert (check_username(value) is None) == valid


@given(st.text(alphabet=USERNAME_CHARS, min_size=2, max_size=32))
def test_username_check_accepts_well_formed_names(value: str) -> None:
    assert (check_username(value) is None) == (value[0] not in "._-")


@given(st.text(max_size=300))
def test_password_check_is_about_length_only(value: str) -> None:
    assert (check_password(value) is None) == (MIN_PASSWORD_LENGTH <= len(value) <= 256)
