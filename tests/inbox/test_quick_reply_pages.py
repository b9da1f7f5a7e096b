"""The quick reply pages over HTTP: admins' shared sets, one's own set, the picker, roles, scoping."""

from __future__ import annotations

import codecs
import html
import re
from typing import Any

import httpx
import sqlalchemy as sa

from desk.accounts.models import Role
from desk.inbox.models import QuickReply
from desk.inbox.quick_replies import QuickReplyForm, QuickReplyView, ReplySet, create_reply, list_replies
from desk.runtime import Runtime
from tests.conftest import csrf_headers, login
from tests.inbox.quick_reply_support import buyer_writes, channels_order, save_orders
from tests.shell.helpers import post_form


async def create(runtime: Runtime, reply_set: ReplySet, title: str, text: str = "亲，您好") -> QuickReplyView:
    async with runtime.db.session() as session:
        result = await create_reply(session, reply_set, QuickReplyForm(title=title, text=text))
    assert isinstance(result, QuickReplyView), result
    return result


async def titles(runtime: Runtime, reply_set: ReplySet) -> dict[str, str]:
    async with runtime.db.session() as session:
        return {r.title: r.text for r in await list_replies(session, reply_set)}


async def upload(
    client: httpx.AsyncClient, store_id: int, data: bytes, name: str = "话术.csv"
) -> httpx.Response:
    if "desk_csrf" not in client.cookies:
        await client.get("/login")
    return await client.post(
        f"/settings/quick-replies/{store_id}/import",
        files={"file": (name, data, "text/csv")},
        data={"_csrf_token": client.cookies["desk_csrf"]},
    )


