"""The scan page (扫码退单) and the warehouse role: what a packer reaches, and scans over HTTP."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa
from litestar import Litestar

from desk.accounts.models import Role
from desk.aftersales.models import AfterSale
from desk.commands.models import CommandState, OutboundCommand
from tests.aftersales.test_actions import ACCEPT, runner
from tests.aftersales.test_scan import parcels_on_their_way_back
from tests.conftest import csrf_headers, login
from tests.ingest.conftest import Platform
from tests.orders.test_api import bearer
from tests.shell.helpers import post_form

HX = {"HX-Request": "true"}


def test_the_warehouse_role_ranks_below_the_others_which_keep_their_order() -> None:
    assert Role.AGENT.at_least(Role.WAREHOUSE)
    assert not Role.WAREHOUSE.at_least(Role.AGENT)
    assert Role.MANAGER.at_least(Role.AGENT)
    assert Role.ADMIN.at_least(Role.MANAGER)
    assert not Role.AGENT.at_least(Role.MANAGER)
    assert not Role.MANAGER.at_least(Role.ADMIN)


async def test_a_warehouse_user_reaches_the_scan_page_only(
    client, app, runtime, make_user, make_store
) -> None:
    store = await make_store("旗舰店")
    packer = await make_user("packer", Role.WAREHOUSE, [store])
    await login(client, app, packer)

    home = await client.get("/")
    assert home.status_code in (302, 303)
    assert home.headers["location"] == "/warehouse"
    page = await client.get("/warehouse")
    assert page.status_code == 200
    assert re.search(r'<input id="scan-waybill"[^>]*autofocus', page.text)
    nav = re.search(r'<nav class="nav".*?</nav>', page.text, re.S)
    assert nav is not None
    assert re.findall(r'href="([^"]+)"', nav.group(0)) == ["/warehouse"]
    for path in (
        "/inbox",
        "/dashboard",
        "/settings",
        "/settings/users",
        "/inbox/search?q=1",
        "/no-such-page",
    ):
        r = await client.get(path)
        assert r.status_code in (302, 303), path
        assert r.headers["location"] == "/warehouse", path
    hx = await client.get("/inbox", headers=HX)
    assert hx.status_code == 403
    assert hx.headers["hx-redirect"] == "/warehouse"
    api = await client.get("/api/v1/aftersales/1", headers=await bearer(runtime, packer))
    assert api.status_code == 403
    assert "scan page" in api.json()["detail"]


@pytest.mark.parametrize("role", [Role.AGENT, Role.MANAGER, Role.ADMIN])
async def test_every_other_role_may_scan_too(client, app, make_user, make_store, role: Role) -> None:
    await login(client, app, await make_user("someone", role, [await make_store()]))
    page = await client.get("/warehouse")
    assert page.status_code == 200
    assert "扫码退单" in page.text


async def test_an_admin_creates_a_warehouse_user_in_the_user_admin(
    client, app, make_user, make_store
) -> None:
    store = await make_store("旗舰店")
    await login(client, app, await make_user("root", Role.ADMIN))
    form = await client.get("/settings/users/new")
    assert 'value="warehouse"' in form.text
    assert "只能使用扫码退单" in form.text
    r = await post_form(
        client,
        "/settings/users",
        {
            "username": "cangku",
            "display_name": "仓库 老周",
            "role": "warehouse",
            "stores": str(store.id),
            "password": "a-long-enough-password",
        },
    )
    assert r.status_code in (302, 303)
    listing = await client.get(r.headers["location"])
    assert "cangku" in listing.text
    assert "仓库" in listing.text


async def test_a_scan_needs_the_csrf_token_and_bad_input_is_told_in_the_row(
    client, app, make_user, make_store
) -> None:
    await login(client, app, await make_user("packer", Role.WAREHOUSE, [await make_store()]))
    await client.get("/warehouse")
    forged = await client.post("/warehouse/scan", data={"waybill": "YT1"}, headers=HX)
    assert forged.status_code == 403
    empty = await client.post(
        "/warehouse/scan", data={"waybill": "  "}, headers={**HX, **csrf_headers(client)}
    )
    assert empty.status_code == 422
    assert "请扫描或输入运单号" in empty.text
    assert "<html" not in empty.text
    evil = await client.post(
        "/warehouse/scan", data={"waybill": "<script>x</script>"}, headers={**HX, **csrf_headers(client)}
    )
    assert evil.status_code == 422
    assert "<script>x" not in evil.text
    unknown = await client.post(
        "/warehouse/scan", data={"waybill": "yt 123"}, headers={**HX, **csrf_headers(client)}
    )
    assert unknown.status_code == 200
    assert 'data-scan-outcome="unknown"' in unknown.text
    assert "YT123" in unknown.text
    plain = await post_form(client, "/warehouse/scan", {"waybill": "YT123"})  # without JavaScript
    assert plain.status_code == 200
    assert "<html" in plain.text
    assert 'data-scan-outcome="unknown"' in plain.text


@pytest.fixture
async def desk_http(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """Real HTTP to the desk the simulated platform pushes to."""
    async with httpx.AsyncClient(base_url=platform.desk_url) as http:
        yield http


async def test_a_packer_keeps_scanning_parcel_after_parcel_and_each_is_refunded_once(
    platform: Platform, desk_http: httpx.AsyncClient, app: Litestar, make_user
) -> None:
    parcels = await parcels_on_their_way_back(platform, 8)
    packer = await make_user("packer", Role.WAREHOUSE, [platform.stores[0]])
    await login(desk_http, app, packer)
    await desk_http.get("/warehouse")
    calls = platform.sim.api.calls_by_path[ACCEPT]

    rows = []
    for parcel in parcels:  # one after the other, as fast as the desk answers
        r = await desk_http.post(
            "/warehouse/scan",
            data={"waybill": parcel.return_waybill[0]},
            headers={**HX, **csrf_headers(desk_http)},
        )
        assert r.status_code == 200
        rows.append(r.text)
    assert all('data-scan-outcome="confirmed"' in row for row in rows)
    command_ids = [int(re.search(r"/warehouse/scans/(\d+)", row).group(1)) for row in rows]  # type: ignore[union-attr]
    pending = await desk_http.get(f"/warehouse/scans/{command_ids[0]}")
    assert 'hx-trigger="load delay:1s"' in pending.text  # still polled

    await runner(platform).drain()
    await platform.settle()
    assert platform.sim.api.calls_by_path[ACCEPT] == calls + len(parcels)
    assert all(p.status in ("PLATFORM_REFUNDING", "MERCHANT_REFUND_SUCCESS") for p in parcels)
    done = await desk_http.get(f"/warehouse/scans/{command_ids[0]}")
    assert 'data-state="succeeded"' in done.text
    assert "hx-trigger" not in done.text  # settled: polling stops


async def test_a_scan_s_refund_state_is_shown_to_its_stores_only(
    platform: Platform, desk_http: httpx.AsyncClient, app: Litestar, make_user
) -> None:
    (parcel,) = await parcels_on_their_way_back(platform)
    packer = await make_user("packer", Role.WAREHOUSE, [platform.stores[0]])
    await login(desk_http, app, packer)
    await desk_http.get("/warehouse")
    r = await desk_http.post(
        "/warehouse/scan",
        data={"waybill": parcel.return_waybill[0]},
        headers={**HX, **csrf_headers(desk_http)},
    )
    command_id = int(re.search(r"/warehouse/scans/(\d+)", r.text).group(1))  # type: ignore[union-attr]
    elsewhere = await make_user("elsewhere", Role.WAREHOUSE, [platform.stores[1]])
    desk_http.cookies.clear()
    await login(desk_http, app, elsewhere)
    assert (await desk_http.get(f"/warehouse/scans/{command_id}")).status_code == 404
    assert (await desk_http.get("/warehouse/scans/999999")).status_code == 404
    async with platform.runtime.db.session() as session:
        command = await session.get_one(OutboundCommand, command_id)
        assert command.state is CommandState.QUEUED


async def test_two_returns_in_one_parcel_are_offered_as_a_choice_on_the_page(
    platform: Platform, desk_http: httpx.AsyncClient, app: Litestar, make_user
) -> None:
    first, second = await parcels_on_their_way_back(platform, 2)
    waybill = first.return_waybill[0]
    async with platform.runtime.db.engine.begin() as conn:
        await conn.execute(
            sa.update(AfterSale)
            .where(AfterSale.after_sale_order_id == second.after_sale_order_id)
            .values(return_waybill_id=waybill)
        )
    await login(desk_http, app, await make_user("packer", Role.WAREHOUSE, [platform.stores[0]]))
    await desk_http.get("/warehouse")
    headers = {**HX, **csrf_headers(desk_http)}

    choice = await desk_http.post("/warehouse/scan", data={"waybill": waybill}, headers=headers)

    assert 'data-scan-outcome="choose"' in choice.text
    offered = re.findall(r'name="after_sale_order_id" value="(\d+)"', choice.text)
    assert sorted(offered) == sorted([first.after_sale_order_id, second.after_sale_order_id])
    assert 'hx-target="closest .scan-row"' in choice.text
    chosen = await desk_http.post(
        "/warehouse/scan",
        data={"waybill": waybill, "after_sale_order_id": second.after_sale_order_id},
        headers=headers,
    )
    assert 'data-scan-outcome="confirmed"' in chosen.text
    assert second.after_sale_order_id in chosen.text
    desk_http.cookies.set("desk_lang", "en")
    english = await desk_http.post("/warehouse/scan", data={"waybill": waybill}, headers=headers)
    # The desk learns the chosen one's new status when the worker has run: both are still offered.
    assert "2 after-sales await this parcel" in english.text
