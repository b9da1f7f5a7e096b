"""Buyers as people: the same person across stores when the platform gives a unionid, and
that person's orders in the stores a user may see."""

from __future__ import annotations

import msgspec
import pytest
import sqlalchemy as sa
from litestar.exceptions import NotFoundException

from desk.accounts.models import Role
from desk.db import utcnow
from desk.orders.buyers import orders_of_buyer, same_person_buyer_ids
from desk.orders.models import Buyer
from desk.orders.services import save_buyer, save_order
from desk.runtime import Runtime
from tests.orders.test_services import T0, channels_order


async def buyer(runtime: Runtime, store, openid: str, unionid: str = "") -> int:
    async with runtime.db.transaction() as conn:
        buyer_id = await save_buyer(conn, store.id, openid, unionid)
    assert buyer_id is not None
    return buyer_id


async def order(
    runtime: Runtime, store, order_id: str, openid: str, *, created: int, unionid: str = ""
) -> None:
    placed = msgspec.structs.replace(
        channels_order(order_id, openid=openid, unionid=unionid, update_time=T0 + created),
        create_time=T0 + created,
    )
    async with runtime.db.transaction() as conn:
        await save_order(conn, store.id, placed, utcnow())


async def same(runtime: Runtime, buyer_id: int) -> list[int]:
    async with runtime.db.engine.connect() as conn:
        return await same_person_buyer_ids(conn, buyer_id)


async def test_one_unionid_is_one_person_across_stores(runtime: Runtime, make_store) -> None:
    north, south = await make_store("北店"), await make_store("南店")
    in_north = await buyer(runtime, north, "o_north_1", "u_person")
    in_south = await buyer(runtime, south, "o_south_1", "u_person")
    someone_else = await buyer(runtime, south, "o_south_2", "u_other")
    assert await same(runtime, in_north) == [in_north, in_south]
    assert await same(runtime, in_south) == [in_north, in_south]
    assert await same(runtime, someone_else) == [someone_else]


async def test_without_a_unionid_a_buyer_is_known_in_their_store_only(runtime: Runtime, make_store) -> None:
    north, south = await make_store("北店"), await make_store("南店")
    # The same openid string in two stores is a coincidence (openids are per store), not a person.
    in_north = await buyer(runtime, north, "o_same")
    in_south = await buyer(runtime, south, "o_same")
    assert await same(runtime, in_north) == [in_north]
    assert await same(runtime, in_south) == [in_south]
    assert await same(runtime, 10**9) == []


async def test_a_unionid_learned_later_links_the_stores(runtime: Runtime, make_store) -> None:
    north, south = await make_store("北店"), await make_store("南店")
    in_north = await buyer(runtime, north, "o_n")
    in_south = await buyer(runtime, south, "o_s", "u_person")
    assert await same(runtime, in_north) == [in_north]
    # order/get tells the unionid; a later answer without it forgets nothing.
    await order(runtime, north, "3700000000000000001", "o_n", created=10, unionid="u_person")
    assert await same(runtime, in_north) == [in_north, in_south]
    await order(runtime, north, "3700000000000000002", "o_n", created=20)
    assert await same(runtime, in_north) == [in_north, in_south]


@pytest.fixture
async def two_stores_one_person(runtime: Runtime, make_store):
    north, south = await make_store("北店"), await make_store("南店")
    await order(runtime, north, "3700000000000000011", "o_n", created=100, unionid="u_person")
    await order(runtime, south, "3700000000000000022", "o_s", created=300, unionid="u_person")
    await order(runtime, north, "3700000000000000033", "o_n", created=200)
    await order(runtime, north, "3700000000000000044", "o_stranger", created=400)  # another buyer
    async with runtime.db.engine.connect() as conn:
        ids = dict((await conn.execute(sa.select(Buyer.openid, Buyer.id))).all())
    return north, south, ids["o_n"], ids["o_s"]


async def test_a_buyers_orders_across_stores_newest_first(
    runtime: Runtime, make_user, two_stores_one_person
) -> None:
    _, _, in_north, in_south = two_stores_one_person
    admin = await make_user("boss", Role.ADMIN)
    async with runtime.db.session() as session:
        orders = await orders_of_buyer(session, admin, in_north)
    assert [(o.order_id, o.store_name) for o in orders] == [
        ("3700000000000000022", "南店"),
        ("3700000000000000033", "北店"),
        ("3700000000000000011", "北店"),
    ]
    assert [o.create_time for o in orders] == sorted((o.create_time for o in orders), reverse=True)
    async with runtime.db.session() as session:
        assert [o.order_id for o in await orders_of_buyer(session, admin, in_south)] == [
            o.order_id for o in orders
        ]
        assert len(await orders_of_buyer(session, admin, in_north, limit=2)) == 2


async def test_a_buyers_orders_are_store_scoped(runtime: Runtime, make_user, two_stores_one_person) -> None:
    north, south, in_north, in_south = two_stores_one_person
    north_agent = await make_user("north_agent", Role.AGENT, [north])
    south_agent = await make_user("south_agent", Role.AGENT, [south])
    async with runtime.db.session() as session:
        # The same person's orders in a store the agent does not work for stay hidden.
        assert [o.order_id for o in await orders_of_buyer(session, north_agent, in_north)] == [
            "3700000000000000033",
            "3700000000000000011",
        ]
        assert [o.order_id for o in await orders_of_buyer(session, south_agent, in_south)] == [
            "3700000000000000022"
        ]
    # A buyer of a store one may not see is not found at all.
    for user, buyer_id in ((south_agent, in_north), (north_agent, in_south), (north_agent, 10**9)):
        with pytest.raises(NotFoundException):
            async with runtime.db.session() as session:
                await orders_of_buyer(session, user, buyer_id)