def text_of(page: str) -> str:
    """The page's visible text, tags dropped and entities decoded (what a reader sees)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


# -- roles ----------------------------------------------------------------------------------------------


async def test_agents_and_managers_may_not_manage_shared_replies(client, app, make_user, make_store) -> None:
    store = await make_store()
    reply = None
    for username, role in (("agent", Role.AGENT), ("boss", Role.MANAGER)):
        await login(client, app, await make_user(username, role, [store]))
        reply = reply or await create(app.state.runtime, ReplySet.shared(store.id), "发货时间")
        for path in (
            "/settings/quick-replies",
            f"/settings/quick-replies/{store.id}/new",
            f"/settings/quick-replies/{store.id}/{reply.id}",
            f"/settings/quick-replies/{store.id}/export",
            f"/settings/quick-replies/{store.id}/import",
        ):
            assert (await client.get(path)).status_code == 403, path
        for path, data in (
            (f"/settings/quick-replies/{store.id}", {"title": "新", "text": "新"}),
            (f"/settings/quick-replies/{store.id}/{reply.id}", {"title": "改", "text": "改"}),
            (f"/settings/quick-replies/{store.id}/{reply.id}/delete", {}),
        ):
            assert (await post_form(client, path, data)).status_code == 403, path
        assert (await upload(client, store.id, b"title,text\nx,y\n")).status_code == 403
    assert await titles(app.state.runtime, ReplySet.shared(store.id)) == {"发货时间": "亲，您好"}


async def test_the_settings_page_shows_the_quick_replies_card(client, app, make_user) -> None:
    await login(client, app, await make_user("root", Role.ADMIN))
    page = await client.get("/settings")
    assert 'href="/settings/quick-replies"' in page.text
    assert "话术库" in page.text


async def test_pages_need_a_login(client) -> None:
    for path in (
        "/settings/quick-replies",
        "/inbox/quick-replies",
        "/inbox/quick-replies/picker?conversation=1",
    ):
        response = await client.get(path)
        assert response.status_code in (302, 303), path
        assert response.headers["location"].startswith("/login"), path


# -- admins: shared sets ---------------------------------------------------------------------------------


async def test_an_admin_sees_every_store_and_adds_edits_and_deletes_a_shared_reply(
    client, app, runtime, make_user, make_store
) -> None:
    first, second = await make_store("潮流女装旗舰店"), await make_store("山野户外专营店")
    await login(client, app, await make_user("root", Role.ADMIN))
    page = await client.get("/settings/quick-replies")
    assert page.status_code == 200
    assert "潮流女装旗舰店" in page.text
    assert "山野户外专营店" in page.text
    assert "还没有话术。" in page.text

    created = await post_form(
        client,
        f"/settings/quick-replies/{second.id}",
        {"title": "物流查询", "text": "亲，您的快递单号是 {物流单号}。\r\n请查收"},
    )
    assert created.status_code in (302, 303)
    listing = await client.get(created.headers["location"])
    assert "话术已添加。" in listing.text
    assert "物流查询" in listing.text
    assert await titles(runtime, ReplySet.shared(second.id)) == {
        "物流查询": "亲，您的快递单号是 {物流单号}。\n请查收"
    }
    assert await titles(runtime, ReplySet.shared(first.id)) == {}

    (reply_id,) = await _ids(runtime, second.id)
    edit = await client.get(f"/settings/quick-replies/{second.id}/{reply_id}")
    assert 'value="物流查询"' in edit.text
    assert "{买家昵称}" in edit.text  # the variables it may use are listed beside the form
    saved = await post_form(
        client, f"/settings/quick-replies/{second.id}/{reply_id}", {"title": "物流查询", "text": "已发货"}
    )
    assert saved.status_code in (302, 303)
    assert await titles(runtime, ReplySet.shared(second.id)) == {"物流查询": "已发货"}

    # The reply belongs to the second store: under the first store's path it does not exist.
    assert (await client.get(f"/settings/quick-replies/{first.id}/{reply_id}")).status_code == 404
    assert (
        await post_form(client, f"/settings/quick-replies/{first.id}/{reply_id}/delete", {})
    ).status_code == 404
    deleted = await post_form(client, f"/settings/quick-replies/{second.id}/{reply_id}/delete", {})
    assert deleted.status_code in (302, 303)
    assert "话术已删除。" in (await client.get(deleted.headers["location"])).text
    assert await titles(runtime, ReplySet.shared(second.id)) == {}


async def _ids(runtime: Runtime, store_id: int) -> list[int]:
    async with runtime.db.session() as session:
        return list(await session.scalars(sa.select(QuickReply.id).where(QuickReply.store_id == store_id)))


async def test_a_refused_form_shows_each_problem_inline_keeps_the_input_and_saves_nothing(
    client, app, runtime, make_user, make_store
) -> None:
    store = await make_store()
    await create(runtime, ReplySet.shared(store.id), "发货时间")
    await login(client, app, await make_user("root", Role.ADMIN))
    response = await post_form(
        client,
        f"/settings/quick-replies/{store.id}",
        {"title": "发货时间", "text": "订单 {订单编号} <b>加急</b>"},
    )
    assert response.status_code == 400
    assert 'id="f-title-error"' in response.text
    assert 'id="f-text-error"' in response.text
    shown = text_of(response.text)
    assert "已经有标题为“发货时间”的话术。" in shown
    assert "未知变量 {订单编号}" in shown
    assert "订单 {订单编号} &lt;b&gt;加急&lt;/b&gt;" in response.text  # kept, and escaped
    assert await titles(runtime, ReplySet.shared(store.id)) == {"发货时间": "亲，您好"}


async def test_an_unknown_store_is_not_found(client, app, make_user) -> None:
    await login(client, app, await make_user("root", Role.ADMIN))
    assert (await client.get("/settings/quick-replies?store=999")).status_code == 404
    assert (await client.get("/settings/quick-replies/999/new")).status_code == 404
    assert (await client.get("/settings/quick-replies/999/export")).status_code == 404
    assert (
        await post_form(client, "/settings/quick-replies/999", {"title": "x", "text": "y"})
    ).status_code == 404


async def test_without_stores_the_page_says_to_connect_one(client, app, make_user) -> None:
    await login(client, app, await make_user("root", Role.ADMIN))
    page = await client.get("/settings/quick-replies")
    assert page.status_code == 200
    assert "还没有接入店铺" in page.text


async def test_search_lists_only_matching_replies(client, app, runtime, make_user, make_store) -> None:
    store = await make_store()
    for title, text in (("发货时间", "48 小时内发货"), ("退换货说明", "7 天无理由")):
        await create(runtime, ReplySet.shared(store.id), title, text)
    await login(client, app, await make_user("root", Role.ADMIN))
    page = await client.get("/settings/quick-replies", params={"store": store.id, "q": "无理由"})
    assert "退换货说明" in page.text
    assert "发货时间" not in page.text
    none = await client.get("/settings/quick-replies", params={"store": store.id, "q": "<script>"})
    assert "没有与“&lt;script&gt;”匹配的话术。" in none.text


async def test_export_downloads_the_stores_set_for_excel(client, app, runtime, make_user, make_store) -> None:
    store, other = await make_store("潮流女装旗舰店"), await make_store()
    await create(runtime, ReplySet.shared(store.id), "发货时间", "48 小时内")
    await create(runtime, ReplySet.shared(other.id), "别家的", "x")
    await login(client, app, await make_user("root", Role.ADMIN))
    response = await client.get(f"/settings/quick-replies/{store.id}/export")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''" in disposition
    assert response.content == codecs.BOM_UTF8 + "title,text\r\n发货时间,48 小时内\r\n".encode()


# -- admins: import ---------------------------------------------------------------------------------------


async def test_a_clean_file_is_imported_at_once(client, app, runtime, make_user, make_store) -> None:
    store = await make_store()
    await create(runtime, ReplySet.shared(store.id), "发货时间", "旧的")
    await login(client, app, await make_user("root", Role.ADMIN))
    data = "标题,内容\n发货时间,新的\n欢迎语,您好\n".encode("gbk")
    response = await upload(client, store.id, data)
    assert response.status_code in (302, 303)
    page = await client.get(response.headers["location"])
    assert "导入完成：新增 1 条，更新 1 条，0 条没有变化。" in page.text
    assert await titles(runtime, ReplySet.shared(store.id)) == {"发货时间": "新的", "欢迎语": "您好"}


async def test_a_file_with_bad_rows_applies_nothing_until_the_valid_rows_are_chosen(
    client, app, runtime, make_user, make_store
) -> None:
    store = await make_store()
    admin = await make_user("root", Role.ADMIN)
    await login(client, app, admin)
    data = "title,text\n发货时间,48 小时内\n,没有标题\n订单,{订单编号}\n".encode()
    response = await upload(client, store.id, data)
    assert response.status_code == 400
    shown = text_of(response.text)
    assert "2 行有问题，还没有导入任何内容。" in shown
    assert re.search(r"第 3 行\s+标题：必填。", shown)
    assert re.search(r"第 4 行\s+订单\s+内容：未知变量 \{订单编号\}", shown)
    assert await titles(runtime, ReplySet.shared(store.id)) == {}
    (apply_path,) = re.findall(r'action="(/settings/quick-replies/\d+/import/[^"]+)"', response.text)

    # Someone else (another admin) cannot apply this admin's checked import.
    other = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    async with other:
        await login(other, app, await make_user("root2", Role.ADMIN))
        stolen = await post_form(other, apply_path, {})
        assert stolen.status_code == 400
        assert "这次导入已过期或已经完成" in text_of(stolen.text)
    assert await titles(runtime, ReplySet.shared(store.id)) == {}

    applied = await post_form(client, apply_path, {})
    assert applied.status_code in (302, 303)
    assert "新增 1 条" in (await client.get(applied.headers["location"])).text
    assert await titles(runtime, ReplySet.shared(store.id)) == {"发货时间": "48 小时内"}
    again = await post_form(client, apply_path, {})  # a double click applies once
    assert again.status_code == 400


async def test_a_file_refused_as_a_whole_says_why(client, app, runtime, make_user, make_store) -> None:
    store = await make_store()
    await login(client, app, await make_user("root", Role.ADMIN))
    too_big = b"title,text\n" + ("发货时间,48 小时内\n".encode() * 120_000)
    response = await upload(client, store.id, too_big)
    assert response.status_code == 400
    assert "文件超过 2 MB" in response.text
    assert 'id="f-file-error"' in response.text
    workbook = await upload(client, store.id, b"PK\x03\x04rest", name="话术.xlsx")
    assert "Excel 工作簿" in workbook.text
    if "desk_csrf" not in client.cookies:
        await client.get("/login")
    no_file = await client.post(
        f"/settings/quick-replies/{store.id}/import",
        data={"_csrf_token": client.cookies["desk_csrf"]},
        files={},
    )
    assert no_file.status_code == 400
    assert "请选择要导入的 CSV 文件。" in no_file.text
    assert await titles(runtime, ReplySet.shared(store.id)) == {}


async def test_an_upload_without_the_csrf_token_is_refused(
    client, app, runtime, make_user, make_store
) -> None:
    store = await make_store()
    await login(client, app, await make_user("root", Role.ADMIN))
    await client.get("/login")
    response = await client.post(
        f"/settings/quick-replies/{store.id}/import",
        files={"file": ("a.csv", b"title,text\nx,y\n", "text/csv")},
    )
    assert response.status_code == 403
    assert await titles(runtime, ReplySet.shared(store.id)) == {}


# -- everyone: personal sets ------------------------------------------------------------------------------


async def test_an_agent_manages_their_own_replies_and_never_sees_a_colleagues(
    client, app, runtime, make_user, make_store
) -> None:
    store = await make_store()
    alice = await make_user("alice", Role.AGENT, [store])
    bob = await make_user("bob", Role.AGENT, [store])
    bobs = await create(runtime, ReplySet.personal(bob.id), "bob 的问候", "bob 的话")
    await login(client, app, alice)
    assert "还没有话术。" in (await client.get("/inbox/quick-replies")).text
    created = await post_form(client, "/inbox/quick-replies", {"title": "我的问候", "text": "亲，在的～"})
    assert created.status_code in (302, 303)
    page = await client.get(created.headers["location"])
    assert "我的问候" in page.text
    assert "bob 的问候" not in page.text
    assert await titles(runtime, ReplySet.personal(alice.id)) == {"我的问候": "亲，在的～"}

    for path in (f"/inbox/quick-replies/{bobs.id}",):
        assert (await client.get(path)).status_code == 404
    assert (
        await post_form(client, f"/inbox/quick-replies/{bobs.id}", {"title": "x", "text": "y"})
    ).status_code == 404
    assert (await post_form(client, f"/inbox/quick-replies/{bobs.id}/delete", {})).status_code == 404
    assert await titles(runtime, ReplySet.personal(bob.id)) == {"bob 的问候": "bob 的话"}

    (mine,) = await _personal_ids(runtime, alice.id)
    refused = await post_form(client, f"/inbox/quick-replies/{mine}", {"title": "", "text": "x"})
    assert refused.status_code == 400
    assert 'id="f-title-error"' in refused.text
    deleted = await post_form(client, f"/inbox/quick-replies/{mine}/delete", {})
    assert deleted.status_code in (302, 303)
    assert await titles(runtime, ReplySet.personal(alice.id)) == {}


async def _personal_ids(runtime: Runtime, user_id: int) -> list[int]:
    async with runtime.db.session() as session:
        return list(await session.scalars(sa.select(QuickReply.id).where(QuickReply.owner_id == user_id)))


# -- the picker ------------------------------------------------------------------------------------------


def options(page: str) -> list[dict[str, Any]]:
    """Each option of the picker: its title, what it inserts, what it misses."""
    found = []
    for button in re.findall(r"<button[^>]*role=\"option\".*?</button>", page, re.S):
        found.append(
            {
                "title": html.unescape(re.search(r'class="picker-title">([^<]*)<', button).group(1)),
                "insert": html.unescape(re.search(r'data-insert="([^"]*)"', button).group(1)),
                "missing": re.search(r'data-missing="([^"]*)"', button).group(1),
            }
        )
    return found


async def test_the_picker_offers_the_stores_and_ones_own_replies_filled_for_the_buyer(
    client, app, runtime, make_user, make_store
) -> None:
    ours, theirs = await make_store("山野户外专营店"), await make_store("萌宝母婴好物")
    alice = await make_user("alice", Role.AGENT, [ours])
    bob = await make_user("bob", Role.AGENT, [ours, theirs])
    await create(runtime, ReplySet.shared(ours.id), "物流查询", "{买家昵称}您好，单号 {物流单号}")
    await create(runtime, ReplySet.shared(ours.id), "订单", "您的订单 {订单号} <已确认>")
    await create(runtime, ReplySet.shared(theirs.id), "别家店的", "x")
    await create(runtime, ReplySet.personal(alice.id), "alice 的", "我是 alice，欢迎光临{店铺名称}")
    await create(runtime, ReplySet.personal(bob.id), "bob 的", "我是 bob")
    conversation_id = await buyer_writes(runtime, ours.id, "o_lin", nickname="林小梅")
    await save_orders(runtime, ours.id, channels_order("3700000000000000001", "o_lin"))
    await login(client, app, alice)

    response = await client.get("/inbox/quick-replies/picker", params={"conversation": conversation_id})
    assert response.status_code == 200
    assert '<div id="quick-picker"' in response.text
    assert 'role="listbox"' in response.text
    assert "<html" not in response.text  # a partial, not a page
    assert sorted(options(response.text), key=lambda o: o["title"]) == [
        {"title": "alice 的", "insert": "我是 alice，欢迎光临山野户外专营店", "missing": ""},
        {"title": "物流查询", "insert": "林小梅您好，单号 {物流单号}", "missing": "物流单号"},
        {"title": "订单", "insert": "您的订单 3700000000000000001 <已确认>", "missing": ""},
    ]
    assert "&lt;已确认&gt;" in response.text
    assert "缺少 {物流单号}，插入后请手动补上" in response.text

    searched = await client.get(
        "/inbox/quick-replies/picker", params={"conversation": conversation_id, "q": "物流"}
    )
    assert [o["title"] for o in options(searched.text)] == ["物流查询"]
    nothing = await client.get(
        "/inbox/quick-replies/picker", params={"conversation": conversation_id, "q": "退款"}
    )
    assert options(nothing.text) == []
    assert "没有与“退款”匹配的话术。" in nothing.text


async def test_the_picker_of_a_conversation_in_another_store_is_not_found(
    client, app, runtime, make_user, make_store
) -> None:
    ours, theirs = await make_store(), await make_store()
    await create(runtime, ReplySet.shared(theirs.id), "别家店的", "x")
    conversation_id = await buyer_writes(runtime, theirs.id)
    await login(client, app, await make_user("alice", Role.AGENT, [ours]))
    response = await client.get("/inbox/quick-replies/picker", params={"conversation": conversation_id})
    assert response.status_code == 404
    assert "别家店的" not in response.text
    missing = await client.get("/inbox/quick-replies/picker")
    assert missing.status_code == 400


async def test_choosing_a_reply_counts_a_use_and_puts_it_first(
    client, app, runtime, make_user, make_store
) -> None:
    store, other = await make_store(), await make_store()
    agent = await make_user("alice", Role.AGENT, [store])
    first = await create(runtime, ReplySet.shared(store.id), "a 欢迎语")
    second = await create(runtime, ReplySet.shared(store.id), "b 发货时间")
    elsewhere = await create(runtime, ReplySet.shared(other.id), "别家店的")
    conversation_id = await buyer_writes(runtime, store.id)
    await login(client, app, agent)
    picker = await client.get("/inbox/quick-replies/picker", params={"conversation": conversation_id})
    assert [o["title"] for o in options(picker.text)] == ["a 欢迎语", "b 发货时间"]
    assert f'hx-post="/inbox/quick-replies/{second.id}/use"' in picker.text

    await client.get("/inbox/quick-replies")  # the CSRF cookie, as the inbox page would have set it
    used = await client.post(f"/inbox/quick-replies/{second.id}/use", headers=csrf_headers(client))
    assert used.status_code == 204
    picker = await client.get("/inbox/quick-replies/picker", params={"conversation": conversation_id})
    assert [o["title"] for o in options(picker.text)] == ["b 发货时间", "a 欢迎语"]
    refused = await client.post(f"/inbox/quick-replies/{elsewhere.id}/use", headers=csrf_headers(client))
    assert refused.status_code == 404
    no_csrf = await client.post(f"/inbox/quick-replies/{first.id}/use")
    assert no_csrf.status_code == 403
    async with runtime.db.session() as session:
        uses = {r.title: r.uses for r in await session.scalars(sa.select(QuickReply))}
    assert uses == {"a 欢迎语": 0, "b 发货时间": 1, "别家店的": 0}
