"""The queue: deadline-first, then latest activity; keyset pages that never skip or repeat a row;
filters; and only the stores the user may see."""

from __future__ import annotations

import base64
import datetime as dt
import itertools
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desk.accounts.models import Role, User
from desk.inbox.deadline import REPLY_DEADLINE, Urgency
from desk.inbox.models import Channel, Conversation, ConversationStatus
from desk.inbox.queue import QueueFilter, Whose, buyer_label, decode_cursor, queue_page, waiting_counts
from desk.orders.models import Buyer, BuyerTag
from desk.runtime import Runtime
from desk.stores.models import Store
from tests.inbox.support import T0, at

_peers = itertools.count(1)


async def add_conversation(
    runtime: Runtime,
    store: Store,
    *,
    waiting_since: dt.datetime | None = None,
    last_message_at: dt.datetime = T0,
    status: ConversationStatus = ConversationStatus.OPEN,
    assignee: User | None = None,
    buyer_id: int | None = None,
) -> int:
    """A conversation as filing and replies leave it (the queue reads only these columns)."""
    async with runtime.db.engine.begin() as conn:
        return int(
            (
                await conn.execute(
                    sa.insert(Conversation)
                    .values(
                        store_id=store.id,
                        channel=Channel.COMMKF,
                        peer_id=f"o_{next(_peers)}",
                        buyer_id=buyer_id,
                        waiting_since=waiting_since,
                        deadline_at=waiting_since + REPLY_DEADLINE if waiting_since else None,
                        last_message_at=last_message_at,
                        status=status,
                        assignee_id=assignee.id if assignee else None,
                    )
                    .returning(Conversation.id)
                )
            ).scalar_one()
        )


async def all_pages(
    runtime: Runtime, user: User, filt: QueueFilter, *, limit: int, now=T0
) -> list[list[int]]:
    pages, cursor = [], ""
    while True:
        async with runtime.db.session() as session:
            page = await queue_page(session, user, filt, now=now, cursor=cursor, limit=limit)
        pages.append([row.id for row in page.rows])
        if not page.next_cursor:
            return pages
        assert page.rows, "a page with a next cursor has rows"
        assert page.next_cursor != cursor, "the cursor moves on"
        assert len(pages) < 1000, "paging ends"
        cursor = page.next_cursor


async def ids(runtime: Runtime, user: User, filt: QueueFilter | None = None) -> list[int]:
    return [i for page in await all_pages(runtime, user, filt or QueueFilter(), limit=1000) for i in page]


@pytest.fixture
async def store(make_store) -> Store:
    return await make_store("旗舰店")


@pytest.fixture
async def admin(make_user) -> User:
    return await make_user("boss", Role.ADMIN)


# -- order -------------------------------------------------------------------------------------------


async def test_waiting_buyers_come_first_by_time_left_then_the_rest_by_latest_activity(
    runtime: Runtime, store, admin
) -> None:
    quiet_old = await add_conversation(runtime, store, last_message_at=at(-3600))
    due_later = await add_conversation(runtime, store, waiting_since=at(-10), last_message_at=at(-10))
    overdue = await add_conversation(runtime, store, waiting_since=at(-500), last_message_at=at(-5))
    quiet_new = await add_conversation(runtime, store, last_message_at=at(-1))
    due_soon = await add_conversation(runtime, store, waiting_since=at(-150), last_message_at=at(-150))
    async with runtime.db.session() as session:
        page = await queue_page(session, admin, QueueFilter(), now=T0)
    assert [row.id for row in page.rows] == [overdue, due_soon, due_later, quiet_new, quiet_old]
    assert [row.urgency for row in page.rows] == [
        Urgency.MISSED,
        Urgency.WARNING,
        Urgency.CALM,
        Urgency.NONE,
        Urgency.NONE,
    ]
    assert page.next_cursor == ""


_instants = st.builds(
    lambda seconds, micros: at(seconds) + dt.timedelta(microseconds=micros),
    st.integers(-400, 400),
    st.sampled_from([0, 1, 500_000, 999_999]),  # ties, and sub-second precision the cursor must keep
)
_rows = st.lists(st.tuples(st.booleans(), _instants, _instants), max_size=25)


def reference_order(rows: dict[int, tuple[dt.datetime | None, dt.datetime]]) -> list[int]:
    """The queue's order written plainly: waiting by deadline, the rest newest first; ids break ties."""
    waiting = sorted((deadline, i) for i, (deadline, _) in rows.items() if deadline is not None)
    rest = sorted(((last, i) for i, (deadline, last) in rows.items() if deadline is None), reverse=True)
    return [i for _, i in waiting] + [i for _, i in rest]


