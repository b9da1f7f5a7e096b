"""Binding return addresses to SKUs and products, one at a time and from a checked CSV file."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from desk.aftersales.addresses import return_address_for
from desk.aftersales.binding_csv import CsvScope
from desk.aftersales.binding_import import CheckedFile, PendingImports, apply_rows, check_file
from desk.aftersales.models import ReturnAddressBinding
from desk.aftersales.return_bindings import (
    BindingForm,
    BindingScope,
    bind,
    count_bindings,
    list_bindings,
    unbind,
)
from desk.audit.models import AuditEntry
from desk.audit.service import Actor
from desk.errors import Invalid
from desk.runtime import Runtime
from tests.aftersales.seed import sold, warehouses

ADMIN = Actor.user(1, "管理员")


async def checked(runtime: Runtime, store_id: int, data: bytes) -> CheckedFile:
    async with runtime.db.session() as session:
        result = await check_file(session, store_id, data)
    assert isinstance(result, CheckedFile), result
    return result


async def bindings(runtime: Runtime, store_id: int) -> dict[tuple[str, str], str]:
    async with runtime.db.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(
                ReturnAddressBinding.scope, ReturnAddressBinding.ref, ReturnAddressBinding.address_id
            ).where(ReturnAddressBinding.store_id == store_id)
        )
        return {(row.scope, row.ref): row.address_id for row in rows}


async def test_sku_beats_product_beats_store_default(runtime: Runtime, make_store: Any) -> None:
    store = await make_store()
    await sold(runtime, store.id, [("P1", "S1"), ("P1", "S2")])
    await warehouses(runtime, store.id, ["A1", "A2", "A3"], default="A3")
    async with runtime.db.session() as session:
        for form in (
            BindingForm(scope="store", address_id="A1"),
            BindingForm(scope="product", ref="P1", address_id="A2"),
            BindingForm(scope="sku", ref="S1", address_id="A3"),
        ):
            assert isinstance(await bind(session, store.id, form, actor=ADMIN), BindingScope)
    async with runtime.db.session() as session:
        s1 = await return_address_for(session, store.id, sku_id="S1", product_id="P1")
        s2 = await return_address_for(session, store.id, sku_id="S2", product_id="P1")
        other = await return_address_for(session, store.id, sku_id="S9", product_id="P9")
        views = await list_bindings(session, store.id)
    assert (s1 and s1.source, s1 and s1.address_id) == ("sku", "A3")
    assert (s2 and s2.source, s2 and s2.address_id) == ("product", "A2")
    assert (other and other.source, other and other.address_id) == ("store", "A1")
    assert [(v.scope, v.ref, v.address_id) for v in views] == [
        (BindingScope.STORE, "", "A1"),
        (BindingScope.PRODUCT, "P1", "A2"),
        (BindingScope.SKU, "S1", "A3"),
    ]
    assert views[0].address_label == "仓库A1 浙江省 杭州市 余杭区 文一西路 A1 号"


async def test_binding_again_replaces_and_unbinding_falls_back(runtime: Runtime, make_store: Any) -> None:
    store = await make_store()
    await sold(runtime, store.id, [("P1", "S1")])
    await warehouses(runtime, store.id, ["A1", "A2"], default="A2")
    async with runtime.db.session() as session:
        await bind(session, store.id, BindingForm(scope="sku", ref="S1", address_id="A1"), actor=ADMIN)
        await bind(session, store.id, BindingForm(scope="sku", ref="S1", address_id="A2"), actor=ADMIN)
    assert await bindings(runtime, store.id) == {("sku", "S1"): "A2"}
    async with runtime.db.session() as session:
        [view] = await list_bindings(session, store.id)
        assert await unbind(session, store.id, view.id, actor=ADMIN)
        assert not await unbind(session, store.id, view.id, actor=ADMIN)
        chosen = await return_address_for(session, store.id, sku_id="S1", product_id="P1")
    assert chosen is not None
    assert chosen.source == "platform_default"
    assert chosen.address_id == "A2"


async def test_a_bind_form_names_each_problem(runtime: Runtime, make_store: Any) -> None:
    store, other = await make_store(), await make_store()
    await sold(runtime, other.id, [("P1", "S1")])  # sold by another store only
    await warehouses(runtime, store.id, ["A1"])
    await warehouses(runtime, store.id, ["SHIP"], returns=False)
    cases = [
        (BindingForm(scope="", address_id="A1"), {"scope": "addresses.bind.choose_scope"}),
        (BindingForm(scope="sku", ref=" ", address_id="A1"), {"ref": "addresses.bind.missing_sku"}),
        (BindingForm(scope="sku", ref="S1", address_id="A1"), {"ref": "addresses.bind.unknown_sku"}),
        (BindingForm(scope="store", address_id="SHIP"), {"address_id": "addresses.bind.unknown_address"}),
    ]
    async with runtime.db.session() as session:
        for form, expected in cases:
            result = await bind(session, store.id, form, actor=ADMIN)
            assert isinstance(result, Invalid)
            assert {k: m.key for k, m in result.errors.items()} == expected
    assert await bindings(runtime, store.id) == {}


async def test_a_file_with_errors_reports_each_line_and_applies_nothing(
    runtime: Runtime, make_store: Any
) -> None:
    store = await make_store()
    await sold(runtime, store.id, [("P1", "S1"), ("P1", "S2"), ("P2", "S3")])
    await warehouses(runtime, store.id, ["A1", "A2"])
    data = b"sku_id,address_id\nS1,A1\nS404,A1\nS2,A404\nS1,A2\nS3,A2,x\nS3,A2\n"
    result = await checked(runtime, store.id, data)
    assert [(p.line, p.error.key) for p in result.problems] == [
        (3, "addresses.csv.unknown_sku"),
        (4, "addresses.csv.unknown_address"),
        (5, "addresses.csv.duplicate"),
        (6, "addresses.csv.columns"),
    ]
    assert [(r.line, r.ref, r.address_id) for r in result.rows] == [(2, "S1", "A1"), (7, "S3", "A2")]
    assert await bindings(runtime, store.id) == {}


async def test_product_files_check_products(runtime: Runtime, make_store: Any) -> None:
    store = await make_store()
    await sold(runtime, store.id, [("P1", "S1")])
    await warehouses(runtime, store.id, ["A1"])
    result = await checked(runtime, store.id, "product_id,address_id\nP1,A1\nS1,A1\n".encode("gbk"))
    assert result.scope is CsvScope.PRODUCT
    assert [(p.line, p.error.key) for p in result.problems] == [(3, "addresses.csv.unknown_product")]
    async with runtime.db.session() as session:
        assert await apply_rows(session, store.id, result.scope, result.rows, actor=ADMIN) == 1
    assert await bindings(runtime, store.id) == {("product", "P1"): "A1"}


async def test_valid_rows_wait_for_their_admin_and_are_taken_once(runtime: Runtime, make_store: Any) -> None:
    store = await make_store()
    await sold(runtime, store.id, [("P1", "S1")])
    await warehouses(runtime, store.id, ["A1"])
    result = await checked(runtime, store.id, b"sku_id,address_id\nS1,A1\nS2,A1\n")
    pending = PendingImports(runtime.kv("test-binding-imports"))
    token = await pending.put(store.id, 7, result)
    assert await pending.take(token, store.id, 8) is None  # another admin
    assert await pending.take(token, store.id + 1, 7) is None  # another store
    taken = await pending.take(token, store.id, 7)
    assert taken is not None
    assert taken[0] is CsvScope.SKU
    assert [r.ref for r in taken[1]] == ["S1"]
    assert await pending.take(token, store.id, 7) is None


async def test_ten_thousand_rows_are_checked_and_applied_in_bulk(runtime: Runtime, make_store: Any) -> None:
    store = await make_store()
    skus = [f"{9_000_000 + n}" for n in range(10_000)]
    await sold(runtime, store.id, [(f"P{n // 10}", sku) for n, sku in enumerate(skus)])
    await warehouses(runtime, store.id, ["A1", "A2"])
    lines = [f"{sku},{'A1' if n % 2 else 'A2'}" for n, sku in enumerate(skus)]
    lines[4_999] = "123,A1"  # unknown SKU on line 5001
    data = ("sku_id,address_id\r\n" + "\r\n".join(lines) + "\r\n").encode()
    result = await checked(runtime, store.id, data)
    assert [(p.line, p.ref) for p in result.problems] == [(5001, "123")]
    assert len(result.rows) == 9_999
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    sa.event.listen(runtime.db.engine.sync_engine, "before_cursor_execute", count)
    progress: list[int] = []
    try:
        async with runtime.db.session() as session:
            written = await apply_rows(
                session, store.id, result.scope, result.rows, actor=ADMIN, progress=progress.append
            )
    finally:
        sa.event.remove(runtime.db.engine.sync_engine, "before_cursor_execute", count)
    assert written == 9_999 == sum(progress)
    assert len([s for s in statements if "INSERT" in s]) <= 10 * 2  # a batch per 1,000 rows, not per row
    async with runtime.db.session() as session:
        counts = await count_bindings(session, store.id)
        chosen = await return_address_for(session, store.id, sku_id=skus[1], product_id="P0")
    assert counts[BindingScope.SKU] == 9_999
    assert chosen is not None
    assert chosen.address_id == "A1"
    assert chosen.source == "sku"


async def test_every_change_of_a_binding_is_in_the_audit_trail(runtime: Runtime, make_store: Any) -> None:
    store = await make_store()
    await sold(runtime, store.id, [("P1", "S1")])
    await warehouses(runtime, store.id, ["A1"])
    async with runtime.db.session() as session:
        await bind(session, store.id, BindingForm(scope="sku", ref="S1", address_id="A1"), actor=ADMIN)
        await bind(
            session, store.id, BindingForm(scope="sku", ref="S404", address_id="A1"), actor=ADMIN
        )  # refused
        [view] = await list_bindings(session, store.id)
        await unbind(session, store.id, view.id, actor=ADMIN)
    result = await checked(runtime, store.id, b"product_id,address_id\nP1,A1\n")
    async with runtime.db.session() as session:
        await apply_rows(
            session, store.id, result.scope, result.rows, actor=Actor("cli", "desk addresses import")
        )
    async with runtime.db.engine.connect() as conn:
        entries = (
            await conn.execute(
                sa.select(
                    AuditEntry.actor,
                    AuditEntry.actor_name,
                    AuditEntry.action,
                    AuditEntry.subject,
                    AuditEntry.details,
                )
                .where(AuditEntry.store_id == store.id)
                .order_by(AuditEntry.id)
            )
        ).all()
    assert [tuple(e) for e in entries] == [
        ("user:1", "管理员", "address.bind", "sku:S1", {"address_id": "A1"}),
        ("user:1", "管理员", "address.unbind", "sku:S1", {"address_id": "A1"}),
        (
            "cli",
            "desk addresses import",
            "address.import",
            f"store:{store.id}:bindings",
            {"scope": "product", "rows": 1},
        ),
    ]
