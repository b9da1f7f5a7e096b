"""The search page: what an agent sees for a query, as a page and as the htmx partial."""

from __future__ import annotations

import re
from urllib.parse import quote

from desk.accounts.models import Role
from desk.inbox.search import MAX_QUERY_LENGTH, RECENT_WINDOW
from tests.conftest import login
from tests.inbox.search_data import add_buyer, add_order, at, buyer_says, conversation_of

HX = {"HX-Request": "true"}


def hits(html: str) -> list[str]:
    """The conversation links of the hits, in page order."""
    return re.findall(r'<a class="feed-title" href="(/inbox/c/\d+)"', html)


async def test_an_agent_finds_a_message_and_an_order_of_their_store_only(
    client, app, make_store, make_user
) -> None:
    mine, theirs = await make_store("我的店"), await make_store("别人的店")
    await login(client, app, await make_user("xiaochen", Role.AGENT, [mine]))
    buyer = await add_buyer(runtime=app.state.runtime, store=mine, nickname="阿伟", openid="o_a")
    talk = await conversation_of(
        app.state.runtime,
        await buyer_says(
            app.state.runtime, mine, "请问退款怎么还没到", peer="o_a", buyer_id=buyer, sent=at(1)
        ),
    )
    await buyer_says(app.state.runtime, theirs, "退款怎么处理", peer="o_b", sent=at(2))
    await add_order(app.state.runtime, mine, "3705115058471208960", buyer_id=buyer, openid="o_a")

    page = await client.get("/inbox/search", params={"q": "退款怎么"})

    assert page.status_code == 200
    assert "<html" in page.text
    assert hits(page.text) == [f"/inbox/c/{talk}"]
    assert "请问<mark>退款怎么</mark>还没到" in page.text
    assert "我的店" in page.text
    assert "退款怎么处理" not in page.text
    assert 'value="退款怎么"' in page.text  # the box keeps the query

    by_order = await client.get("/inbox/search", params={"q": "3705115058471208960"})
    assert hits(by_order.text) == [f"/inbox/c/{talk}"]
    assert "<mark>3705115058471208960</mark>" in by_order.text
    assert "订单号" in by_order.text


async def test_htmx_gets_just_the_results_and_payloads_stay_text(client, app, make_store, make_user) -> None:
    store = await make_store()
    await login(client, app, await make_user("xiaochen", Role.AGENT, [store]))
    buyer = await add_buyer(app.state.runtime, store, nickname="<b>坏人</b>", openid="o_x")
    await buyer_says(
        app.state.runtime,
        store,
        "<script>alert('退款')</script><img src=x onerror=1>",
        peer="o_x",
        buyer_id=buyer,
    )

    partial = await client.get("/inbox/search", params={"q": "退款"}, headers=HX)

    assert partial.status_code == 200
    assert "<html" not in partial.text
    assert partial.text.lstrip().startswith("<section")
    assert "<script>" not in partial.text
    assert "<img" not in partial.text
    assert (
        "&lt;script&gt;alert(&#39;<mark>退款</mark>&#39;)&lt;/script&gt;&lt;img src=x onerror=1&gt;"
        in partial.text
    )
    assert "&lt;b&gt;坏人&lt;/b&gt;" in partial.text
    # Two characters: the index cannot serve them, and the page says how far it looked.
    assert f"{RECENT_WINDOW:,}" in partial.text

    by_nickname = await client.get("/inbox/search", params={"q": "<b>"}, headers=HX)
    assert "<mark>&lt;b&gt;</mark>坏人" in by_nickname.text
    restore = await client.get(
        "/inbox/search", params={"q": "退款"}, headers={**HX, "HX-History-Restore-Request": "true"}
    )
    assert "<html" in restore.text


async def test_an_empty_query_shows_the_hint_and_nothing_found_says_so(
    client, app, make_store, make_user
) -> None:
    store = await make_store()
    await login(client, app, await make_user("xiaochen", Role.AGENT, [store]))
    empty = await client.get("/inbox/search")
    assert empty.status_code == 200
    assert "输入完整订单号或开头几位数字" in empty.text
    assert hits(empty.text) == []
    none = await client.get("/inbox/search", params={"q": "  鳄鱼先生  "})
    assert "没有找到包含「鳄鱼先生」的订单、买家或消息。" in none.text


async def test_a_query_too_long_is_refused_inline(client, app, make_store, make_user) -> None:
    store = await make_store()
    await login(client, app, await make_user("xiaochen", Role.AGENT, [store]))
    too_long = "退" * (MAX_QUERY_LENGTH + 1)

    page = await client.get("/inbox/search", params={"q": too_long})
    assert page.status_code == 400
    assert f"搜索词最多 {MAX_QUERY_LENGTH} 个字符，请缩短后再搜索。" in page.text
    assert f'value="{too_long}"' in page.text  # what they typed is kept to shorten
    assert 'aria-invalid="true"' in page.text

    partial = await client.get("/inbox/search", params={"q": too_long}, headers=HX)
    assert partial.status_code == 200  # htmx swaps only 2xx answers
    assert f"搜索词最多 {MAX_QUERY_LENGTH} 个字符，请缩短后再搜索。" in partial.text

    client.cookies.set("desk_lang", "en")
    english = await client.get("/inbox/search", params={"q": too_long})
    assert f"A search can be at most {MAX_QUERY_LENGTH} characters long; please shorten it." in english.text


async def test_without_a_session_the_page_asks_to_log_in(client) -> None:
    page = await client.get("/inbox/search", params={"q": "退款"}, follow_redirects=False)
    assert page.status_code in (302, 303)
    assert page.headers["location"] == "/login?next=" + quote("/inbox/search?q=" + quote("退款"), safe="")

    partial = await client.get("/inbox/search", params={"q": "退款"}, headers=HX)
    assert partial.status_code == 401
    assert partial.headers["HX-Redirect"].startswith("/login?next=")
    assert "退款" not in partial.text


async def test_every_role_may_search(client, app, make_store, make_user) -> None:
    store = await make_store()
    await buyer_says(app.state.runtime, store, "发货了吗", peer="o_a")
    for role in (Role.AGENT, Role.MANAGER, Role.ADMIN):
        await login(client, app, await make_user(f"user-{role.value}", role, [store]))
        page = await client.get("/inbox/search", params={"q": "发货"})
        assert page.status_code == 200, role
        assert len(hits(page.text)) == 1, role
