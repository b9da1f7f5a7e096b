"""CSV export and import of a store's shared quick replies, as Excel writes and reads them."""

from __future__ import annotations

import codecs

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from desk.db import utcnow
from desk.errors import Invalid
from desk.inbox.models import QuickReply
from desk.inbox.quick_replies import (
    MAX_TEXT_LENGTH,
    MAX_TITLE_LENGTH,
    QuickReplyForm,
    QuickReplyView,
    ReplySet,
    create_reply,
    list_replies,
)
from desk.inbox.quick_reply_csv import (
    MAX_CSV_BYTES,
    CheckedImport,
    CsvReading,
    CsvRow,
    ImportResult,
    PendingImports,
    apply_pending,
    apply_plan,
    apply_rows,
    export_csv,
    import_file,
    plan_import,
    read_csv,
)
from desk.inbox.reply_variables import unknown_variables
from desk.runtime import Runtime


def reading(data: bytes) -> CsvReading:
    result = read_csv(data)
    assert isinstance(result, CsvReading), result
    return result


def file_error(data: bytes) -> str:
    result = read_csv(data)
    assert isinstance(result, Invalid), result
    return result.errors["file"].render("zh-CN")


def problems_of(result: CsvReading) -> dict[int, dict[str, str]]:
    return {p.line: {f: m.render("zh-CN") for f, m in p.errors.items()} for p in result.problems}


def view(title: str, text: str) -> QuickReplyView:
    return QuickReplyView(
        id=1, store_id=1, owner_id=None, title=title, text=text, uses=0, updated_at=utcnow()
    )


KNOWN = "可用的变量：{买家昵称}、{订单号}、{物流单号}、{快递公司}、{店铺名称}。"
SAMPLE = 'title,text\r\n发货时间,付款后 48 小时内发货\r\n物流查询,"您的快递单号 {物流单号}，\r\n请查收"\r\n'


# -- reading ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        SAMPLE.encode("utf-8"),
        codecs.BOM_UTF8 + SAMPLE.encode("utf-8"),
        SAMPLE.encode("gbk"),  # what "CSV" in Chinese Excel saves
        SAMPLE.replace("\r\n", "\n").encode("utf-8"),  # written on a Mac or by a script
    ],
    ids=["utf-8", "utf-8 with BOM", "gbk", "LF line ends"],
)
def test_utf8_with_or_without_bom_and_gbk_read_the_same(data: bytes) -> None:
    assert reading(data) == CsvReading(
        rows=[
            CsvRow(2, "发货时间", "付款后 48 小时内发货"),
            CsvRow(3, "物流查询", "您的快递单号 {物流单号}，\n请查收"),
        ],
        problems=[],
    )


def test_headers_may_be_chinese_in_any_order_with_other_columns() -> None:
    data = "序号,内容,标题\n1,亲，您好,欢迎语\n".encode("gbk")
    assert reading(data).rows == [CsvRow(2, "欢迎语", "亲，您好")]


def test_each_bad_row_is_reported_with_its_row_number_and_the_rest_is_kept() -> None:
    long_title = "长" * (MAX_TITLE_LENGTH + 1)
    data = (
        "title,text\n"
        "发货时间,48 小时内发货\n"  # 2
        ",没有标题\n"  # 3
        f"{long_title},标题太长\n"  # 4
        f"内容太长,{'字' * (MAX_TEXT_LENGTH + 1)}\n"  # 5
        ",\n"  # 6: an empty row, skipped (Excel leaves them)
        "订单,您的订单 {订单编号}\n"  # 7
        '物流,"多行\n的内容 {物流单号}"\n'  # 8: one row over two lines
        "发货时间,又一条同名的\n"  # 9
        "空内容,\n"  # 10
    ).encode()
    result = reading(data)
    assert [(r.line, r.title) for r in result.rows] == [(2, "发货时间"), (8, "物流")]
    assert problems_of(result) == {
        3: {"title": "必填。"},
        4: {"title": f"不能超过 {MAX_TITLE_LENGTH} 个字符。"},
        5: {"text": f"不能超过 {MAX_TEXT_LENGTH} 个字（现在 {MAX_TEXT_LENGTH + 1} 个）。"},
        7: {"text": "未知变量 {订单编号}。" + KNOWN},
        9: {"title": "标题与第 2 行重复。"},
        10: {"text": "必填。"},
    }
    assert [p.title for p in result.problems][:2] == ["", long_title]


