"""Settings → return addresses over HTTP: roles, sync and add through the worker, binding, CSV."""

from __future__ import annotations

import codecs
import html
import re

import httpx
import sqlalchemy as sa

from desk.accounts.models import Role
from desk.aftersales.address_book import save_addresses
from desk.aftersales.binding_csv import MAX_CSV_BYTES
from desk.aftersales.models import ReturnAddressBinding
from desk.commands.models import OutboundCommand
from desk.commands.service import enqueue
from desk.platform.channels_types import AddressDetail
from desk.runtime import Runtime
from tests.aftersales.seed import sold, warehouses
from tests.aftersales.test_actions import runner
from tests.conftest import login
from tests.ingest.conftest import Platform
from tests.shell.helpers import post_form


def text_of(page: str) -> str:
    """The page's visible text, tags dropped and entities decoded (what a reader sees)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


async def upload(
    client: httpx.AsyncClient, store_id: int, data: bytes, name: str = "一货一址.csv"
) -> httpx.Response:
    if "desk_csrf" not in client.cookies:
        await client.get("/login")
    return await client.post(
        f"/settings/addresses/{store_id}/import",
        files={"file": (name, data, "text/csv")},
        data={"_csrf_token": client.cookies["desk_csrf"]},
    )


async def bindings(runtime: Runtime, store_id: int) -> dict[tuple[str, str], str]:
    async with runtime.db.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(
                ReturnAddressBinding.scope, ReturnAddressBinding.ref, ReturnAddressBinding.address_id
            ).where(ReturnAddressBinding.store_id == store_id)
        )
        return {(row.scope, row.ref): row.address_id for row in rows}


def new_form(page: str) -> dict[str, str]:
    (key,) = re.findall(r'name="request_key" value="([^"]+)"', page)
    return {
        "request_key": key,
        "name": "杭州退货仓",
        "receiver": "王仓管",
        "phone": "0571-88886666",
        "province": "浙江省",
        "city": "杭州市",
        "county": "余杭区",
        "detail": "文一西路 998 号",
    }


# -- roles ------------------------------------------------------------------------------------------


async def test_only_admins_manage_return_addresses(client, app, runtime, make_user, make_store) -> None:
    store = await make_store()
    await sold(runtime, store.id, [("P1", "S1")])
    await warehouses(runtime, store.id, ["A1"])
    for username, role in (("agent", Role.AGENT), ("boss", Role.MANAGER)):
        await login(client, app, await make_user(username, role, [store]))
        for path in (
            "/settings/addresses",
            f"/settings/addresses/{store.id}/new",
            f"/settings/addresses/{store.id}/import",
            f"/settings/addresses/{store.id}/export",
        ):
            assert (await client.get(path)).status_code == 403, path
        for path, data in (
            (f"/settings/addresses/{store.id}/sync", {}),
            (f"/settings/addresses/{store.id}/new", {"receiver": "x"}),
            (f"/settings/addresses/{store.id}/bindings", {"scope": "sku", "ref": "S1", "address_id": "A1"}),
        ):
            assert (await post_form(client, path, data)).status_code == 403, path
        assert (await upload(client, store.id, b"sku_id,address_id\nS1,A1\n")).status_code == 403
    assert await bindings(runtime, store.id) == {}
    async with runtime.db.engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(OutboundCommand))).scalar() == 0


async def test_pages_need_a_login_and_forms_their_csrf_token(client, app, make_user, make_store) -> None:
    store = await make_store()
    response = await client.get("/settings/addresses")
    assert response.status_code in (302, 303)
    assert response.headers["location"].startswith("/login")
    await login(client, app, await make_user("root", Role.ADMIN))
    await client.get("/settings/addresses")
    refused = await client.post(f"/settings/addresses/{store.id}/sync", data={})
    assert refused.status_code == 403


async def test_the_settings_page_links_to_return_addresses(client, app, make_user) -> None:
    await login(client, app, await make_user("root", Role.ADMIN))
    page = await client.get("/settings")
    assert 'href="/settings/addresses"' in page.text
    assert "退货地址" in page.text


async def test_an_unknown_store_is_not_found(client, app, make_user) -> None:
    await login(client, app, await make_user("root", Role.ADMIN))
    assert (await client.get("/settings/addresses?store=999999")).status_code == 404
    assert (await client.get("/settings/addresses/999999/import")).status_code == 404
    assert (await post_form(client, "/settings/addresses/999999/sync", {})).status_code == 404


# -- sync and add, through the worker ----------------------------------------------------------------


async def test_an_admin_syncs_the_stores_addresses_and_sees_them(
    platform: Platform, client, app, make_user
) -> None:
    store, appid = platform.stores[0], platform.appids[0]
    await login(client, app, await make_user("root", Role.ADMIN))
    page = await client.get(f"/settings/addresses?store={store.id}")
    (key,) = re.findall(r'name="request_key" value="([^"]+)"', page.text)
    first = await post_form(client, f"/settings/addresses/{store.id}/sync", {"request_key": key})
    again = await post_form(client, f"/settings/addresses/{store.id}/sync", {"request_key": key})
    assert first.status_code == again.status_code == 302
    assert first.headers["location"] == again.headers["location"]  # one command for a double click
    (command_id,) = re.findall(r"command=(\d+)", first.headers["location"])
    progress = await client.get(
        f"/settings/addresses/{store.id}/commands/{command_id}", headers={"HX-Request": "true"}
    )
    assert "hx-trigger" in progress.text
    assert "HX-Refresh" not in progress.headers
    await runner(platform).drain()
    assert platform.sim.api.calls_by_path["merchant/address/list"] == 1
    progress = await client.get(
        f"/settings/addresses/{store.id}/commands/{command_id}", headers={"HX-Request": "true"}
    )
    assert progress.headers["HX-Refresh"] == "true"
    page = await client.get(first.headers["location"])
    on_platform = platform.sim.world.stores[appid].addresses
    assert f"平台上共有 {len(on_platform)} 个地址" in text_of(page.text)
    for address_id, address in on_platform.items():
        assert f'data-address-id="{address_id}"' in page.text
        assert address.address_info.detail_info in text_of(page.text)
    assert 'hx-trigger="every 1s"' not in page.text  # finished: no more polling


async def test_an_address_form_submitted_twice_adds_one_address(
    platform: Platform, client, app, make_user
) -> None:
    store = platform.stores[0]
    await login(client, app, await make_user("root", Role.ADMIN))
    form = new_form((await client.get(f"/settings/addresses/{store.id}/new")).text)
    first = await post_form(client, f"/settings/addresses/{store.id}/new", form)
    second = await post_form(client, f"/settings/addresses/{store.id}/new", form)
    assert first.status_code == second.status_code == 302
    assert first.headers["location"] == second.headers["location"]
    await runner(platform).drain()
    assert platform.sim.api.calls_by_path["merchant/address/add"] == 1
    page = await client.get(first.headers["location"])
    assert "地址已添加到平台" in text_of(page.text)
    assert "文一西路 998 号" in text_of(page.text)


async def test_a_refused_address_form_shows_each_problem_inline_and_queues_nothing(
    client, app, runtime, make_user, make_store
) -> None:
    store = await make_store()
    await login(client, app, await make_user("root", Role.ADMIN))
    form = new_form((await client.get(f"/settings/addresses/{store.id}/new")).text)
    form.update(receiver="", phone="打电话", detail="<b>仓</b>")
    response = await post_form(client, f"/settings/addresses/{store.id}/new", form)
    assert response.status_code == 400
    text = text_of(response.text)
    assert "请填写联系人。" in text
    assert "请填写有效的电话号码" in text
    assert 'value="&lt;b&gt;仓&lt;/b&gt;"' in response.text  # kept, and escaped
    assert f'value="{form["request_key"]}"' in response.text  # the same key: a resubmit is still one add
    async with runtime.db.engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(OutboundCommand))).scalar() == 0


# -- binding ------------------------------------------------------------------------------------------


async def test_an_admin_binds_and_sees_which_address_wins(
    client, app, runtime, make_user, make_store
) -> None:
    store = await make_store()
    await sold(runtime, store.id, [("P1", "S1"), ("P1", "S2")])
    await warehouses(runtime, store.id, ["A1", "A2"])
    await login(client, app, await make_user("root", Role.ADMIN))
    for data in (
        {"scope": "product", "ref": "P1", "address_id": "A1"},
        {"scope": "sku", "ref": "S1", "address_id": "A2"},
    ):
        response = await post_form(client, f"/settings/addresses/{store.id}/bindings", data)
        assert response.status_code == 302
    assert await bindings(runtime, store.id) == {("product", "P1"): "A1", ("sku", "S1"): "A2"}
    s1 = text_of((await client.get(f"/settings/addresses?store={store.id}&sku=S1&product=P1")).text)
    assert "地址 ID A2" in s1
    assert "因为这个 SKU 绑定了它" in s1
    s2 = text_of((await client.get(f"/settings/addresses?store={store.id}&sku=S2&product=P1")).text)
    assert "地址 ID A1" in s2
    assert "因为这个商品绑定了它" in s2
    none = text_of((await client.get(f"/settings/addresses?store={store.id}&sku=S9&product=P9")).text)
    assert "没有匹配的绑定" in none


async def test_a_refused_binding_says_why_inline(client, app, runtime, make_user, make_store) -> None:
    store = await make_store()
    await warehouses(runtime, store.id, ["A1"])
    await login(client, app, await make_user("root", Role.ADMIN))
    response = await post_form(
        client,
        f"/settings/addresses/{store.id}/bindings",
        {"scope": "sku", "ref": "S404", "address_id": "A1"},
    )
    assert response.status_code == 400
    assert "这个店铺的订单和售后中没有 SKU S404" in text_of(response.text)
    assert await bindings(runtime, store.id) == {}


async def test_removing_a_binding_of_another_store_is_not_found(
    client, app, runtime, make_user, make_store
) -> None:
    store, other = await make_store(), await make_store()
    await sold(runtime, store.id, [("P1", "S1")])
    await warehouses(runtime, store.id, ["A1"])
    await login(client, app, await make_user("root", Role.ADMIN))
    await post_form(
        client, f"/settings/addresses/{store.id}/bindings", {"scope": "sku", "ref": "S1", "address_id": "A1"}
    )
    async with runtime.db.engine.connect() as conn:
        binding_id = (await conn.execute(sa.select(ReturnAddressBinding.id))).scalar_one()
    assert (
        await post_form(client, f"/settings/addresses/{other.id}/bindings/{binding_id}/delete", {})
    ).status_code == 404
    assert (
        await post_form(client, f"/settings/addresses/{store.id}/bindings/{binding_id}/delete", {})
    ).status_code == 302
    assert await bindings(runtime, store.id) == {}


# -- CSV ------------------------------------------------------------------------------------------------


async def test_a_file_with_errors_applies_nothing_until_the_valid_rows_are_chosen(
    client, app, runtime, make_user, make_store
) -> None:
    store = await make_store()
    await sold(runtime, store.id, [("P1", "S1"), ("P1", "S2")])
    await warehouses(runtime, store.id, ["A1"])
    root, other_admin = await make_user("root", Role.ADMIN), await make_user("root2", Role.ADMIN)
    await login(client, app, root)
    data = "sku_id,address_id\nS1,A1\nS404,A1\nS2,A1\n".encode("gbk")
    response = await upload(client, store.id, data)
    assert response.status_code == 400
    text = text_of(response.text)
    assert "1 行有问题，还没有导入任何内容。" in text
    assert "第 3 行" in text
    assert "未知的 SKU S404" in text
    assert await bindings(runtime, store.id) == {}
    (apply_path,) = re.findall(r'action="(/settings/addresses/\d+/import/[^"]+)"', response.text)
    # Another admin cannot apply this admin's checked file.
    other = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    async with other:
        await login(other, app, other_admin)
        stolen = await post_form(other, apply_path, {})
        assert stolen.status_code == 400
        assert "这次导入已过期或已经完成" in text_of(stolen.text)
    assert await bindings(runtime, store.id) == {}
    applied = await post_form(client, apply_path, {})
    assert applied.status_code == 302
    assert await bindings(runtime, store.id) == {("sku", "S1"): "A1", ("sku", "S2"): "A1"}
    assert "已导入 2 条绑定" in text_of((await client.get(applied.headers["location"])).text)
    assert (await post_form(client, apply_path, {})).status_code == 400  # once


async def test_a_clean_file_is_applied_at_once_and_exports_back(
    client, app, runtime, make_user, make_store
) -> None:
    store = await make_store()
    await sold(runtime, store.id, [("P1", "S1"), ("P2", "S2")])
    await warehouses(runtime, store.id, ["A1", "A2"])
    await login(client, app, await make_user("root", Role.ADMIN))
    data = codecs.BOM_UTF8 + b"product_id,address_id\r\nP1,A1\r\nP2,A2\r\n"
    response = await upload(client, store.id, data)
    assert response.status_code == 302
    assert await bindings(runtime, store.id) == {("product", "P1"): "A1", ("product", "P2"): "A2"}
    export = await client.get(f"/settings/addresses/{store.id}/export?scope=product")
    assert export.headers["content-type"].startswith("text/csv")
    assert export.content == codecs.BOM_UTF8 + b"product_id,address_id\r\nP1,A1\r\nP2,A2\r\n"
    assert (await client.get(f"/settings/addresses/{store.id}/export?scope=sku")).content.endswith(
        b"sku_id,address_id\r\n"
    )


async def test_files_refused_as_a_whole_say_why_on_the_form(
    client, app, runtime, make_user, make_store
) -> None:
    store = await make_store()
    await login(client, app, await make_user("root", Role.ADMIN))
    cases: list[tuple[bytes, str]] = [
        (b"", "文件是空的"),
        (b"sku,address\n1,2\n", "第 1 行应为表头"),
        (b"PK\x03\x04xlsx", "Excel 工作簿"),
        (
            b"sku_id,address_id\n" + b"1234567890,1\n" * (50 * 1024 * 1024 // 13),
            f"文件超过 {MAX_CSV_BYTES // 1024 // 1024} MB",
        ),
    ]
    for data, expected in cases:
        response = await upload(client, store.id, data)
        assert response.status_code == 400, expected
        assert expected in text_of(response.text)
    assert await bindings(runtime, store.id) == {}


async def test_ten_thousand_rows_upload_in_one_go(client, app, runtime, make_user, make_store) -> None:
    store = await make_store()
    skus = [str(7_000_000 + n) for n in range(10_000)]
    await sold(runtime, store.id, [("P1", sku) for sku in skus])
    await warehouses(runtime, store.id, ["A1"])
    await login(client, app, await make_user("root", Role.ADMIN))
    data = ("sku_id,address_id\n" + "".join(f"{sku},A1\n" for sku in skus)).encode()
    response = await upload(client, store.id, data)
    assert response.status_code == 302
    assert "count=10000" in response.headers["location"]
    page = text_of((await client.get(f"/settings/addresses?store={store.id}")).text)
    assert "SKU 绑定 10000 条" in page
    assert "仅显示前 200 条，共 10000 条" in page


async def test_rows_whose_address_went_meanwhile_are_reported_again_not_applied(
    client, app, runtime, make_user, make_store
) -> None:
    store = await make_store()
    await sold(runtime, store.id, [("P1", "S1"), ("P1", "S2")])
    await warehouses(runtime, store.id, ["A1", "A2"])
    await login(client, app, await make_user("root", Role.ADMIN))
    response = await upload(client, store.id, b"sku_id,address_id\nS1,A1\nS2,A2\nS404,A1\n")
    (apply_path,) = re.findall(r'action="(/settings/addresses/\d+/import/[^"]+)"', response.text)
    a1 = AddressDetail(address_id="A1", name="仓库A1", recv_addr=True)
    async with runtime.db.session() as session:  # a sync meanwhile found A2 deleted on the platform
        await save_addresses(session, store.id, [a1], complete=True)
    again = await post_form(client, apply_path, {})
    assert again.status_code == 400
    text = text_of(again.text)
    assert "未知的地址 A2" in text
    assert "只导入这 1 行" in text
    assert await bindings(runtime, store.id) == {}
    (apply_path,) = re.findall(r'action="(/settings/addresses/\d+/import/[^"]+)"', again.text)
    assert (await post_form(client, apply_path, {})).status_code == 302
    assert await bindings(runtime, store.id) == {("sku", "S1"): "A1"}


async def test_an_add_the_platform_refuses_says_why_in_words(
    platform: Platform, client, app, make_user
) -> None:
    """The form cannot produce it, so the command is stored as a hand-made client would."""
    store = platform.stores[0]
    await login(client, app, await make_user("root", Role.ADMIN))
    async with platform.runtime.db.session() as session:
        ref = await enqueue(
            session,
            None,
            store_id=store.id,
            kind="address.add",
            key="address.add:bad",
            payload={"address_detail": {"name": "缺字段", "recv_addr": True}},
        )
    await runner(platform).drain()
    page = await client.get(f"/settings/addresses?store={store.id}&command={ref.id}")
    shown = text_of(page.text)
    assert "没有完成： 请求参数有误，平台拒绝了这次调用。" in shown
    assert 'data-state="done"' in page.text
    assert platform.sim.api.calls_by_path["merchant/address/add"] == 1


async def test_the_page_speaks_english_when_asked(client, app, runtime, make_user, make_store) -> None:
    store = await make_store()
    await warehouses(runtime, store.id, ["A1"])
    await login(client, app, await make_user("root", Role.ADMIN))
    client.cookies.set("desk_lang", "en")
    shown = text_of((await client.get(f"/settings/addresses?store={store.id}")).text)
    assert "Return addresses" in shown
    assert "Sync addresses from the platform" in shown
    assert "One SKU, one address" in shown
    assert "退货地址" not in shown


async def test_a_body_over_the_servers_limit_gets_a_page_saying_so(
    client, app, make_user, make_store
) -> None:
    store = await make_store()
    await login(client, app, await make_user("root", Role.ADMIN))
    response = await post_form(client, f"/settings/addresses/{store.id}/bindings", {"ref": "1" * 11_000_000})
    assert response.status_code == 413
    assert "上传的内容太大，没有保存任何内容。" in text_of(response.text)


async def test_a_binding_to_an_address_gone_from_the_platform_is_flagged(
    client, app, runtime, make_user, make_store
) -> None:
    store = await make_store()
    await sold(runtime, store.id, [("P1", "S1")])
    await warehouses(runtime, store.id, ["A1", "A2"])
    await login(client, app, await make_user("root", Role.ADMIN))
    await post_form(
        client, f"/settings/addresses/{store.id}/bindings", {"scope": "sku", "ref": "S1", "address_id": "A2"}
    )
    async with runtime.db.session() as session:  # a sync found A2 deleted on the platform
        await save_addresses(
            session, store.id, [AddressDetail(address_id="A1", recv_addr=True)], complete=True
        )
    page = text_of((await client.get(f"/settings/addresses?store={store.id}&sku=S1&product=P1")).text)
    assert page.count("地址已不在平台上，请重新绑定") == 2  # in the bindings and in the answer