async def insert_rows(runtime: Runtime, store: Store, rows: list[tuple[bool, dt.datetime, dt.datetime]]):
    made: dict[int, tuple[dt.datetime | None, dt.datetime]] = {}
    for waiting, since, last in rows:
        conversation_id = await add_conversation(
            runtime, store, waiting_since=since if waiting else None, last_message_at=last
        )
        made[conversation_id] = (since + REPLY_DEADLINE if waiting else None, last)
    return made


async def forget_rows(runtime: Runtime, store: Store) -> None:
    async with runtime.db.engine.begin() as conn:
        await conn.execute(sa.delete(Conversation).where(Conversation.store_id == store.id))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=_rows, page_size=st.integers(1, 6))
async def test_pages_list_every_conversation_once_in_queue_order(
    runtime: Runtime, store, admin, rows, page_size
) -> None:
    made = await insert_rows(runtime, store, rows)
    try:
        pages = await all_pages(runtime, admin, QueueFilter(), limit=page_size)
        assert [i for page in pages for i in page] == reference_order(made)
        assert all(len(page) == page_size for page in pages[:-1])
    finally:
        await forget_rows(runtime, store)


_changes = st.lists(
    st.tuples(st.sampled_from(["answered", "wrote", "new", "resolved"]), st.integers(0, 10**6), _instants),
    max_size=6,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=_rows, page_size=st.integers(1, 6), changes=_changes)
async def test_rows_that_stay_put_are_listed_once_while_others_change_between_pages(
    runtime: Runtime, store, admin, rows, page_size, changes
) -> None:
    """Between pages, buyers are answered, write again, arrive or are resolved. Whatever moved
    may show again or not at all (the live page updates it); every other row is listed exactly
    once, in order."""
    made = await insert_rows(runtime, store, rows)
    touched: set[int] = set()
    seen: list[int] = []
    try:
        cursor = ""
        pending = list(changes)
        while True:
            async with runtime.db.session() as session:
                page = await queue_page(session, admin, QueueFilter(), now=T0, cursor=cursor, limit=page_size)
            seen += [row.id for row in page.rows]
            if not page.next_cursor:
                break
            assert page.next_cursor != cursor, "the cursor moves on"
            assert len(seen) < 1000, "paging ends"
            cursor = page.next_cursor
            if pending:
                what, pick, instant = pending.pop(0)
                touched |= await change_one(runtime, store, made, what, pick, instant)
        steady = [i for i in reference_order(made) if i not in touched]
        assert [i for i in seen if i not in touched] == steady
    finally:
        await forget_rows(runtime, store)


async def change_one(runtime: Runtime, store: Store, made: dict, what: str, pick: int, instant) -> set[int]:
    if what == "new" or not made:
        return {await add_conversation(runtime, store, waiting_since=instant, last_message_at=instant)}
    conversation_id = sorted(made)[pick % len(made)]
    values: dict[str, Any] = {
        "answered": {"waiting_since": None, "deadline_at": None, "last_message_at": instant},
        "wrote": {
            "waiting_since": instant,
            "deadline_at": instant + REPLY_DEADLINE,
            "last_message_at": instant,
        },
        "resolved": {"status": ConversationStatus.RESOLVED, "waiting_since": None, "deadline_at": None},
    }[what]
    async with runtime.db.engine.begin() as conn:
        await conn.execute(sa.update(Conversation).where(Conversation.id == conversation_id).values(**values))
    return {conversation_id}


async def test_a_cursor_that_is_not_ours_starts_from_the_first_page(runtime: Runtime, store, admin) -> None:
    first = await add_conversation(runtime, store)
    crafted = [
        base64.urlsafe_b64encode(msgspec.json.encode(fields)).decode()
        for fields in ([True, 1e300, 1], [False, 253402300800.0, 1], [True, 0.0, 2**64])
    ]
    for cursor in ("garbage", "bm90IGpzb24", "WzEsMiwzXQ", *crafted):
        async with runtime.db.session() as session:
            page = await queue_page(session, admin, QueueFilter(), now=T0, cursor=cursor)
        assert [row.id for row in page.rows] == [first]


# -- filters and scoping ---------------------------------------------------------------------------


async def test_whose_filters_mine_unassigned_and_all(runtime: Runtime, store, make_user) -> None:
    me = await make_user("me", Role.AGENT, [store])
    colleague = await make_user("colleague", Role.AGENT, [store])
    mine = await add_conversation(runtime, store, waiting_since=at(-30), assignee=me)
    theirs = await add_conversation(runtime, store, waiting_since=at(-20), assignee=colleague)
    nobodys = await add_conversation(runtime, store, waiting_since=at(-10))
    assert await ids(runtime, me, QueueFilter(whose=Whose.MINE)) == [mine]
    assert await ids(runtime, me, QueueFilter(whose=Whose.UNASSIGNED)) == [nobodys]
    assert await ids(runtime, me, QueueFilter(whose=Whose.ALL)) == [mine, theirs, nobodys]
    async with runtime.db.session() as session:
        counts = await waiting_counts(session, me)
    assert counts == {"mine": 1, "unassigned": 1, "all": 3}


