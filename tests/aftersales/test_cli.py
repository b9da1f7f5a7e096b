"""``desk addresses import`` / ``export`` against the test database."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from desk.aftersales.models import ReturnAddressBinding
from desk.runtime import Runtime
from desk.settings import Settings
from tests.aftersales.seed import sold, warehouses
from tests.shell.helpers import run_cli


async def bindings(runtime: Runtime, store_id: int) -> dict[tuple[str, str], str]:
    async with runtime.db.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(
                ReturnAddressBinding.scope, ReturnAddressBinding.ref, ReturnAddressBinding.address_id
            ).where(ReturnAddressBinding.store_id == store_id)
        )
        return {(row.scope, row.ref): row.address_id for row in rows}


async def test_problems_are_listed_by_line_and_nothing_is_imported(
    settings: Settings, runtime: Runtime, make_store: Any, tmp_path: Path
) -> None:
    store = await make_store(name="山野茶铺")
    await sold(runtime, store.id, [("P1", "S1")])
    await warehouses(runtime, store.id, ["A1"])
    path = tmp_path / "bindings.csv"
    path.write_bytes("sku_id,address_id\nS1,A1\nS404,A1\nS1,A1\n".encode("gbk"))
    result = await run_cli(settings, "addresses", "import", str(path), "--store", "山野茶铺")
    assert result.exit_code == 1, result.output
    assert f"{path}:3: Unknown SKU S404" in result.output
    assert f"{path}:4: Same as line 2." in result.output
    assert "nothing was imported" in result.output
    assert "--apply-valid to import the 1 valid line(s)" in result.output
    assert await bindings(runtime, store.id) == {}


async def test_apply_valid_imports_the_good_lines_with_a_progress_bar(
    settings: Settings, runtime: Runtime, make_store: Any, tmp_path: Path
) -> None:
    store = await make_store(name="山野茶铺")
    skus = [str(8_000_000 + n) for n in range(10_000)]
    await sold(runtime, store.id, [("P1", sku) for sku in skus])
    await warehouses(runtime, store.id, ["A1"])
    path = tmp_path / "bindings.csv"
    path.write_bytes(
        codecs.BOM_UTF8 + ("sku_id,address_id\n" + "".join(f"{s},A1\n" for s in [*skus, "1"])).encode()
    )
    args = ("addresses", "import", str(path), "--store", store.key, "--apply-valid")
    result = await run_cli(settings, *args)
    assert result.exit_code == 0, result.output
    assert f"{path}:10002: Unknown SKU 1" in result.output
    assert "Binding" in result.output  # the progress bar
    assert "imported 10000 sku binding(s) into 山野茶铺; 1 line(s) with problems skipped" in result.output
    assert len(await bindings(runtime, store.id)) == 10_000


async def test_unreadable_files_and_unknown_stores_get_one_clear_message(
    settings: Settings, runtime: Runtime, make_store: Any, tmp_path: Path
) -> None:
    await make_store(name="山野茶铺")
    empty, big, bad = tmp_path / "empty.csv", tmp_path / "big.csv", tmp_path / "bad.csv"
    empty.write_bytes(b"")
    with big.open("wb") as fh:
        fh.write(b"sku_id,address_id\n")
        fh.write(b"1234567890,1\n" * (50 * 1024 * 1024 // 13))
    bad.write_bytes(b'sku_id,address_id\n1,2\n3,"4\n')
    cases = {
        (str(empty), "山野茶铺"): f"{empty}: The file is empty.",
        (str(big), "山野茶铺"): f"{big}: The file is over 8 MB",
        (str(bad), "山野茶铺"): f"{bad}: Line 3 is not valid CSV",
        (str(tmp_path / "missing.csv"), "山野茶铺"): "cannot read it",
        (str(empty), "no such store"): "--store: no store is named 'no such store'",
    }
    for (path, store), expected in cases.items():
        result = await run_cli(settings, "addresses", "import", path, "--store", store)
        assert result.exit_code == 2, result.output
        assert expected in result.output, result.output


async def test_export_writes_what_import_reads(
    settings: Settings, runtime: Runtime, make_store: Any, tmp_path: Path
) -> None:
    store = await make_store(name="山野茶铺")
    await sold(runtime, store.id, [("P1", "S1"), ("P2", "S2")])
    await warehouses(runtime, store.id, ["A1", "A2"])
    path = tmp_path / "in.csv"
    path.write_bytes(b"product_id,address_id\nP2,A2\nP1,A1\n")
    assert (await run_cli(settings, "addresses", "import", str(path), "--store", "山野茶铺")).exit_code == 0
    out = tmp_path / "out.csv"
    result = await run_cli(
        settings, "addresses", "export", "--store", "山野茶铺", "--scope", "product", "-o", str(out)
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == codecs.BOM_UTF8 + b"product_id,address_id\r\nP1,A1\r\nP2,A2\r\n"
    stdout = await run_cli(settings, "addresses", "export", "--store", "山野茶铺")
    assert stdout.stdout_bytes == codecs.BOM_UTF8 + b"sku_id,address_id\r\n"
