"""Reading and writing 一货一址 CSV files: encodings, headers, per-line problems, round trips."""

from __future__ import annotations

import codecs

from hypothesis import given
from hypothesis import strategies as st

from desk.aftersales.binding_csv import (
    MAX_CSV_BYTES,
    BindingRow,
    CsvScope,
    ParsedCsv,
    export_csv,
    parse_csv,
)
from desk.errors import Invalid

ids = st.text(alphabet="0123456789", min_size=1, max_size=19)


def parsed(data: bytes) -> ParsedCsv:
    result = parse_csv(data)
    assert isinstance(result, ParsedCsv), result
    return result


def file_error(data: bytes) -> str:
    result = parse_csv(data)
    assert isinstance(result, Invalid), result
    return result.errors["file"].key


def test_the_header_decides_what_the_file_binds() -> None:
    assert parsed(b"sku_id,address_id\n1001,9\n").scope is CsvScope.SKU
    assert parsed(b"product_id,address_id\n77,9\n").scope is CsvScope.PRODUCT
    assert parsed(b" SKU_ID , Address_ID \r\n1001,9\r\n").rows == [BindingRow(2, "1001", "9")]


def test_utf8_with_and_without_a_bom_and_gbk_all_read() -> None:
    body = "sku_id,address_id\n1001,9\n"
    for data in (body.encode(), codecs.BOM_UTF8 + body.encode(), body.encode("gbk")):
        assert parsed(data).rows == [BindingRow(2, "1001", "9")]


def test_a_gbk_file_with_chinese_in_a_bad_row_reads_and_reports_it() -> None:
    data = "sku_id,address_id\n1001,9\n货号,仓库\n".encode("gbk")
    result = parsed(data)
    assert [p.line for p in result.problems] == [3]
    assert result.problems[0].ref == "货号"
    assert result.problems[0].error.key == "addresses.csv.bad_id"


def test_whole_file_problems_are_one_clear_message() -> None:
    assert file_error(b"") == "addresses.csv.empty"
    assert file_error(b"  \r\n\n") == "addresses.csv.empty"
    assert file_error(b"sku_id,address_id\n") == "addresses.csv.no_rows"
    assert file_error(b"sku,address\n1,2\n") == "addresses.csv.header"
    assert file_error(b"sku_id,address_id,note\n1,2,x\n") == "addresses.csv.header"
    assert file_error(b"PK\x03\x04rest-of-a-workbook") == "addresses.csv.workbook"
    assert file_error(b"sku_id,address_id\n\xff\xfe\xfd\n") == "addresses.csv.encoding"
    assert file_error(b'sku_id,address_id\n1,"2\n3,4\n') == "addresses.csv.unreadable"


def test_a_50_mb_file_is_refused_before_it_is_read() -> None:
    big = b"sku_id,address_id\n" + b"1234567890,1\n" * (50 * 1024 * 1024 // 13)
    assert len(big) > MAX_CSV_BYTES
    result = parse_csv(big)
    assert isinstance(result, Invalid)
    assert result.errors["file"].key == "addresses.csv.too_big"
    assert result.errors["file"].params == {"max_mb": MAX_CSV_BYTES // (1024 * 1024)}


def test_each_bad_row_is_reported_with_its_line_and_the_good_rows_kept() -> None:
    data = b"sku_id,address_id\n1001,9\n\n1002\n1003,9,extra\n1001,8\n,9\n1004,\n1005,9,,\n"
    result = parsed(data)
    assert result.rows == [BindingRow(2, "1001", "9"), BindingRow(9, "1005", "9")]
    assert [(p.line, p.error.key) for p in result.problems] == [
        (4, "addresses.csv.columns"),
        (5, "addresses.csv.columns"),
        (6, "addresses.csv.duplicate"),
        (7, "addresses.csv.missing_ref"),
        (8, "addresses.csv.columns"),
    ]
    assert result.problems[2].error.params == {"line": 2}


def test_a_quoted_cell_spanning_lines_reports_the_line_it_ends_on() -> None:
    result = parsed(b'sku_id,address_id\n"10\n01",9\n1002,9\n')
    assert [p.line for p in result.problems] == [3]
    assert result.rows == [BindingRow(4, "1002", "9")]


def test_export_reads_back_as_written() -> None:
    data = export_csv(CsvScope.PRODUCT, [("77", "9"), ("78", "10")])
    assert data.startswith(codecs.BOM_UTF8)
    assert b"\r\n" in data
    result = parsed(data)
    assert result.scope is CsvScope.PRODUCT
    assert [(r.ref, r.address_id) for r in result.rows] == [("77", "9"), ("78", "10")]


@given(st.dictionaries(ids, ids, max_size=30), st.sampled_from(list(CsvScope)))
def test_any_export_round_trips(bindings: dict[str, str], scope: CsvScope) -> None:
    data = export_csv(scope, sorted(bindings.items()))
    if not bindings:
        assert file_error(data) == "addresses.csv.no_rows"
        return
    result = parsed(data)
    assert result.scope is scope
    assert not result.problems
    assert {(r.ref, r.address_id) for r in result.rows} == set(bindings.items())
    assert [r.line for r in result.rows] == list(range(2, len(bindings) + 2))


@given(st.binary(max_size=400))
def test_any_bytes_give_rows_problems_or_one_file_error(data: bytes) -> None:
    result = parse_csv(data)
    if isinstance(result, Invalid):
        assert set(result.errors) == {"file"}
        return
    lines = [r.line for r in result.rows] + [p.line for p in result.problems]
    assert lines
    assert all(line >= 2 for line in lines)
    refs = [r.ref for r in result.rows]
    assert len(refs) == len(set(refs))  # a SKU appears at most once among the rows to apply


@given(
    st.lists(
        st.lists(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=8), max_size=4),
        max_size=20,
    ),
    st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
)
def test_any_table_in_any_encoding_accounts_for_every_nonblank_line(
    table: list[list[str]], encoding: str
) -> None:
    """Every non-blank record after the header is either a row or a problem, never lost."""
    import csv
    import io

    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(["sku_id", "address_id"])
    writer.writerows(table)
    result = parse_csv(out.getvalue().encode(encoding))
    nonblank = [record for record in table if any(cell.strip() for cell in record)]
    if isinstance(result, Invalid):
        assert result.errors["file"].key in {"addresses.csv.no_rows", "addresses.csv.unreadable"}
        if result.errors["file"].key == "addresses.csv.no_rows":
            assert not nonblank
        return
    assert len(result.rows) + len(result.problems) == len(nonblank)