async def test_status_filter(runtime: Runtime, store, admin) -> None:
    open_ = await add_conversation(runtime, store)
    pending = await add_conversation(runtime, store, status=ConversationStatus.PENDING)
    resolved = await add_conversation(runtime, store, status=ConversationStatus.RESOLVED)
    assert await ids(runtime, admin) == [open_]  # open is the default
    assert await ids(runtime, admin, QueueFilter(status=ConversationStatus.PENDING)) == [pending]
    assert await ids(runtime, admin, QueueFilter(status=ConversationStatus.RESOLVED)) == [resolved]


async def test_tag_filter(runtime: Runtime, store, admin) -> None:
    async with runtime.db.session() as session:
        vip, plain = Buyer(store_id=store.id, openid="o_vip"), Buyer(store_id=store.id, openid="o_plain")
        session.add_all([vip, plain])
        await session.flush()
        session.add(BuyerTag(buyer_id=vip.id, tag="VIP"))
    tagged = await add_conversation(runtime, store, buyer_id=vip.id)
    await add_conversation(runtime, store, buyer_id=plain.id)
    await add_conversation(runtime, store)
    assert await ids(runtime, admin, QueueFilter(tag="VIP")) == [tagged]
    assert await ids(runtime, admin, QueueFilter(tag="尺码")) == []


async def test_agents_see_their_stores_only_admins_all(runtime: Runtime, make_store, make_user) -> None:
    north, south = await make_store("北店"), await make_store("南店")
    agent = await make_user("north_agent", Role.AGENT, [north])
    manager = await make_user("south_manager", Role.MANAGER, [south])
    admin = await make_user("boss", Role.ADMIN)
    northern = await add_conversation(runtime, north, waiting_since=at(-20))
    southern = await add_conversation(runtime, south, waiting_since=at(-10))
    assert await ids(runtime, agent) == [northern]
    assert await ids(runtime, manager) == [southern]
    assert await ids(runtime, admin) == [northern, southern]
    # Asking for a store one may not see shows nothing, not that store's buyers.
    assert await ids(runtime, agent, QueueFilter(store_id=south.id)) == []
    assert await ids(runtime, admin, QueueFilter(store_id=south.id)) == [southern]
    async with runtime.db.session() as session:
        assert (await waiting_counts(session, agent))["all"] == 1
        assert (await waiting_counts(session, agent, store_id=south.id))["all"] == 0
    lonely = await make_user("lonely", Role.AGENT, [])
    assert await ids(runtime, lonely) == []


async def test_rows_show_store_buyer_last_message_and_holder(runtime: Runtime, store, make_user) -> None:
    agent = await make_user("xiaochen", Role.AGENT, [store])
    async with runtime.db.session() as session:
        buyer = Buyer(store_id=store.id, openid="o_named", nickname="小明")
        session.add(buyer)
    conversation_id = await add_conversation(
        runtime, store, waiting_since=at(-5), assignee=agent, buyer_id=buyer.id
    )
    async with runtime.db.session() as session:
        [row] = (await queue_page(session, agent, QueueFilter(), now=T0)).rows
    assert (row.id, row.store_name, row.buyer_name, row.assignee_name) == (
        conversation_id,
        "旗舰店",
        "小明",
        "xiaochen",
    )


def test_a_buyer_is_known_by_nickname_else_receiver_else_openid_tail() -> None:
    assert buyer_label("小明", "张**", "o_abcdef123456") == "小明"
    assert buyer_label("", "张**", "o_abcdef123456") == "张**"
    assert buyer_label(None, None, "o_abcdef123456") == "…123456"
    assert buyer_label("", "", "wkAAA/wmBBBCCC999") == "…CCC999"


@given(st.text(max_size=60) | st.binary(max_size=40).map(lambda b: base64.urlsafe_b64encode(b).decode()))
def test_any_cursor_string_decodes_to_a_cursor_or_to_the_first_page(value: str) -> None:
    cursor = decode_cursor(value)
    assert cursor is None or isinstance(cursor.id, int)


@given(
    st.tuples(
        st.booleans(),
        st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(10**30), 10**30),
        st.integers(-(2**70), 2**70),
    )
)
def test_a_well_formed_cursor_with_impossible_values_is_refused(fields) -> None:
    value = base64.urlsafe_b64encode(msgspec.json.encode(list(fields))).decode().rstrip("=")
    cursor = decode_cursor(value)
    if cursor is not None:  # what decodes can be used: an instant and an id the database takes
        assert dt.datetime.fromtimestamp(cursor.at, dt.UTC)
        assert -(2**63) <= cursor.id < 2**63
