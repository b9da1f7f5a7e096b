"""Quick replies: the rules for saving them, who may use which, search, and filling for a buyer."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from litestar.exceptions import NotFoundException

from desk.accounts.models import Role
from desk.errors import Invalid
from desk.inbox import quick_replies
from desk.inbox.models import QuickReply
from desk.inbox.quick_replies import (
    MAX_QUERY_WORDS,
    MAX_TEXT_LENGTH,
    MAX_TITLE_LENGTH,
    QuickReplyForm,
    QuickReplyView,
    ReplySet,
    create_reply,
    delete_reply,
    get_reply,
    list_replies,
    record_use,
    replies_for_conversation,
    update_reply,
)
from desk.runtime import Runtime
from tests.inbox.quick_reply_support import buyer_writes, channels_order, parcel, save_orders


async def create(runtime: Runtime, reply_set: ReplySet, title: str, text: str = "亲，您好") -> QuickReplyView:
    async with runtime.db.session() as session:
        result = await create_reply(session, reply_set, QuickReplyForm(title=title, text=text))
    assert isinstance(result, QuickReplyView), result
    return result


async def refused(runtime: Runtime, reply_set: ReplySet, title: str, text: str) -> dict[str, str]:
    """The per-field messages (in Chinese) a create is refused with; asserts nothing was saved."""
    async with runtime.db.session() as session:
        before = await session.scalar(sa.select(sa.func.count()).select_from(QuickReply))
        result = await create_reply(session, reply_set, QuickReplyForm(title=title, text=text))
        after = await session.scalar(sa.select(sa.func.count()).select_from(QuickReply))
    assert isinstance(result, Invalid)
    assert before == after
    return {field: message.render("zh-CN") for field, message in result.errors.items()}


async def set_uses(runtime: Runtime, reply: QuickReplyView, uses: int) -> None:
    async with runtime.db.session() as session:
        await session.execute(sa.update(QuickReply).where(QuickReply.id == reply.id).values(uses=uses))


# -- saving ---------------------------------------------------------------------------------------


async def test_a_reply_is_saved_trimmed_with_one_kind_of_line_break(runtime: Runtime, make_store) -> None:
    store = await make_store()
    reply = await create(runtime, ReplySet.shared(store.id), "  发货时间 ", "  第一行\r\n第二行\r第三行\n ")
    assert (reply.title, reply.text, reply.uses) == ("发货时间", "第一行\n第二行\n第三行", 0)
    async with runtime.db.session() as session:
        assert await get_reply(session, ReplySet.shared(store.id), reply.id) == reply


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [
        ("", "", {"title": "必填。", "text": "必填。"}),
        ("   ", "  \n ", {"title": "必填。", "text": "必填。"}),
        ("长" * (MAX_TITLE_LENGTH + 1), "好", {"title": f"不能超过 {MAX_TITLE_LENGTH} 个字符。"}),
        ("两\n行", "好", {"title": "标题只能是一行文字，不能包含换行、制表符等控制字符。"}),
        ("标题", "有\x00控制字符", {"text": "包含无法显示的字符。"}),
        (
            "太长",
            "字" * (MAX_TEXT_LENGTH + 1),
            {"text": f"不能超过 {MAX_TEXT_LENGTH} 个字（现在 2001 个）。"},
        ),
        (
            "订单",
            "您的订单 {订单编号}，{订单号}，{ 物流编号 }",
            {
                "text": "未知变量 {订单编号}、{物流编号}。"
                "可用的变量：{买家昵称}、{订单号}、{物流单号}、{快递公司}、{店铺名称}。"
            },
        ),
    ],
)
async def test_bad_input_is_refused_field_by_field_and_nothing_is_saved(
    runtime: Runtime, make_store, title: str, text: str, expected: dict[str, str]
) -> None:
    store = await make_store()
    assert await refused(runtime, ReplySet.shared(store.id), title, text) == expected


async def test_full_width_spaces_emoji_tabs_and_line_breaks_are_text(runtime: Runtime, make_store) -> None:
    store = await make_store()
    text = "全角\u3000空格、表情👨\u200d👩\u200d👧\t和换行\n都是文字"
    reply = await create(runtime, ReplySet.shared(store.id), "全角\u3000空格", text)
    assert reply.text == text


async def test_limits_are_inclusive(runtime: Runtime, make_store) -> None:
    store = await make_store()
    reply = await create(runtime, ReplySet.shared(store.id), "长" * MAX_TITLE_LENGTH, "字" * MAX_TEXT_LENGTH)
    assert len(reply.title) == MAX_TITLE_LENGTH


async def test_titles_are_unique_within_a_set_only(runtime: Runtime, make_store, make_user) -> None:
    one, two = await make_store(), await make_store()
    alice, bob = await make_user("alice", Role.AGENT, [one]), await make_user("bob", Role.AGENT, [one])
    await create(runtime, ReplySet.shared(one.id), "发货时间")
    assert await refused(runtime, ReplySet.shared(one.id), "发货时间", "另一段") == {
        "title": "已经有标题为“发货时间”的话术。"
    }
    # The same title elsewhere is another reply: another store, a personal set, a colleague's set.
    await create(runtime, ReplySet.shared(two.id), "发货时间")
    await create(runtime, ReplySet.personal(alice.id), "发货时间")
    await create(runtime, ReplySet.personal(bob.id), "发货时间")
    assert await refused(runtime, ReplySet.personal(alice.id), "发货时间", "x") == {
        "title": "已经有标题为“发货时间”的话术。"
    }


async def test_a_title_saved_by_a_colleague_meanwhile_is_refused_by_the_database(
    runtime: Runtime, make_store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await make_store()
    await create(runtime, ReplySet.shared(store.id), "发货时间")

    async def not_seen(*_: object) -> bool:  # the check ran before the colleague's commit
        return False

    monkeypatch.setattr(quick_replies, "_title_taken", not_seen)
    async with runtime.db.session() as session:
        result = await create_reply(
            session, ReplySet.shared(store.id), QuickReplyForm(title="发货时间", text="x")
        )
        assert isinstance(result, Invalid)
        assert set(result.errors) == {"title"}
        # The session is still usable: only the savepoint rolled back.
        assert len(await list_replies(session, ReplySet.shared(store.id))) == 1


async def test_editing_keeps_the_use_count_and_checks_the_title_against_the_others(
    runtime: Runtime, make_store
) -> None:
    store = await make_store()
    shared = ReplySet.shared(store.id)
    first = await create(runtime, shared, "发货时间")
    await create(runtime, shared, "退换货说明")
    await set_uses(runtime, first, 7)
    async with runtime.db.session() as session:
        same_title = await update_reply(
            session, shared, first.id, QuickReplyForm(title="发货时间", text="新内容")
        )
        taken = await update_reply(session, shared, first.id, QuickReplyForm(title="退换货说明", text="x"))
    assert isinstance(same_title, QuickReplyView)
    assert (same_title.text, same_title.uses) == ("新内容", 7)
    assert isinstance(taken, Invalid)
    assert set(taken.errors) == {"title"}
    async with runtime.db.session() as session:
        assert (await get_reply(session, shared, first.id)).text == "新内容"


async def test_a_reply_of_another_set_cannot_be_read_changed_or_deleted(
    runtime: Runtime, make_store, make_user
) -> None:
    one, two = await make_store(), await make_store()
    alice = await make_user("alice", Role.AGENT, [one])
    bob = await make_user("bob", Role.AGENT, [one])
    shared = await create(runtime, ReplySet.shared(one.id), "发货时间")
    personal = await create(runtime, ReplySet.personal(alice.id), "我的问候")
    form = QuickReplyForm(title="改", text="改")
    async with runtime.db.session() as session:
        for wrong_set, reply in (
            (ReplySet.shared(two.id), shared),
            (ReplySet.personal(alice.id), shared),
            (ReplySet.personal(bob.id), personal),
            (ReplySet.shared(one.id), personal),
        ):
            assert await get_reply(session, wrong_set, reply.id) is None
            assert await update_reply(session, wrong_set, reply.id, form) is None
            assert await delete_reply(session, wrong_set, reply.id) is False
    async with runtime.db.session() as session:
        assert await get_reply(session, ReplySet.shared(one.id), shared.id) == shared
        assert await delete_reply(session, ReplySet.personal(alice.id), personal.id) is True
        assert await get_reply(session, ReplySet.personal(alice.id), personal.id) is None


def test_a_reply_set_names_exactly_one_owner() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        ReplySet()
    with pytest.raises(ValueError, match="exactly one"):
        ReplySet(store_id=1, owner_id=2)


# -- listing and searching --------------------------------------------------------------------------


async def test_the_most_used_come_first_then_by_title(runtime: Runtime, make_store) -> None:
    store = await make_store()
    shared = ReplySet.shared(store.id)
    b = await create(runtime, shared, "b")
    a = await create(runtime, shared, "a")
    c = await create(runtime, shared, "c")
    await set_uses(runtime, c, 5)
    async with runtime.db.session() as session:
        assert [r.title for r in await list_replies(session, shared)] == ["c", "a", "b"]
    await set_uses(runtime, a, 9)
    await set_uses(runtime, b, 9)
    async with runtime.db.session() as session:
        assert [r.title for r in await list_replies(session, shared)] == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("query", "titles"),
    [
        ("", ["发货时间", "物流查询", "Size guide", "退换货说明"]),
        ("发货", ["发货时间"]),  # a Chinese substring of the title
        ("快递", ["物流查询"]),  # … or of the text
        ("size", ["Size guide"]),  # case does not matter
        ("GUIDE", ["Size guide"]),
        ("物流 单号", ["物流查询"]),  # every word must match
        ("物流 尺码", []),
        ("100%", ["退换货说明"]),  # LIKE wildcards are plain characters
        ("_", []),
        (
            "发货 " + "时间 " * (MAX_QUERY_WORDS - 1) + "不存在",
            ["发货时间"],
        ),  # words past the limit do not count
    ],
)
async def test_search_by_title_and_text(runtime: Runtime, make_store, query: str, titles: list[str]) -> None:
    store = await make_store()
    shared = ReplySet.shared(store.id)
    for title, text in (
        ("发货时间", "付款后 48 小时内发货"),
        ("物流查询", "快递单号 {物流单号}"),
        ("Size guide", "M 码适合 160cm"),
        ("退换货说明", "7 天无理由，100% 退款"),
    ):
        await create(runtime, shared, title, text)
    async with runtime.db.session() as session:
        found = [r.title for r in await list_replies(session, shared, query=query)]
    assert sorted(found) == sorted(titles)


# -- in a conversation ------------------------------------------------------------------------------


async def test_in_a_conversation_one_uses_its_stores_set_and_ones_own(
    runtime: Runtime, make_store, make_user
) -> None:
    ours, theirs = await make_store("潮流女装旗舰店"), await make_store("山野户外专营店")
    alice = await make_user("alice", Role.AGENT, [ours, theirs])
    bob = await make_user("bob", Role.AGENT, [ours])
    await create(runtime, ReplySet.shared(ours.id), "店铺的")
    await create(runtime, ReplySet.shared(theirs.id), "另一家店的")
    await create(runtime, ReplySet.personal(alice.id), "alice 的")
    await create(runtime, ReplySet.personal(bob.id), "bob 的")
    conversation_id = await buyer_writes(runtime, ours.id)
    async with runtime.db.session() as session:
        for_alice = await replies_for_conversation(session, alice, conversation_id)
        for_bob = await replies_for_conversation(session, bob, conversation_id)
    assert sorted(f.reply.title for f in for_alice) == ["alice 的", "店铺的"]
    assert sorted(f.reply.title for f in for_bob) == ["bob 的", "店铺的"]


async def test_a_conversation_of_a_store_one_does_not_work_for_is_not_found(
    runtime: Runtime, make_store, make_user
) -> None:
    ours, theirs = await make_store(), await make_store()
    agent = await make_user("alice", Role.AGENT, [ours])
    await create(runtime, ReplySet.shared(theirs.id), "发货时间")
    conversation_id = await buyer_writes(runtime, theirs.id)
    async with runtime.db.session() as session:
        with pytest.raises(NotFoundException):
            await replies_for_conversation(session, agent, conversation_id)


async def test_replies_are_filled_for_the_buyer_and_missing_values_are_marked(
    runtime: Runtime, make_store, make_user
) -> None:
    store = await make_store("山野户外专营店")
    agent = await make_user("alice", Role.AGENT, [store])
    shared = ReplySet.shared(store.id)
    await create(runtime, shared, "物流查询", "{买家昵称}您好，{快递公司}单号 {物流单号}，订单 {订单号}。")
    await create(runtime, shared, "欢迎语", "欢迎光临{店铺名称}！")
    shipped = await buyer_writes(runtime, store.id, "o_lin", nickname="林小梅")
    await save_orders(
        runtime, store.id, channels_order("3700000000000000001", "o_lin", parcels=[parcel("SF1")])
    )
    newcomer = await buyer_writes(runtime, store.id, "o_new")
    async with runtime.db.session() as session:
        for_shipped = {f.reply.title: f for f in await replies_for_conversation(session, agent, shipped)}
        for_newcomer = {f.reply.title: f for f in await replies_for_conversation(session, agent, newcomer)}
    done = for_shipped["物流查询"]
    assert done.text == "林小梅您好，顺丰速运单号 SF1，订单 3700000000000000001。"
    assert done.missing == []
    assert [p.text for p in done.pieces if p.kind == "value"] == [
        "林小梅",
        "顺丰速运",
        "SF1",
        "3700000000000000001",
    ]
    gaps = for_newcomer["物流查询"]
    assert gaps.text == "{买家昵称}您好，{快递公司}单号 {物流单号}，订单 {订单号}。"
    assert gaps.missing == ["买家昵称", "快递公司", "物流单号", "订单号"]
    assert gaps.missing_placeholders[0] == "{买家昵称}"
    assert for_newcomer["欢迎语"].text == "欢迎光临山野户外专营店！"
    assert for_newcomer["欢迎语"].missing == []


async def test_a_text_too_long_once_filled_is_flagged(runtime: Runtime, make_store, make_user) -> None:
    store = await make_store()
    agent = await make_user("alice", Role.AGENT, [store])
    await create(runtime, ReplySet.shared(store.id), "长", "字" * (MAX_TEXT_LENGTH - 5) + "{订单号}")
    conversation_id = await buyer_writes(runtime, store.id, "o_lin")
    await save_orders(runtime, store.id, channels_order("3700000000000000001", "o_lin"))
    async with runtime.db.session() as session:
        (filled,) = await replies_for_conversation(session, agent, conversation_id)
    assert filled.too_long
    assert len(filled.text) == MAX_TEXT_LENGTH - 5 + 19


async def test_the_picker_searches_and_stops_at_its_limit(runtime: Runtime, make_store, make_user) -> None:
    store = await make_store()
    agent = await make_user("alice", Role.AGENT, [store])
    for n in range(12):
        await create(runtime, ReplySet.shared(store.id), f"话术{n:02d}", "退货" if n % 2 else "发货")
    conversation_id = await buyer_writes(runtime, store.id)
    async with runtime.db.session() as session:
        first = await replies_for_conversation(session, agent, conversation_id, limit=5)
        returns = await replies_for_conversation(session, agent, conversation_id, query="退货")
    assert [f.reply.title for f in first] == [f"话术{n:02d}" for n in range(5)]
    assert len(returns) == 6


async def test_a_use_counts_only_for_a_reply_one_may_use(runtime: Runtime, make_store, make_user) -> None:
    ours, theirs = await make_store(), await make_store()
    alice = await make_user("alice", Role.AGENT, [ours])
    bob = await make_user("bob", Role.AGENT, [ours])
    admin = await make_user("root", Role.ADMIN)
    shared = await create(runtime, ReplySet.shared(ours.id), "店铺的")
    elsewhere = await create(runtime, ReplySet.shared(theirs.id), "另一家店的")
    bobs = await create(runtime, ReplySet.personal(bob.id), "bob 的")
    async with runtime.db.session() as session:
        assert await record_use(session, alice, shared.id) is True
        assert await record_use(session, alice, shared.id) is True
        assert await record_use(session, alice, elsewhere.id) is False
        assert await record_use(session, alice, bobs.id) is False
        assert await record_use(session, bob, bobs.id) is True
        assert await record_use(session, admin, elsewhere.id) is True
        assert await record_use(session, admin, bobs.id) is False
        assert await record_use(session, alice, 999_999) is False
    async with runtime.db.session() as session:
        uses = {
            row.title: row.uses for row in await session.execute(sa.select(QuickReply.title, QuickReply.uses))
        }
    assert uses == {"店铺的": 2, "另一家店的": 1, "bob 的": 1}
