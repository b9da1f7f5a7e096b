"""Searching the inbox: order ids, nicknames and message text, in the user's stores only."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desk.accounts.models import Role, User
from desk.errors import Invalid
from desk.inbox.models import Message, Sender
from desk.inbox.search import (
    MAX_QUERY_LENGTH,
    RECENT_WINDOW,
    HitKind,
    SearchHit,
    Segment,
    normalize_query,
    recent_only,
    search,
    snippet_around,
)
from desk.runtime import Runtime
from desk.stores.models import Store
from tests.inbox.search_data import (
    add_buyer,
    add_message,
    add_order,
    at,
    buyer_says,
    conversation_of,
)


async def find(runtime: Runtime, user, q: str, **kwargs) -> list[SearchHit]:
    async with runtime.db.session() as session:
        hits = await search(session, user, q, **kwargs)
    assert not isinstance(hits, Invalid), hits
    return hits


def marked(segments: list[Segment]) -> list[str]:
    return [segment.text for segment in segments if segment.marked]


def shown(segments: list[Segment]) -> str:
    return "".join(segment.text for segment in segments)


async def test_a_phrase_finds_the_messages_holding_it_newest_first_with_the_match_marked(
    runtime, make_store, make_user
) -> None:
    store = await make_store("旗舰店")
    agent = await make_user("xiaochen", Role.AGENT, [store])
    mother = await add_buyer(runtime, store, nickname="小明妈妈")
    older = await buyer_says(
        runtime, store, "请问退款怎么还没到账？", peer="o_a", buyer_id=mother, sent=at(1)
    )
    await buyer_says(runtime, store, "发货了吗", peer="o_b", sent=at(2))
    newer = await buyer_says(runtime, store, "我的退款怎么处理", peer="o_b", sent=at(3))

    hits = await find(runtime, agent, "退款怎么")

    assert [(hit.kind, hit.message_id) for hit in hits] == [
        (HitKind.MESSAGE, newer),
        (HitKind.MESSAGE, older),
    ]
    first, second = hits
    assert first.snippet == [Segment("我的"), Segment("退款怎么", marked=True), Segment("处理")]
    assert (first.at, first.sender, first.store_name) == (at(3), "buyer", "旗舰店")
    assert first.conversation_id == await conversation_of(runtime, newer)
    assert second.buyer_name == "小明妈妈"
    assert first.buyer_name == "…o_b"  # no nickname, no order: the tail of the peer id


async def test_a_two_character_word_and_latin_text_in_any_case_are_found(
    runtime, make_store, make_user
) -> None:
    store = await make_store()
    agent = await make_user("xiaochen", Role.AGENT, [store])
    refund = await buyer_says(runtime, store, "退款", peer="o_a", sent=at(1))
    latin = await buyer_says(runtime, store, "Where is my REFUND?", peer="o_b", sent=at(2))

    assert [hit.message_id for hit in await find(runtime, agent, "退款")] == [refund]
    [hit] = await find(runtime, agent, "refund")
    assert hit.message_id == latin
    assert marked(hit.snippet) == ["REFUND"]
    assert [hit.message_id for hit in await find(runtime, agent, "款")] == [refund]


async def test_agents_replies_and_notes_are_found_too(runtime, make_store, make_user) -> None:
    store = await make_store()
    agent = await make_user("xiaochen", Role.AGENT, [store])
    conversation = await conversation_of(runtime, await buyer_says(runtime, store, "在吗", peer="o_a"))
    reply = await add_message(runtime, conversation, store, "顺丰单号 SF1234567", sent=at(1))
    note = await add_message(
        runtime, conversation, store, "已和仓库确认 SF1234567", sender=Sender.NOTE, sent=at(2)
    )

    hits = await find(runtime, agent, "sf1234567")

    assert [(hit.message_id, hit.sender) for hit in hits] == [(note, "note"), (reply, "agent")]


async def test_an_order_id_finds_the_conversation_of_its_buyer_exactly_or_by_its_first_digits(
    runtime, make_store, make_user
) -> None:
    store = await make_store()
    agent = await make_user("xiaochen", Role.AGENT, [store])
    buyer_a = await add_buyer(runtime, store, nickname="阿伟", openid="o_a")
    buyer_b = await add_buyer(runtime, store, nickname="", openid="o_b")
    talk_a = await conversation_of(
        runtime, await buyer_says(runtime, store, "在吗", peer="o_a", buyer_id=buyer_a)
    )
    talk_b = await conversation_of(
        runtime, await buyer_says(runtime, store, "你好", peer="o_b", buyer_id=buyer_b)
    )
    await add_order(runtime, store, "3705115058471208960", buyer_id=buyer_a, openid="o_a", created=at(1))
    await add_order(
        runtime,
        store,
        "3705115058471299999",
        buyer_id=buyer_b,
        openid="o_b",
        created=at(2),
        receiver_name="王*",
    )
    await add_order(runtime, store, "3705999999999999999", buyer_id=buyer_b, openid="o_b", created=at(0))

    [exact] = await find(runtime, agent, "3705115058471208960")
    assert (exact.kind, exact.conversation_id, exact.order_id) == (
        HitKind.ORDER,
        talk_a,
        "3705115058471208960",
    )
    assert exact.snippet == [Segment("3705115058471208960", marked=True)]
    assert (exact.buyer_name, exact.at) == ("阿伟", at(1))

    by_prefix = await find(runtime, agent, " 37051150584712 ")
    # The highest (newest) order id first; each order's buyer's conversation.
    assert [(hit.order_id, hit.conversation_id) for hit in by_prefix] == [
        ("3705115058471299999", talk_b),
        ("3705115058471208960", talk_a),
    ]
    assert by_prefix[0].buyer_name == "王*"  # no nickname: the masked receiver of their latest order
    assert by_prefix[0].snippet == [Segment("37051150584712", marked=True), Segment("99999")]
    assert await find(runtime, agent, "37051150584712089601") == []
    assert await find(runtime, agent, "470511") == []  # digits inside an id are not its beginning


async def test_an_order_of_a_buyer_not_yet_linked_finds_the_conversation_by_openid(
    runtime, make_store, make_user
) -> None:
    store = await make_store()
    agent = await make_user("xiaochen", Role.AGENT, [store])
    talk = await conversation_of(runtime, await buyer_says(runtime, store, "在吗", peer="o_unlinked"))
    await add_order(runtime, store, "3711000000000000001", buyer_id=None, openid="o_unlinked")

    [hit] = await find(runtime, agent, "3711000000000000001")

    assert (hit.kind, hit.conversation_id) == (HitKind.ORDER, talk)


async def test_a_nickname_finds_the_buyers_conversations_with_the_name_marked(
    runtime, make_store, make_user
) -> None:
    store = await make_store()
    agent = await make_user("xiaochen", Role.AGENT, [store])
    buyer = await add_buyer(runtime, store, nickname="Lily的小店", openid="o_lily")
    talk = await conversation_of(
        runtime, await buyer_says(runtime, store, "尺码偏大吗", peer="o_lily", buyer_id=buyer)
    )
    await buyer_says(
        runtime, store, "别的买家", peer="o_other", buyer_id=await add_buyer(runtime, store, "张三")
    )

    [hit] = await find(runtime, agent, "lily")

    assert (hit.kind, hit.conversation_id) == (HitKind.BUYER, talk)
    assert hit.buyer == [Segment("Lily", marked=True), Segment("的小店")]
    assert shown(hit.snippet) == "尺码偏大吗"  # the conversation's latest message
    assert [hit.kind for hit in await find(runtime, agent, "小店")] == [HitKind.BUYER]


async def test_orders_and_buyers_come_before_messages_each_within_their_share(
    runtime, make_store, make_user
) -> None:
    store = await make_store()
    agent = await make_user("xiaochen", Role.AGENT, [store])
    buyer = await add_buyer(runtime, store, nickname="买家8888", openid="o_8")
    await buyer_says(runtime, store, "我的单号是 8888 开头", peer="o_8", buyer_id=buyer, sent=at(1))
    await add_order(runtime, store, "8888000000000000001", buyer_id=buyer, openid="o_8")
    for n in range(12):
        await buyer_says(runtime, store, f"第{n}条 8888", peer=f"o_x{n}", sent=at(10 + n))

    hits = await find(runtime, agent, "8888", limit=10)

    assert [hit.kind for hit in hits] == [HitKind.ORDER, HitKind.BUYER, *[HitKind.MESSAGE] * 8]
    assert shown(hits[2].snippet) == "第11条 8888"


async def test_another_stores_orders_buyers_and_messages_never_show(runtime, make_store, make_user) -> None:
    mine, theirs = await make_store("我的店"), await make_store("别人的店")
    agent = await make_user("xiaochen", Role.AGENT, [mine])
    admin = await make_user("root", Role.ADMIN)
    for store, peer in ((mine, "o_mine"), (theirs, "o_theirs")):
        buyer = await add_buyer(runtime, store, nickname=f"退款达人{peer}", openid=peer)
        await buyer_says(runtime, store, f"退款 3799 {peer}", peer=peer, buyer_id=buyer)
        await add_order(runtime, store, f"3799{store.id:015d}", buyer_id=buyer, openid=peer)

    for q in ("退款", "退款达人", "3799", "o_theirs", f"3799{theirs.id:015d}"):
        assert {hit.store_name for hit in await find(runtime, agent, q)} <= {"我的店"}, q
    assert {hit.store_name for hit in await find(runtime, admin, "3799")} == {"我的店", "别人的店"}
    nobody = await make_user("newcomer", Role.AGENT, [])
    assert await find(runtime, nobody, "退款") == []


async def test_a_hit_shows_only_through_a_conversation_of_the_users_stores(
    runtime, make_store, make_user
) -> None:
    mine, theirs = await make_store("我的店"), await make_store("别人的店")
    agent = await make_user("xiaochen", Role.AGENT, [mine])
    buyer = await add_buyer(runtime, mine, nickname="串店的买家", openid="o_a")
    # Filing never links a conversation to another store's buyer; should data ever say so, the
    # conversation's own store still decides who sees it.
    await buyer_says(runtime, theirs, "别人的店里的对话", peer="o_a", buyer_id=buyer)

    assert await find(runtime, agent, "串店的买家") == []


async def test_special_characters_are_searched_as_themselves(runtime, make_store, make_user) -> None:
    store = await make_store()
    agent = await make_user("xiaochen", Role.AGENT, [store])
    texts = [
        "100% 纯棉",
        "100 纯棉",
        "a_b 款",
        "axb 款",
        'size "M" 码',
        "size M 码",
        "退* 款",
        "退款了",
        "尺码 NEAR 大",
        "尺码大",
        "路径 C:\\new",
        "it's 好的",
        "(a OR b)",
    ]
    ids = {}
    for n, text in enumerate(texts):
        ids[text] = await buyer_says(runtime, store, text, peer=f"o_{n}", sent=at(n))

    async def found(q: str) -> set[str]:
        return {
            text
            for text, id_ in ids.items()
            if id_ in {hit.message_id for hit in await find(runtime, agent, q)}
        }

    assert await found("100%") == {"100% 纯棉"}
    assert await found("0%") == {"100% 纯棉"}
    assert await found("a_b") == {"a_b 款"}
    assert await found("_") == {"a_b 款"}
    assert await found('"M"') == {'size "M" 码'}
    assert await found('"') == {'size "M" 码'}
    assert await found("退*") == {"退* 款"}
    assert await found("NEAR") == {"尺码 NEAR 大"}
    assert await found("\\new") == {"路径 C:\\new"}
    assert await found("\\") == {"路径 C:\\new"}
    assert await found("it's") == {"it's 好的"}
    assert await found("OR b)") == {"(a OR b)"}
    assert await found("%") == {"100% 纯棉"}


async def test_empty_too_long_and_padded_queries(runtime, make_store, make_user) -> None:
    store = await make_store()
    agent = await make_user("xiaochen", Role.AGENT, [store])
    await buyer_says(runtime, store, "x" * MAX_QUERY_LENGTH, peer="o_a")

    assert await find(runtime, agent, "") == []
    assert await find(runtime, agent, " \t\n ") == []
    assert await find(runtime, agent, "\x00") == []
    assert len(await find(runtime, agent, "x" * MAX_QUERY_LENGTH)) == 1
    assert len(await find(runtime, agent, f"  {'x' * MAX_QUERY_LENGTH}\n")) == 1
    async with runtime.db.session() as session:
        refused = await search(session, agent, "x" * (MAX_QUERY_LENGTH + 1))
    assert isinstance(refused, Invalid)
    assert refused.errors["q"].key == "search.too_long"
    assert (
        refused.one_line()
        == f"q: A search can be at most {MAX_QUERY_LENGTH} characters long; please shorten it."
    )


async def test_a_query_too_short_for_the_index_looks_through_the_latest_messages_only(
    runtime, make_store, make_user
) -> None:
    store = await make_store()
    agent = await make_user("xiaochen", Role.AGENT, [store])
    first = await buyer_says(runtime, store, "退款了吗", peer="o_a")
    talk = await conversation_of(runtime, first)
    await add_message(runtime, talk, store, "好的", message_id=first + RECENT_WINDOW + 1)
    dialect = runtime.db.engine.dialect.name

    assert recent_only("退款", dialect)
    assert not recent_only("退款了", dialect)
    assert await find(runtime, agent, "退款") == []  # outside the latest RECENT_WINDOW messages
    assert [hit.message_id for hit in await find(runtime, agent, "退款了")] == [first]


def test_snippets_keep_the_match_and_show_where_text_was_cut() -> None:
    text = "开头" * 30 + "请问退款怎么还没到" + "结尾" * 60
    segments = snippet_around(text, "退款")
    assert (segments[0], segments[-1]) == (Segment("…"), Segment("…"))
    assert marked(segments) == ["退款"]
    assert len(shown(segments)) <= 82
    assert shown(snippet_around("短消息", "短")) == "短消息"
    assert snippet_around("", "x") == [Segment("")]


# -- whatever is typed -------------------------------------------------------------------------------

tricky = st.sampled_from(list("%_\\\"'*^():-+{}[]<>&;NEARORAND 退款发货aA1\t"))
anything = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
queries = st.one_of(
    st.text(alphabet=st.one_of(tricky, anything), max_size=MAX_QUERY_LENGTH),
    st.sampled_from(
        ['"', '""', "NEAR(a b)", "a OR b", "退款*", "^退", "col:退款", "'; DROP TABLE message; --"]
    ),
)


@pytest.fixture
async def one_conversation(runtime, make_store, make_user) -> tuple[User, Store, int]:
    """An admin, a store and one of its conversations."""
    store = await make_store()
    admin = await make_user("root", Role.ADMIN)
    return (
        admin,
        store,
        await conversation_of(runtime, await buyer_says(runtime, store, "开始", peer="o_any")),
    )


# The fixture is set up once for all examples, on purpose: each example adds the newest message
# to the same conversation, so it is found whatever path the search takes.
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=queries)
async def test_any_query_is_searched_literally_and_finds_the_text_holding_it(
    runtime, one_conversation, q: str
) -> None:
    admin, store, talk = one_conversation
    message_id = await add_message(runtime, talk, store, f"前{q}后", sent=at(1))

    hits = await find(runtime, admin, q)

    wanted = normalize_query(q)
    if not wanted:
        assert hits == []
        return
    ours = [hit for hit in hits if hit.message_id == message_id]
    assert ours, f"{q!r} did not find its message"
    assert any(re.fullmatch(re.escape(wanted), text, re.IGNORECASE) for text in marked(ours[0].snippet))


async def test_edited_and_deleted_messages_are_found_as_they_are_now(runtime, make_store, make_user) -> None:
    store = await make_store()
    agent = await make_user("xiaochen", Role.AGENT, [store])
    talk = await conversation_of(runtime, await buyer_says(runtime, store, "在吗", peer="o_a"))
    edited = await add_message(runtime, talk, store, "单号写错了 SF0001")
    gone = await add_message(runtime, talk, store, "稍后删除的消息 SF0002")
    async with runtime.db.engine.begin() as conn:
        await conn.execute(
            sa.update(Message.__table__).where(Message.id == edited).values(text="单号改为 YT0009")
        )
        await conn.execute(sa.update(Message.__table__).where(Message.id == gone).values(delivery="sent"))
    assert [hit.message_id for hit in await find(runtime, agent, "SF0002")] == [gone]

    assert await find(runtime, agent, "SF0001") == []
    assert [hit.message_id for hit in await find(runtime, agent, "YT0009")] == [edited]
    async with runtime.db.engine.begin() as conn:
        await conn.execute(sa.delete(Message.__table__).where(Message.id == gone))
    assert await find(runtime, agent, "SF0002") == []
    async with runtime.db.engine.begin() as conn:  # a store removed takes its conversations along
        await conn.execute(sa.delete(Store.__table__).where(Store.id == store.id))
    assert await find(runtime, agent, "YT0009") == []
    if runtime.db.is_sqlite:
        # FTS5 compares its index with the message table (rank 1) and raises if they drifted apart.
        async with runtime.db.engine.begin() as conn:
            await conn.execute(
                sa.text("INSERT INTO message_fts (message_fts, rank) VALUES ('integrity-check', 1)")
            )
