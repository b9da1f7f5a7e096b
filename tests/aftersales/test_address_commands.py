"""Syncing and adding merchant addresses through the worker, against the simulated platform."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from desk.accounts.models import Role
from desk.aftersales.address_book import (
    AddressForm,
    list_addresses,
    new_request_key,
    request_add,
    request_sync,
    to_detail,
)
from desk.aftersales.models import MerchantAddress
from desk.audit.models import AuditEntry, Outcome
from desk.audit.service import Actor
from desk.commands.models import CommandState, OutboundCommand
from desk.commands.service import CommandRef
from desk.errors import Invalid
from desk.simulator.faults import Faults
from tests.aftersales.test_actions import runner
from tests.ingest.conftest import Platform

ADD, LIST, GET = "merchant/address/add", "merchant/address/list", "merchant/address/get"


def warehouse(**changes: object) -> AddressForm:
    form = AddressForm(
        name="杭州退货仓",
        receiver="王仓管",
        phone="0571-88886666",
        province="浙江省",
        city="杭州市",
        county="余杭区",
        detail="仓前街道文一西路 998 号 3 号库",
        postal_code="311121",
        default_return=False,
        request_key=new_request_key(),
    )
    for name, value in changes.items():
        setattr(form, name, value)
    return form


@pytest.fixture
async def admin(make_user: Any) -> Actor:
    user = await make_user("管理员", Role.ADMIN)
    return Actor.user(user.id, user.display_name)


async def ask_to_add(platform: Platform, form: AddressForm, admin: Actor) -> CommandRef | Invalid:
    async with platform.runtime.db.session() as session:
        return await request_add(session, platform.runtime.wakeup, platform.stores[0].id, form, actor=admin)


async def command_state(platform: Platform, command_id: int) -> tuple[CommandState, dict]:
    async with platform.runtime.db.engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(OutboundCommand.state, OutboundCommand.result).where(
                    OutboundCommand.id == command_id
                )
            )
        ).one()
    return row.state, row.result


async def test_a_sync_stores_every_address_of_the_store_and_only_its_own(platform: Platform) -> None:
    store = platform.stores[0]
    async with platform.runtime.db.session() as session:
        ref = await request_sync(session, platform.runtime.wakeup, store.id, request_key="k1", user_id=None)
    await runner(platform).drain()
    state, result = await command_state(platform, ref.id)
    assert state is CommandState.SUCCEEDED
    on_platform = platform.sim.world.stores[platform.appids[0]].addresses
    assert result["count"] == len(on_platform) >= 2
    async with platform.runtime.db.session() as session:
        stored = await list_addresses(session, store.id)
        other = await list_addresses(session, platform.stores[1].id)
    assert {a.address_id for a in stored} == set(on_platform)
    assert other == []
    [default] = [a for a in stored if a.is_default_return]
    assert on_platform[default.address_id].default_recv
    sim_default = on_platform[default.address_id]
    assert default.receiver == sim_default.address_info.user_name
    assert platform.sim.api.calls_by_path[GET] == len(on_platform)


async def test_a_sync_forgets_addresses_deleted_on_the_platform(platform: Platform) -> None:
    store, appid = platform.stores[0], platform.appids[0]
    for key in ("first", "second"):
        async with platform.runtime.db.session() as session:
            await request_sync(session, platform.runtime.wakeup, store.id, request_key=key, user_id=None)
        await runner(platform).drain()
        if key == "first":
            gone = next(iter(platform.sim.world.stores[appid].addresses))
            del platform.sim.world.stores[appid].addresses[gone]
    async with platform.runtime.db.session() as session:
        stored = {a.address_id for a in await list_addresses(session, store.id)}
    assert gone not in stored
    assert stored == set(platform.sim.world.stores[appid].addresses)


async def test_the_same_sync_click_twice_syncs_once(platform: Platform) -> None:
    store = platform.stores[0]
    refs = []
    for _ in range(2):
        async with platform.runtime.db.session() as session:
            refs.append(
                await request_sync(
                    session, platform.runtime.wakeup, store.id, request_key="click", user_id=None
                )
            )
    assert refs[0].id == refs[1].id
    assert not refs[1].created
    await runner(platform).drain()
    assert platform.sim.api.calls_by_path[LIST] == 1


async def test_an_address_submitted_twice_is_added_once(platform: Platform, admin: Actor) -> None:
    form = warehouse(default_return=True)
    first, second = await ask_to_add(platform, form, admin), await ask_to_add(platform, form, admin)
    assert isinstance(first, CommandRef)
    assert isinstance(second, CommandRef)
    assert first.created
    assert not second.created
    assert second.id == first.id
    await runner(platform).drain()
    assert platform.sim.api.calls_by_path[ADD] == 1
    state, result = await command_state(platform, first.id)
    assert state is CommandState.SUCCEEDED
    address_id = result["address"]["address_id"]
    on_platform = platform.sim.world.stores[platform.appids[0]].addresses[address_id]
    assert on_platform.recv_addr
    assert on_platform.default_recv
    assert on_platform.address_info.detail_info == "仓前街道文一西路 998 号 3 号库"
    async with platform.runtime.db.session() as session:
        [stored] = [
            a for a in await list_addresses(session, platform.stores[0].id) if a.address_id == address_id
        ]
    assert stored.is_return
    assert stored.is_default_return
    assert stored.region == "浙江省 杭州市 余杭区"
    async with platform.runtime.db.engine.connect() as conn:
        audit = (
            await conn.execute(sa.select(AuditEntry.action, AuditEntry.outcome, AuditEntry.actor_name))
        ).all()
    assert [tuple(a) for a in audit] == [("address.add", Outcome.SUCCEEDED, "管理员")]


async def test_an_add_whose_answer_was_lost_is_not_made_twice(platform: Platform, admin: Actor) -> None:
    """The platform added the address but the answer never came: the retry finds it."""
    before = len(platform.sim.world.stores[platform.appids[0]].addresses)
    ref = await ask_to_add(platform, warehouse(), admin)
    assert isinstance(ref, CommandRef)
    the_runner = runner(platform)
    await (await platform.clients.channels(platform.stores[0].id)).list_address_ids()  # a token in hand
    timeout = platform.runtime.settings.platform_timeout_s
    platform.sim.faults = Faults(error_rate=1.0, kinds=("late_reply",), timeout_s=timeout + 0.5)
    await the_runner.run_once()
    platform.sim.faults = Faults()
    await platform.sim.drain(10)
    assert (await command_state(platform, ref.id))[0] is CommandState.QUEUED
    await the_runner.drain()
    state, result = await command_state(platform, ref.id)
    assert state is CommandState.SUCCEEDED
    assert result["already"] is True
    assert platform.sim.api.calls_by_path[ADD] == 1
    assert len(platform.sim.world.stores[platform.appids[0]].addresses) == before + 1


async def test_a_refused_form_queues_nothing_and_says_why_per_field(platform: Platform, admin: Actor) -> None:
    result = await ask_to_add(
        platform, warehouse(receiver=" ", phone="call me", detail="x" * 201, request_key="?"), admin
    )
    assert isinstance(result, Invalid)
    assert {field: m.key for field, m in result.errors.items()} == {
        "receiver": "addresses.form.required.receiver",
        "phone": "addresses.form.bad_phone",
        "detail": "addresses.form.too_long",
        "request_key": "addresses.form.expired",
    }
    async with platform.runtime.db.engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(OutboundCommand))).scalar() == 0
        assert (await conn.execute(sa.select(sa.func.count()).select_from(MerchantAddress))).scalar() == 0


async def test_a_sync_reads_every_page_of_a_long_address_list(platform: Platform) -> None:
    store, appid = platform.stores[0], platform.appids[0]
    client = await platform.clients.channels(store.id)
    for n in range(150 - len(platform.sim.world.stores[appid].addresses)):
        await client.add_address(to_detail(warehouse(name=f"仓库{n}", detail=f"文一西路 {n} 号")))
    async with platform.runtime.db.session() as session:
        await request_sync(session, platform.runtime.wakeup, store.id, request_key="long", user_id=None)
    await runner(platform).drain()
    async with platform.runtime.db.session() as session:
        stored = {a.address_id for a in await list_addresses(session, store.id)}
    assert len(stored) == 150
    assert stored == set(platform.sim.world.stores[appid].addresses)
    assert platform.sim.api.calls_by_path[LIST] == 2
