"""Store activity: the latest conversations, orders and after-sales, scoped, newest first, polled by htmx."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.models import Role
from desk.aftersales.models import AfterSale
from desk.aftersales.queries import latest_aftersales
from desk.aftersales.status import aftersale_status_label, aftersale_type_label
from desk.db import utcnow
from desk.i18n import LANGUAGES
from desk.inbox.models import Channel, Conversation, Message, Sender
from desk.inbox.recent import latest_conversations
from desk.ingest.models import EventSource, EventState, PlatformEvent, PushHour
from desk.orders.models import Buyer, Order, OrderLine
from desk.orders.queries import latest_orders
from desk.orders.status import order_status_label
from desk.stores.models import Store
from tests.conftest import login

# The platform's codes as specs/wechat-apis.md §2 and §3 list them.
ORDER_STATUSES = [10, 12, 13, 20, 21, 30, 100, 190, 200, 250]
AFTERSALE_STATUSES = [
    "USER_CANCELD",
    "MERCHANT_PROCESSING",
    "MERCHANT_REJECT_REFUND",
    "MERCHANT_REJECT_RETURN",
    "USER_WAIT_RETURN",
    "RETURN_CLOSED",
    "MERCHANT_WAIT_RECEIPT",
    "MERCHANT_OVERDUE_REFUND",
    "MERCHANT_REFUND_SUCCESS",
    "MERCHANT_RETURN_SUCCESS",
    "PLATFORM_REFUNDING",
    "PLATFORM_REFUND_FAIL",
    "USER_WAIT_CONFIRM",
    "MERCHANT_REFUND_RETRY_FAIL",
    "MERCHANT_FAIL",
    "USER_WAIT_CONFIRM_UPDATE",
    "USER_WAIT_HANDLE_MERCHANT_AFTER_SALE",
]
NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
HTMX = {"HX-Request": "true"}
_ids = itertools.count(3_700_000_000_000_000_000)


def minutes_ago(minutes: float, now: dt.datetime = NOW) -> dt.datetime:
    return now - dt.timedelta(minutes=minutes)


# -- rows, written directly with the models -----------------------------------------------------


async def add_buyer(session: AsyncSession, store: Store, openid: str, nickname: str = "") -> Buyer:
    buyer = Buyer(store_id=store.id, openid=openid, nickname=nickname)
    session.add(buyer)
    await session.flush()
    return buyer


async def add_conversation(
    session: AsyncSession,
    store: Store,
    buyer: Buyer | None,
    messages: list[tuple[Sender, str, dt.datetime]],
    *,
    waiting_since: dt.datetime | None = None,
    peer_id: str | None = None,
) -> Conversation:
    conversation = Conversation(
        store_id=store.id,
        buyer_id=buyer.id if buyer else None,
        channel=Channel.COMMKF,
        peer_id=peer_id or (buyer.openid if buyer else "o_nobody"),
        last_message_at=max(sent_at for _, _, sent_at in messages),
        waiting_since=waiting_since,
    )
    session.add(conversation)
    await session.flush()
    for n, (sender, text, sent_at) in enumerate(messages):
        session.add(
            Message(
                conversation_id=conversation.id,
                store_id=store.id,
                sender=sender,
                platform_msg_id=f"m{conversation.id}-{n}",
                text=text,
                sent_at=sent_at,
            )
        )
    await session.flush()
    return conversation


async def add_order(
    session: AsyncSession,
    store: Store,
    *,
    created: dt.datetime,
    status: int = 20,
    price: int = 6900,
    lines: list[tuple[str, int]] | None = None,
    receiver: str = "林**",
    phone: str = "183****2807",
) -> Order:
    order = Order(
        store_id=store.id,
        order_id=str(next(_ids)),
        status=status,
        create_time=created,
        update_time=created,
        fetched_at=created,
        order_price=price,
        product_price=price,
        receiver_name=receiver,
        receiver_tel_masked=phone,
        province="广东省",
        city="深圳市",
        lines=[
            OrderLine(position=n, product_id=f"p{n}", sku_id=f"s{n}", title=title, sku_cnt=count)
            for n, (title, count) in enumerate([("羊毛围巾", 1)] if lines is None else lines)
        ],
    )
    session.add(order)
    await session.flush()
    return order


async def add_aftersale(
    session: AsyncSession,
    store: Store,
    *,
    created: dt.datetime,
    status: str = "MERCHANT_PROCESSING",
    kind: str = "REFUND",
    refund: int = 6900,
    reason_text: str = "不想要了",
    order_id: str = "3711111111111111111",
) -> AfterSale:
    aftersale = AfterSale(
        store_id=store.id,
        after_sale_order_id=str(next(_ids)),
        order_id=order_id,
        status=status,
        type=kind,
        refund_amount=refund,
        reason="NO_LONGER_WANT",
        reason_text=reason_text,
        create_time=created,
        update_time=created,
        fetched_at=created,
    )
    session.add(aftersale)
    await session.flush()
    return aftersale


async def viewer(session: AsyncSession, user: Any) -> Any:
    """The user as a request sees it (with their stores loaded)."""
    return await session.get_one(type(user), user.id)


async def get(client: httpx.AsyncClient, url: str, **headers: str) -> httpx.Response:
    response = await client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return response


# -- queries ------------------------------------------------------------------------------------


async def test_conversations_are_newest_first_with_last_message_count_and_wait(
    runtime, make_store, make_user
) -> None:
    store = await make_store("旗舰店")
    agent = await make_user("xiaowang", Role.AGENT, [store])
    async with runtime.db.session() as session:
        quiet = await add_buyer(session, store, "o_quiet_buyer_123456", nickname="小雨")
        busy = await add_buyer(session, store, "o_busy_buyer_abcdef")
        await add_conversation(
            session,
            store,
            quiet,
            [(Sender.BUYER, "在吗", minutes_ago(30)), (Sender.AGENT, "在的，请讲", minutes_ago(29))],
        )
        await add_conversation(
            session,
            store,
            busy,
            [
                (Sender.BUYER, "什么时候发货？", minutes_ago(4)),
                (Sender.AUTO, "您好，客服马上回复", minutes_ago(4)),
                (Sender.BUYER, "急用", minutes_ago(1)),
            ],
            waiting_since=minutes_ago(4),
        )
        panel = await latest_conversations(session, await viewer(session, agent), now=NOW)

    assert panel.total == 2
    first, second = panel.rows
    assert (first.buyer_name, first.buyer_tail) == ("", "abcdef")
    assert (first.last_message, first.last_sender, first.message_count) == ("急用", "buyer", 3)
    assert first.last_message_at == minutes_ago(1)
    assert (first.waited_seconds, first.overdue) == (240, True)
    assert first.store_name == "旗舰店"
    assert (second.buyer_name, second.last_message, second.last_sender) == ("小雨", "在的，请讲", "agent")
    assert (second.waiting_since, second.waited_seconds, second.overdue) == (None, None, False)


async def test_a_buyer_waiting_under_three_minutes_is_not_overdue(runtime, make_store, make_user) -> None:
    store = await make_store()
    agent = await make_user("xiaowang", Role.AGENT, [store])
    async with runtime.db.session() as session:
        buyer = await add_buyer(session, store, "o_new_buyer")
        await add_conversation(
            session, store, buyer, [(Sender.BUYER, "你好", minutes_ago(2.5))], waiting_since=minutes_ago(2.5)
        )
        (row,) = (await latest_conversations(session, await viewer(session, agent), now=NOW)).rows
    assert (row.waited_seconds, row.overdue) == (150, False)


async def test_a_wecom_kf_buyer_without_a_buyer_row_is_named_by_the_external_id_tail(
    runtime, make_store, make_user
) -> None:
    store = await make_store()
    agent = await make_user("xiaowang", Role.AGENT, [store])
    async with runtime.db.session() as session:
        await add_conversation(
            session,
            store,
            None,
            [(Sender.BUYER, "你好", minutes_ago(1))],
            peer_id="wkAbCdEf/wmExternal9z8y7x",
        )
        (row,) = (await latest_conversations(session, await viewer(session, agent), now=NOW)).rows
    assert (row.buyer_name, row.buyer_tail) == ("", "9z8y7x")


async def test_orders_are_newest_first_with_their_lines_in_order(runtime, make_store, make_user) -> None:
    store = await make_store()
    agent = await make_user("xiaowang", Role.AGENT, [store])
    async with runtime.db.session() as session:
        old = await add_order(session, store, created=minutes_ago(60), status=100, lines=[("帆布包", 1)])
        new = await add_order(
            session, store, created=minutes_ago(1), price=123450, lines=[("冲锋衣", 1), ("登山杖", 2)]
        )
        bare = await add_order(session, store, created=minutes_ago(30), status=10, lines=[])
        panel = await latest_orders(session, await viewer(session, agent))

    assert panel.total == 3
    assert [row.order_id for row in panel.rows] == [new.order_id, bare.order_id, old.order_id]
    first = panel.rows[0]
    assert [(item.title, item.count) for item in first.items] == [("冲锋衣", 1), ("登山杖", 2)]
    assert (first.status, first.amount, first.region) == (20, 123450, "广东省 深圳市")
    assert panel.rows[1].items == []


async def test_receiver_phones_stay_masked_and_an_unmasked_one_is_masked(
    runtime, make_store, make_user
) -> None:
    store = await make_store()
    agent = await make_user("xiaowang", Role.AGENT, [store])
    async with runtime.db.session() as session:
        await add_order(session, store, created=minutes_ago(2), phone="183****2807")
        await add_order(session, store, created=minutes_ago(1), phone="138 1234 5678")
        panel = await latest_orders(session, await viewer(session, agent))
    assert [row.receiver_phone for row in panel.rows] == ["138****5678", "183****2807"]
    assert [row.receiver_name for row in panel.rows] == ["林**", "林**"]


async def test_aftersales_are_newest_first_with_type_status_reason_and_refund(
    runtime, make_store, make_user
) -> None:
    store = await make_store()
    agent = await make_user("xiaowang", Role.AGENT, [store])
    async with runtime.db.session() as session:
        older = await add_aftersale(session, store, created=minutes_ago(10), kind="RETURN", refund=100)
        newer = await add_aftersale(
            session, store, created=minutes_ago(1), status="MERCHANT_REFUND_SUCCESS", reason_text=""
        )
        panel = await latest_aftersales(session, await viewer(session, agent))
    assert [row.after_sale_order_id for row in panel.rows] == [
        newer.after_sale_order_id,
        older.after_sale_order_id,
    ]
    assert (panel.rows[1].type, panel.rows[1].reason, panel.rows[1].refund_amount) == (
        "RETURN",
        "不想要了",
        100,
    )
    # No reason text: the legacy reason code is shown rather than nothing.
    assert panel.rows[0].reason == "NO_LONGER_WANT"
    assert panel.rows[0].status_label.render("zh-CN") == "退款完成"


async def test_each_panel_counts_every_row_but_lists_only_the_newest(runtime, make_store, make_user) -> None:
    store = await make_store()
    agent = await make_user("xiaowang", Role.AGENT, [store])
    async with runtime.db.session() as session:
        for n in range(3):
            await add_aftersale(session, store, created=minutes_ago(n))
            await add_order(session, store, created=minutes_ago(n))
            buyer = await add_buyer(session, store, f"o_buyer_{n}")
            await add_conversation(session, store, buyer, [(Sender.BUYER, f"第{n}条", minutes_ago(n))])
        user = await viewer(session, agent)
        panels = [
            await latest_conversations(session, user, limit=2),
            await latest_orders(session, user, limit=2),
            await latest_aftersales(session, user, limit=2),
        ]
    assert [(len(panel.rows), panel.total) for panel in panels] == [(2, 3)] * 3
    assert [row.last_message for row in panels[0].rows] == ["第0条", "第1条"]


async def test_queries_see_only_the_users_stores_and_filter_by_store(runtime, make_store, make_user) -> None:
    a, b = await make_store("A店"), await make_store("B店")
    agent = await make_user("xiaowang", Role.AGENT, [a])
    admin = await make_user("root", Role.ADMIN)
    async with runtime.db.session() as session:
        for store in (a, b):
            buyer = await add_buyer(session, store, f"o_{store.id}")
            await add_conversation(session, store, buyer, [(Sender.BUYER, store.name, minutes_ago(1))])
            await add_order(session, store, created=minutes_ago(1))
            await add_aftersale(session, store, created=minutes_ago(1))
        mine = await viewer(session, agent)
        everyone = await viewer(session, admin)
        assert [r.store_name for r in (await latest_conversations(session, mine)).rows] == ["A店"]
        assert [r.store_name for r in (await latest_conversations(session, everyone)).rows] == ["B店", "A店"]
        assert (await latest_conversations(session, everyone, store_id=a.id)).total == 1
        # Asking for another store's rows by id gives nothing, not that store's rows.
        assert (await latest_conversations(session, mine, store_id=b.id)).total == 0
        assert (await latest_orders(session, mine, store_id=b.id)).total == 0
        assert (await latest_aftersales(session, mine, store_id=b.id)).total == 0
        assert (await latest_orders(session, mine)).total == 1
        assert (await latest_aftersales(session, mine)).total == 1


# -- labels -------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_every_platform_status_and_type_has_its_own_words_in_every_language(language: str) -> None:
    for labels in (
        [order_status_label(status) for status in ORDER_STATUSES],
        [aftersale_status_label(status) for status in AFTERSALE_STATUSES],
        [aftersale_type_label(kind) for kind in ("REFUND", "RETURN", "EXCHANGE")],
    ):
        texts = [label.render(language) for label in labels]
        assert len(set(texts)) == len(texts), texts
        assert not [
            text for text in texts if text.startswith("activity.") or re.fullmatch(r"[A-Z_\d]+", text)
        ]


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("zh-CN", ["待发货", "已完成", "已取消", "仅退款", "退货退款", "换货", "待商家处理", "待买家退货"]),
        ("en", ["To ship", "Completed", "Cancelled", "Refund only", "Return and refund", "Exchange"]),
    ],
)
def test_the_labels_read_as_the_platform_means_them(language: str, words: list[str]) -> None:
    rendered = {
        *(order_status_label(s).render(language) for s in ORDER_STATUSES),
        *(aftersale_status_label(s).render(language) for s in AFTERSALE_STATUSES),
        *(aftersale_type_label(k).render(language) for k in ("REFUND", "RETURN", "EXCHANGE")),
    }
    assert set(words) <= rendered


def test_unknown_codes_are_shown_as_the_platform_sent_them() -> None:
    assert order_status_label(17).render("zh-CN") == "待核销"
    assert order_status_label(42).render("zh-CN") == "未知状态（42）"
    assert (
        aftersale_status_label("WAIT_PACKAGE_INTERCEPT").render("en")
        == "Unknown status (WAIT_PACKAGE_INTERCEPT)"
    )
    assert aftersale_type_label("PRICE_DIFF").render("zh-CN") == "PRICE_DIFF"


# -- pages --------------------------------------------------------------------------------------


async def test_the_store_page_shows_three_live_panels(client, app, runtime, make_store, make_user) -> None:
    store = await make_store("旗舰店")
    await login(client, app, await make_user("xiaowang", Role.AGENT, [store]))
    now = utcnow()
    async with runtime.db.session() as session:
        buyer = await add_buyer(session, store, "o_buyer_tail42")
        await add_conversation(
            session,
            store,
            buyer,
            [(Sender.BUYER, "能便宜点吗", minutes_ago(5, now))],
            waiting_since=minutes_ago(5, now),
        )
        await add_order(session, store, created=minutes_ago(3, now), price=123450, lines=[("冲锋衣", 2)])
        await add_aftersale(session, store, created=minutes_ago(2, now), kind="RETURN", refund=6900)

    html = (await get(client, f"/stores/{store.id}")).text
    for panel in ("conversations", "orders", "aftersales"):
        assert f'hx-get="/stores/{store.id}?panel={panel}" hx-trigger="every 5s"' in html
    assert "买家 …tail42" in html
    assert "能便宜点吗" in html
    assert "已等待 5 分" in html
    assert "is-overdue" in html
    assert "超时" in html
    assert "¥1,234.50" in html
    assert "冲锋衣 &times;2" in html
    assert '林** <span class="mono">183****2807</span>' in html
    assert "待发货" in html
    assert "退货退款" in html
    assert "退款 ¥69.00" in html
    assert html.count("共 1 条") == 3


async def test_the_store_page_says_whether_pushes_arrive(client, app, runtime, make_store, make_user) -> None:
    store = await make_store("旗舰店")
    await login(client, app, await make_user("xiaowang", Role.AGENT, [store]))
    assert "尚未收到推送" in (await get(client, f"/stores/{store.id}")).text

    now = utcnow()
    async with runtime.db.session() as session:
        for n, (state, age) in enumerate(
            [
                (EventState.DONE, dt.timedelta(hours=30)),
                (EventState.DONE, dt.timedelta(minutes=2)),
                (EventState.PARKED, dt.timedelta(minutes=1)),
            ]
        ):
            session.add(
                PlatformEvent(
                    source=EventSource.CHANNELS,
                    store_id=store.id,
                    event_type="channels_ec_order_pay",
                    dedup_key=f"k{n}",
                    payload="{}",
                    state=state,
                    received_at=now - age,
                    next_attempt_at=now,
                )
            )
            # The counters the ingest writer keeps as it stores each push (tests/ingest/test_health.py).
            hour = (now - age).replace(minute=0, second=0, microsecond=0)
            counter = await session.get(PushHour, (store.id, hour))
            if counter is None:
                session.add(PushHour(store_id=store.id, hour=hour, pushes=1, last_received_at=now - age))
                await session.flush()
            else:
                counter.pushes += 1
                counter.last_received_at = now - age
    html = (await get(client, f"/stores/{store.id}")).text
    assert "尚未收到推送" not in html
    assert "24 小时内 2 条" in html
    assert "1 条推送处理失败" in html
    assert 'href="/settings/events"' not in html  # agents cannot replay; only admins get the link


async def test_a_polling_request_gets_just_its_panel_with_new_rows(
    client, app, runtime, make_store, make_user
) -> None:
    store = await make_store("旗舰店")
    await login(client, app, await make_user("xiaowang", Role.AGENT, [store]))
    await get(client, f"/stores/{store.id}")
    async with runtime.db.session() as session:
        await add_order(session, store, created=utcnow(), lines=[("新到的围巾", 1)])

    partial = (await get(client, f"/stores/{store.id}?panel=orders", **HTMX)).text
    assert partial.lstrip().startswith('<section id="panel-orders"')
    assert "<html" not in partial
    assert "新到的围巾" in partial
    assert "panel-conversations" not in partial
    assert 'hx-trigger="every 5s"' in partial  # the swapped-in panel keeps polling

    # The same address without htmx (a reload, a shared link) is the whole page.
    full = (await get(client, f"/stores/{store.id}?panel=orders")).text
    assert "<html" in full
    assert "panel-conversations" in full


async def test_the_store_page_speaks_english(client, app, runtime, make_store, make_user) -> None:
    store = await make_store("Flagship")
    await login(client, app, await make_user("xiaowang", Role.AGENT, [store]))
    client.cookies.set("desk_lang", "en")
    async with runtime.db.session() as session:
        await add_order(session, store, created=utcnow(), status=30)
        await add_aftersale(session, store, created=utcnow(), status="USER_WAIT_RETURN", kind="EXCHANGE")
    html = (await get(client, f"/stores/{store.id}")).text
    for words in ("Latest orders", "Shipped", "Awaiting buyer&#39;s return", "Exchange", "1 in all"):
        assert words in html
    partial = (await get(client, f"/stores/{store.id}?panel=aftersales", **HTMX)).text
    assert "Awaiting buyer&#39;s return" in partial


async def test_another_stores_activity_is_not_found(client, app, runtime, make_store, make_user) -> None:
    a, b = await make_store("A店"), await make_store("B店")
    await login(client, app, await make_user("xiaowang", Role.AGENT, [a]))
    async with runtime.db.session() as session:
        await add_order(session, b, created=utcnow(), lines=[("B店的秘密商品", 1)])
    for url, headers in ((f"/stores/{b.id}", {}), (f"/stores/{b.id}?panel=orders", HTMX)):
        response = await client.get(url, headers=headers)
        assert response.status_code == 404
        assert "B店的秘密商品" not in response.text


async def test_empty_panels_say_what_will_appear(client, app, make_store, make_user) -> None:
    store = await make_store()
    await login(client, app, await make_user("xiaowang", Role.AGENT, [store]))
    html = (await get(client, f"/stores/{store.id}")).text
    for text in ("还没有买家消息", "还没有订单", "还没有售后申请"):
        assert text in html
    assert html.count("共 0 条") == 3