def test_a_row_with_only_a_title_cell_has_an_empty_text() -> None:
    result = reading(b"title,text\nlonely\n")
    assert problems_of(result) == {2: {"text": "必填。"}}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "文件是空的。"),
        (b"\xef\xbb\xbf \r\n", "文件是空的。"),
        (b"title,text\r\n", "文件中只有表头，没有话术。"),
        (b"title,text\r\n,\r\n", "文件中只有表头，没有话术。"),
        ("发货时间,48 小时内发货\n".encode(), "第 1 行应为表头 title,text（或 标题,内容）。"),
        (b"name,body\nx,y\n", "第 1 行应为表头 title,text（或 标题,内容）。"),
        (
            b"PK\x03\x04\x14\x00\x06\x00",
            "这是 Excel 工作簿（.xlsx），不是 CSV。请在 Excel 中“另存为” CSV 文件后再上传。",
        ),
        (b"title,text\n\xff\xfe,\xff\n", "无法识别文件编码，请另存为 UTF-8 或 GBK 编码的 CSV 文件。"),
    ],
)
def test_a_file_we_cannot_read_says_why(data: bytes, message: str) -> None:
    assert file_error(data) == message


def test_a_stray_quote_is_an_error_not_a_field_that_swallows_the_rest() -> None:
    data = 'title,text\n发货时间,48 小时\n物流,"单号\n欢迎语,您好\n'.encode()
    assert file_error(data).startswith("第 3 行的 CSV 格式有误")


def test_a_file_over_the_limit_is_refused_with_its_limit() -> None:
    row = "发货时间,付款后 48 小时内发货\n".encode()
    data = b"title,text\n" + row * (MAX_CSV_BYTES // len(row) + 1)
    assert len(data) > MAX_CSV_BYTES
    assert file_error(data) == "文件超过 2 MB，请拆成几个文件分别导入。"
    just_under = data[:MAX_CSV_BYTES].rsplit(b"\n", 1)[0]
    assert isinstance(read_csv(just_under), CsvReading)


# -- exporting ----------------------------------------------------------------------------------------


def test_export_is_utf8_with_a_bom_and_crlf_rows_for_excel() -> None:
    data = export_csv([view("发货时间", "付款后\n48 小时内"), view("逗号,引号", '他说"好"')])
    assert data.startswith(codecs.BOM_UTF8)
    assert data[3:].decode("utf-8") == (
        'title,text\r\n发货时间,"付款后\n48 小时内"\r\n"逗号,引号","他说""好"""\r\n'
    )


def test_a_cell_excel_would_run_as_a_formula_is_escaped_and_comes_back_unharmed() -> None:
    replies = [view("=1+1", "-- 温馨提示 --"), view("@客服", "+86 请拨打"), view("'引号", "''两个")]
    data = export_csv(replies)
    text = data.decode("utf-8-sig")
    assert "\r\n'=1+1,'-- 温馨提示 --\r\n" in text
    assert "\r\n'@客服,'+86 请拨打\r\n" in text
    assert [(r.title, r.text) for r in reading(data).rows] == [(r.title, r.text) for r in replies]


titles = (
    st.text(
        alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="{}｛｝"),
        min_size=1,
        max_size=MAX_TITLE_LENGTH,
    )
    .map(str.strip)
    .filter(bool)
)
texts = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Zl", "Zp"), blacklist_characters="\r\x0b\x0c\x1c\x1d\x1e\x85"
    ),
    min_size=1,
    max_size=300,
).map(lambda t: "".join(c for c in t if c in "\n\t" or not (ord(c) < 32 or 127 <= ord(c) < 160)).strip())


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(titles, texts.filter(bool), min_size=1, max_size=8))
def test_what_is_exported_imports_back_as_it_was(replies: dict[str, str]) -> None:
    replies = {title: text for title, text in replies.items() if not unknown_variables(text)}
    if not replies:
        return
    exported = export_csv(view(title, text) for title, text in replies.items())
    result = reading(exported)
    assert result.problems == []
    assert {r.title: r.text for r in result.rows} == replies


# -- applying -----------------------------------------------------------------------------------------


async def test_applying_adds_new_titles_and_replaces_the_text_of_known_ones(
    runtime: Runtime, make_store, make_user
) -> None:
    store, other = await make_store(), await make_store()
    agent = await make_user("alice")
    async with runtime.db.session() as session:
        for reply_set in (ReplySet.shared(store.id), ReplySet.shared(other.id), ReplySet.personal(agent.id)):
            for title, text in (("发货时间", "旧的说法"), ("欢迎语", "您好")):
                await create_reply(session, reply_set, QuickReplyForm(title=title, text=text))
        await session.execute(sa.update(QuickReply).values(uses=3))
    rows = [CsvRow(2, "发货时间", "新的说法"), CsvRow(3, "欢迎语", "您好"), CsvRow(4, "改地址", "可以改")]
    async with runtime.db.session() as session:
        result = await apply_rows(session, store.id, rows)
    assert (result.created, result.updated, result.unchanged) == (1, 1, 1)
    async with runtime.db.session() as session:
        mine = {r.title: (r.text, r.uses) for r in await list_replies(session, ReplySet.shared(store.id))}
        theirs = {r.title: r.text for r in await list_replies(session, ReplySet.shared(other.id))}
        personal = {r.title: r.text for r in await list_replies(session, ReplySet.personal(agent.id))}
    assert mine == {"发货时间": ("新的说法", 3), "欢迎语": ("您好", 3), "改地址": ("可以改", 0)}
    assert theirs == personal == {"发货时间": "旧的说法", "欢迎语": "您好"}


