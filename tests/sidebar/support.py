"""A buyer with orders and after-sales on the simulated platform, and the desk's app over it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import sqlalchemy as sa
from litestar import Litestar

from desk.accounts.models import User
from desk.aftersales.models import MerchantAddress, ReturnAddressBinding
from desk.app import create_app
from desk.background import COMMAND_KINDS
from desk.commands.runner import CommandRunner
from desk.inbox.models import Conversation
from desk.simulator.state import SimAfterSale, SimOrder
from tests.conftest import app_lifespan, csrf_headers, login
from tests.ingest.conftest import Platform

HTMX = {"HX-Request": "true"}
ACCEPT = "aftersale/acceptapply"


@dataclass
class Shopper:
    """A buyer of store 0 who chatted, with a paid order and a return request on a shipped one."""

    openid: str
    conversation_id: int
    paid: SimOrder
    shipped: SimOrder
    aftersale: SimAfterSale


def runner(platform: Platform) -> CommandRunner:
    settings = platform.runtime.settings.with_changes(
        command_backoff_base_s=0.001, command_backoff_max_s=0.002
    )
    return CommandRunner(platform.runtime.db, settings, platform.clients, COMMAND_KINDS, name="test-runner")


async def shopper(platform: Platform, *, kind: str = "RETURN", store: int = 0) -> Shopper:
    sim, appid = platform.sim, platform.appids[store]
    openid = sim.new_buyer(appid)
    paid = sim.create_order(appid, openid)
    shipped = sim.create_order(appid, openid)
    sim.ship_order(appid, shipped.order_id)
    aftersale = sim.open_aftersale(appid, shipped.order_id, kind, desc="尺码偏小，想退货")
    sim.buyer_says(appid, openid, "我想退货")
    await platform.settle()
    async with platform.runtime.db.engine.connect() as conn:
        conversation_id = (
            await conn.execute(sa.select(Conversation.id).where(Conversation.peer_id == openid))
        ).scalar_one()
    return Shopper(
        openid=openid,
        conversation_id=conversation_id,
        paid=paid,
        shipped=shipped,
        aftersale=aftersale,
    )


async def bind_return_addresses(
    platform: Platform, aftersale: SimAfterSale, store: int = 0
) -> tuple[str, str]:
    """Copy the simulated store's return addresses into the desk (as the address sync would) and
    bind the first to the after-sale's SKU, the second as the store default; their ids."""
    sim_store = platform.sim.store_state(platform.appids[store])
    returns = [a for a in sim_store.addresses.values() if a.recv_addr]
    assert len(returns) >= 2, "the simulated store needs two return addresses"
    store_id = platform.stores[store].id
    async with platform.runtime.db.session() as session:
        for address in returns:
            session.add(
                MerchantAddress(
                    store_id=store_id,
                    address_id=address.address_id,
                    name=address.name,
                    region=" ".join(
                        (
                            address.address_info.province_name,
                            address.address_info.city_name,
                            address.address_info.county_name,
                        )
                    ),
                    detail=address.address_info.detail_info,
                    is_return=True,
                )
            )
        session.add(
            ReturnAddressBinding(
                store_id=store_id, scope="sku", ref=aftersale.sku_id, address_id=returns[0].address_id
            )
        )
        session.add(
            ReturnAddressBinding(store_id=store_id, scope="store", ref="", address_id=returns[1].address_id)
        )
    return returns[0].address_id, returns[1].address_id


@asynccontextmanager
async def desk_client(platform: Platform) -> AsyncIterator[tuple[Litestar, httpx.AsyncClient]]:
    """The desk app over the platform's runtime (its API calls reach the simulator), in-process."""
    app = create_app(runtime=platform.runtime)
    async with (
        app_lifespan(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        yield app, client


async def signed_in(client: httpx.AsyncClient, app: Litestar, user: User) -> dict[str, str]:
    client.cookies.clear()
    await login(client, app, user)
    await client.get("/inbox")  # the CSRF cookie
    return {**HTMX, **csrf_headers(client)}