async def test_ten_thousand_rows_are_read_and_applied_in_one_go(runtime: Runtime, make_store) -> None:
    store = await make_store()
    lines = ["title,text"] + [
        f"话术{n:05d},亲，关于问题 {n}：请查看订单 {{订单号}} 的详情页。" for n in range(10_000)
    ]
    data = codecs.BOM_UTF8 + "\r\n".join(lines).encode()
    assert len(data) < MAX_CSV_BYTES
    result = reading(data)
    assert len(result.rows) == 10_000
    assert result.problems == []
    async with runtime.db.session() as session:
        applied = await apply_rows(session, store.id, result.rows)
    assert applied.created == 10_000
    async with runtime.db.session() as session:
        again = await apply_rows(session, store.id, result.rows)
        count = await session.scalar(sa.select(sa.func.count()).select_from(QuickReply))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 10_000)
    assert count == 10_000


async def test_a_title_added_after_the_file_was_checked_is_replaced_not_duplicated(
    runtime: Runtime, make_store
) -> None:
    store = await make_store()
    checked = reading("title,text\n新话术,内容\n发货时间,文件里的\n".encode())
    async with runtime.db.session() as session:
        await create_reply(
            session, ReplySet.shared(store.id), QuickReplyForm(title="发货时间", text="同事加的")
        )
    async with runtime.db.session() as session:
        result = await apply_rows(session, store.id, checked.rows)
    assert (result.created, result.updated) == (1, 1)


async def test_nothing_is_written_when_a_colleague_saves_a_new_title_during_the_import(
    runtime: Runtime, make_store
) -> None:
    store = await make_store()
    rows = [CsvRow(2, "欢迎语", "您好"), CsvRow(3, "发货时间", "文件里的")]
    async with runtime.db.session() as session:
        plan = await plan_import(session, store.id, rows)
        assert [row.title for row in plan.new] == ["欢迎语", "发货时间"]
        async with runtime.db.session() as colleague:
            await create_reply(
                colleague, ReplySet.shared(store.id), QuickReplyForm(title="发货时间", text="同事加的")
            )
        result = await apply_plan(session, plan)
    assert isinstance(result, Invalid)
    assert result.errors["file"].render("zh-CN").startswith("导入期间有人修改了这个店铺的话术")
    async with runtime.db.session() as session:
        assert [(r.title, r.text) for r in await list_replies(session, ReplySet.shared(store.id))] == [
            ("发货时间", "同事加的")
        ]


async def test_a_pending_import_is_taken_once_by_its_admin_for_its_store(runtime: Runtime) -> None:
    pending = PendingImports(runtime.kv("quick-reply-imports"))
    rows = [CsvRow(2, "发货时间", "48 小时内"), CsvRow(5, "欢迎语", "您好")]
    token = await pending.put(store_id=1, user_id=7, rows=rows)
    assert await pending.take(token, store_id=2, user_id=7) is None
    assert await pending.take(token, store_id=1, user_id=8) is None
    assert await pending.take("forged", store_id=1, user_id=7) is None
    assert await pending.take(token, store_id=1, user_id=7) == rows
    assert await pending.take(token, store_id=1, user_id=7) is None


async def test_a_file_with_bad_rows_waits_for_the_admin_and_applies_its_valid_rows_once(
    runtime: Runtime, make_store
) -> None:
    store = await make_store()
    pending = PendingImports(runtime.kv("quick-reply-imports"))
    data = "title,text\n发货时间,48 小时内\n,没有标题\n".encode()
    async with runtime.db.session() as session:
        checked = await import_file(session, pending, store_id=store.id, user_id=1, data=data)
    assert isinstance(checked, CheckedImport)
    assert list(problems_of(checked.reading)) == [3]
    async with runtime.db.session() as session:
        assert await list_replies(session, ReplySet.shared(store.id)) == []
        applied = await apply_pending(session, pending, token=checked.token, store_id=store.id, user_id=1)
        again = await apply_pending(session, pending, token=checked.token, store_id=store.id, user_id=1)
    assert isinstance(applied, ImportResult)
    assert applied.created == 1
    assert isinstance(again, Invalid)
    assert again.errors["file"].render("zh-CN") == "这次导入已过期或已经完成，请重新上传文件。"
    async with runtime.db.session() as session:
        assert [r.title for r in await list_replies(session, ReplySet.shared(store.id))] == ["发货时间"]


async def test_a_clean_file_is_applied_at_once_and_a_bad_file_not_at_all(
    runtime: Runtime, make_store
) -> None:
    store = await make_store()
    pending = PendingImports(runtime.kv("quick-reply-imports"))
    async with runtime.db.session() as session:
        done = await import_file(
            session, pending, store_id=store.id, user_id=1, data=b"title,text\nhi,hello\n"
        )
        refused = await import_file(session, pending, store_id=store.id, user_id=1, data=b"nope")
    assert isinstance(done, ImportResult)
    assert done.created == 1
    assert isinstance(refused, Invalid)
