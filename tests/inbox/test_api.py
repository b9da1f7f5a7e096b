"""``/api/v1/conversations``: the queue, messages, replies, assignment and resolving over HTTP with
API tokens — scoped to the token user's stores, refusals as JSON, one platform call per reply."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from desk.accounts.models import Role
from desk.clock import ManualClock
from desk.inbox.filing import record_buyer_message
from desk.inbox.models import Channel, Conversation, Message, Sender
from desk.runtime import Runtime
from desk.stores.models import Store
from tests.commands.test_runner import SENDMSG, buyer_conversation, runner
from tests.ingest.conftest import Platform
from tests.orders.test_api import bearer

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    """The desk's clock, held still at :data:`NOW` for this test."""
    manual = ManualClock(NOW)
    monkeypatch.setattr(runtime, "clock", manual)
    return manual


async def buyer_writes(
    runtime: Runtime, store: Store, peer_id: str, seconds_ago: float, text: str = "在吗？"
) -> int:
    """A buyer message filed as the worker files it; returns the conversation's id."""
    async with runtime.db.transaction() as conn:
        await record_buyer_message(
            conn,
            store_id=store.id,
            channel=Channel.COMMKF,
            peer_id=peer_id,
            buyer_id=None,
            platform_msg_id=secrets.token_hex(8),
            msg_type="text",
            text=text,
            payload={},
            sent_at=runtime.clock.now() - dt.timedelta(seconds=seconds_ago),
            now=runtime.clock.now(),
        )
    async with runtime.db.engine.connect() as conn:
        return (
            await conn.execute(
                sa.select(Conversation.id).where(
                    Conversation.store_id == store.id, Conversation.peer_id == peer_id
                )
            )
        ).scalar_one()


async def message_count(runtime: Runtime) -> int:
    async with runtime.db.engine.connect() as conn:
        return (await conn.execute(sa.select(sa.func.count()).select_from(Message))).scalar_one()


def refusal_codes(response: httpx.Response) -> dict[str, str]:
    """The refused fields and their message keys, from an API error body."""
    return {item["key"]: item.get("code", "") for item in response.json().get("extra") or []}


# -- the queue ----------------------------------------------------------------------------------


async def test_the_queue_is_deadline_first_and_says_who_waits_and_who_holds(
    client, runtime, clock, make_store, make_user
) -> None:
    store, other = await make_store(), await make_store()
    agent = await make_user("xiaochen", Role.AGENT, [store])
    headers = await bearer(runtime, agent)
    # Filed out of order: the queue must sort them, not return them as they came.
    calm = await buyer_writes(runtime, store, "o_calm", 10, "刚问的")
    missed = await buyer_writes(runtime, store, "o_missed", 200, "等了好久")
    warning = await buyer_writes(runtime, store, "o_warning", 120, "发货了吗")
    answered = await buyer_writes(runtime, store, "o_answered", 60, "谢谢")
    await client.post(f"/api/v1/conversations/{answered}/messages", json={"text": "不客气"}, headers=headers)
    await buyer_writes(runtime, other, "o_elsewhere", 300, "别的店")

    r = await client.get("/api/v1/conversations", headers=headers)

    assert r.status_code == 200
    body = r.json()
    rows = body["conversations"]
    assert [row["id"] for row in rows] == [missed, warning, calm, answered]
    assert [row["urgency"] for row in rows] == ["missed", "warning", "calm", "none"]
    assert body["next_cursor"] == ""
    first = rows[0]
    assert first["waiting_since"] == "2026-12-01T11:56:40Z"
    assert first["deadline_at"] == "2026-12-01T11:59:40Z"  # 180 s after the buyer's message
    assert (first["last_message"], first["store_id"], first["assignee"]) == ("等了好久", store.id, None)
    assert (rows[3]["waiting_since"], rows[3]["deadline_at"]) == (None, None)
    assert rows[3]["assignee"] == {"id": agent.id, "name": "xiaochen"}  # replying took it
    assert rows[3]["last_message"] == "不客气"


async def test_the_queue_filters_by_assignee_status_and_store(
    client, runtime, clock, make_store, make_user
) -> None:
    one, two = await make_store(), await make_store()
    agent = await make_user("agent", Role.AGENT, [one, two])
    headers = await bearer(runtime, agent)
    mine = await buyer_writes(runtime, one, "o_1", 100)
    nobodys = await buyer_writes(runtime, one, "o_2", 50)
    in_two = await buyer_writes(runtime, two, "o_3", 20)
    assert (
        await client.post(f"/api/v1/conversations/{mine}/assign", json={"to": "me"}, headers=headers)
    ).is_success
    resolved = await buyer_writes(runtime, two, "o_4", 10)
    assert (await client.post(f"/api/v1/conversations/{resolved}/resolve", headers=headers)).is_success

    async def ids(query: str) -> list[int]:
        r = await client.get(f"/api/v1/conversations?{query}", headers=headers)
        assert r.status_code == 200, r.text
        return [row["id"] for row in r.json()["conversations"]]

    assert await ids("") == [mine, nobodys, in_two]
    assert await ids("assignee=me") == [mine]
    assert await ids("assignee=none") == [nobodys, in_two]
    assert await ids("assignee=any") == [mine, nobodys, in_two]
    assert await ids(f"store={two.id}") == [in_two]
    assert await ids("status=resolved") == [resolved]
    assert await ids(f"status=resolved&store={one.id}") == []


async def test_every_conversation_is_reached_page_by_page(
    client, runtime, clock, make_store, make_user
) -> None:
    store = await make_store()
    headers = await bearer(runtime, await make_user("agent", Role.AGENT, [store]))
    waiting = [await buyer_writes(runtime, store, f"o_w{n}", 300 - n * 20) for n in range(5)]
    quiet = []
    for n in range(4):
        conversation_id = await buyer_writes(runtime, store, f"o_q{n}", 600 - n * 30)
        await client.post(
            f"/api/v1/conversations/{conversation_id}/messages", json={"text": "好的"}, headers=headers
        )
        quiet.append(conversation_id)
        clock.advance(1)  # each answer a second later: latest activity first
    seen: list[int] = []
    cursor, pages = "", 0
    while True:
        r = await client.get("/api/v1/conversations", params={"limit": 2, "cursor": cursor}, headers=headers)
        assert r.status_code == 200
        seen += [row["id"] for row in r.json()["conversations"]]
        pages += 1
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert seen == waiting + quiet[::-1]
    assert pages == 5


async def test_bad_queue_queries_get_a_clear_400_and_other_stores_404(
    client, runtime, make_store, make_user
) -> None:
    store, other = await make_store(), await make_store()
    headers = await bearer(runtime, await make_user("agent", Role.AGENT, [store]))
    for query in ("limit=0", "limit=201", "status=closed", "assignee=bob", "store=abc"):
        r = await client.get(f"/api/v1/conversations?{query}", headers=headers)
        assert r.status_code == 400, query
        assert r.json()["detail"], query
    r = await client.get("/api/v1/conversations?cursor=not-a-cursor", headers=headers)
    assert r.status_code == 400
    assert refusal_codes(r) == {"cursor": "api.error.cursor"}
    assert "next_cursor" in r.json()["detail"]
    r = await client.get(f"/api/v1/conversations?store={other.id}", headers=headers)
    assert r.status_code == 404
    assert (await client.get("/api/v1/conversations?limit=200", headers=headers)).status_code == 200
    assert (await client.get("/api/v1/conversations")).status_code == 401


# -- scoping --------------------------------------------------------------------------------------


async def test_another_stores_conversation_is_not_found_and_left_alone(
    client, runtime, clock, make_store, make_user
) -> None:
    mine, theirs = await make_store(), await make_store()
    agent = await bearer(runtime, await make_user("agent", Role.AGENT, [mine]))
    admin = await bearer(runtime, await make_user("root", Role.ADMIN))
    conversation_id = await buyer_writes(runtime, theirs, "o_theirs", 30, "你好")
    base = f"/api/v1/conversations/{conversation_id}"
    before = await message_count(runtime)

    assert (await client.get(f"{base}/messages", headers=agent)).status_code == 404
    assert (await client.post(f"{base}/messages", json={"text": "hi"}, headers=agent)).status_code == 404
    assert (await client.post(f"{base}/assign", json={"to": "me"}, headers=agent)).status_code == 404
    assert (await client.post(f"{base}/resolve", headers=agent)).status_code == 404
    assert (await client.get("/api/v1/conversations?assignee=any", headers=agent)).json()[
        "conversations"
    ] == []

    assert await message_count(runtime) == before
    r = await client.get(f"{base}/messages", headers=admin)
    assert r.status_code == 200
    assert [m["text"] for m in r.json()["messages"]] == ["你好"]
    r = await client.get("/api/v1/conversations", headers=admin)
    assert [row["assignee"] for row in r.json()["conversations"]] == [None]  # untouched


# -- messages -------------------------------------------------------------------------------------


async def test_messages_come_newest_last_a_page_at_a_time(
    client, runtime, clock, make_store, make_user
) -> None:
    store = await make_store()
    agent = await make_user("agent", Role.AGENT, [store])
    headers = await bearer(runtime, agent)
    conversation_id = await buyer_writes(runtime, store, "o_b", 50, "第1条")
    for n in range(2, 5):
        await buyer_writes(runtime, store, "o_b", 50 - n, f"第{n}条")
    await client.post(
        f"/api/v1/conversations/{conversation_id}/messages", json={"text": "第5条"}, headers=headers
    )
    # A buyer message the platform delivered late, sent before all the others.
    await buyer_writes(runtime, store, "o_b", 60, "第0条")
    other = await buyer_writes(runtime, store, "o_other", 5, "别人")

    url = f"/api/v1/conversations/{conversation_id}/messages"
    r = await client.get(url, params={"limit": 4}, headers=headers)
    assert r.status_code == 200
    page = r.json()
    assert [m["text"] for m in page["messages"]] == ["第2条", "第3条", "第4条", "第5条"]
    reply = page["messages"][-1]
    assert (reply["sender"], reply["delivery"], reply["author"]) == (
        "agent",
        "queued",
        {"id": agent.id, "name": "agent"},
    )
    assert reply["command_id"] is not None
    buyer = page["messages"][0]
    assert (buyer["sender"], buyer["delivery"], buyer["author"], buyer["msg_type"]) == (
        "buyer",
        None,
        None,
        "text",
    )
    assert buyer["sent_at"] == "2026-12-01T11:59:12Z"

    r = await client.get(url, params={"limit": 4, "before": page["next_before"]}, headers=headers)
    assert [m["text"] for m in r.json()["messages"]] == ["第0条", "第1条"]
    assert r.json()["next_before"] is None

    r = await client.get(url, params={"before": 10**9}, headers=headers)
    assert r.status_code == 400
    assert refusal_codes(r) == {"before": "api.error.before_unknown"}
    async with runtime.db.engine.connect() as conn:
        foreign = (
            await conn.execute(sa.select(Message.id).where(Message.conversation_id == other))
        ).scalar_one()
    assert (await client.get(url, params={"before": foreign}, headers=headers)).status_code == 400
    assert (await client.get(url, params={"limit": 0}, headers=headers)).status_code == 400


# -- replying -------------------------------------------------------------------------------------


async def test_bad_replies_are_refused_with_reasons_and_nothing_is_stored(
    client, runtime, clock, make_store, make_user
) -> None:
    store = await make_store()
    agent = await make_user("agent", Role.AGENT, [store])
    colleague = await make_user("colleague", Role.AGENT, [store])
    headers = await bearer(runtime, agent)
    fresh = await buyer_writes(runtime, store, "o_fresh", 10)
    stale = await buyer_writes(runtime, store, "o_stale", 49 * 3600)  # the 48-hour window has closed
    held = await buyer_writes(runtime, store, "o_held", 10)
    colleague_headers = await bearer(runtime, colleague)
    assert (
        await client.post(
            f"/api/v1/conversations/{held}/assign", json={"to": "me"}, headers=colleague_headers
        )
    ).is_success
    before = await message_count(runtime)

    cases: list[tuple[int, Any, int, dict[str, str] | None]] = [
        (fresh, {"text": "   "}, 422, {"text": "inbox.reply.error.empty"}),
        (fresh, {"text": "长" * 2001}, 422, {"text": "inbox.reply.error.too_long"}),
        (stale, {"text": "您好"}, 422, {"text": "inbox.reply.error.window_closed"}),
        (held, {"text": "您好"}, 409, {"assignee": "inbox.reply.error.taken"}),
        (fresh, {}, 400, None),
        (fresh, {"text": 5}, 400, None),
        (fresh, {"text": "您好", "request_id": "r" * 65}, 400, None),
        (fresh, {"text": "您好", "txt": "typo"}, 400, None),
    ]
    for conversation_id, body, status, codes in cases:
        r = await client.post(f"/api/v1/conversations/{conversation_id}/messages", json=body, headers=headers)
        assert r.status_code == status, (body, r.text)
        assert r.json()["detail"]
        if codes is not None:
            assert refusal_codes(r) == codes
    r = await client.post(
        f"/api/v1/conversations/{fresh}/messages",
        content=b"{not json",
        headers={**headers, "content-type": "application/json"},
    )
    assert r.status_code == 400
    assert await message_count(runtime) == before

    r = await client.post(
        f"/api/v1/conversations/{held}/messages",
        json={"text": "我来处理", "take_over": True},
        headers=headers,
    )
    assert r.status_code == 202
    messages = (await client.get(f"/api/v1/conversations/{held}/messages", headers=headers)).json()[
        "messages"
    ]
    assert [m["text"] for m in messages][-1] == "我来处理"


async def test_a_request_id_is_not_reused_for_another_buyer(
    client, runtime, clock, make_store, make_user
) -> None:
    store = await make_store()
    headers = await bearer(runtime, await make_user("agent", Role.AGENT, [store]))
    first = await buyer_writes(runtime, store, "o_1", 10)
    second = await buyer_writes(runtime, store, "o_2", 10)
    body = {"text": "您好", "request_id": "erp-42"}
    assert (
        await client.post(f"/api/v1/conversations/{first}/messages", json=body, headers=headers)
    ).status_code == 202
    before = await message_count(runtime)
    r = await client.post(f"/api/v1/conversations/{second}/messages", json=body, headers=headers)
    assert r.status_code == 409
    assert refusal_codes(r) == {"request_id": "api.error.request_id_used"}
    assert await message_count(runtime) == before


async def test_the_same_request_id_twice_is_one_command_and_one_platform_call(
    platform: Platform, make_user
) -> None:
    runtime = platform.runtime
    store = platform.stores[0]
    openid, conversation_id = await buyer_conversation(platform)
    headers = await bearer(runtime, await make_user("agent", Role.AGENT, [store]))
    body = {"text": "您好，马上为您查询", "request_id": "order-7-reply-1"}
    url = f"/api/v1/conversations/{conversation_id}/messages"
    async with httpx.AsyncClient(base_url=platform.desk_url) as http:  # the desk served for real
        first = await http.post(url, json=body, headers=headers)
        second = await http.post(url, json=body, headers=headers)
        assert (first.status_code, second.status_code) == (202, 202)
        assert first.json()["created"] is True
        assert second.json()["created"] is False
        assert first.json()["state"] == "queued"
        assert second.json()["command_id"] == first.json()["command_id"]
        assert second.json()["message_id"] == first.json()["message_id"]

        await runner(platform).drain()
        assert platform.sim.api.calls_by_path[SENDMSG] == 1
        assert [m.content for m in platform.sim.sent_messages(platform.appids[0], openid)] == [body["text"]]

        third = await http.post(url, json=body, headers=headers)  # a client retrying much later
        assert (third.status_code, third.json()["state"], third.json()["created"]) == (
            202,
            "succeeded",
            False,
        )
        await runner(platform).drain()
        assert platform.sim.api.calls_by_path[SENDMSG] == 1

        command = (await http.get(f"/api/v1/commands/{first.json()['command_id']}", headers=headers)).json()
        assert (command["kind"], command["state"], command["attempts"]) == ("send_message", "succeeded", 1)
        assert command["result"]["msg_id"]
        assert (command["error_code"], command["error"]) == (None, "")
        assert command["finished_at"] is not None
        messages = (await http.get(url, headers=headers)).json()["messages"]
        assert [(m["sender"], m["delivery"]) for m in messages] == [("buyer", None), ("agent", "sent")]


async def test_a_reply_the_platform_refuses_shows_its_errcode_in_words(platform: Platform, make_user) -> None:
    runtime = platform.runtime
    store = platform.stores[0]
    # A buyer the platform does not know (say, an openid from another app): it answers 40003.
    conversation_id = await buyer_writes(runtime, store, "o_unknown_to_the_platform", 5)
    headers = await bearer(runtime, await make_user("agent", Role.AGENT, [store]))
    url = f"/api/v1/conversations/{conversation_id}/messages"
    async with httpx.AsyncClient(base_url=platform.desk_url) as http:
        reply = await http.post(url, json={"text": "您好"}, headers=headers)
        assert reply.status_code == 202
        await runner(platform).drain()

        messages = (await http.get(url, headers=headers)).json()["messages"]
        failed = messages[-1]
        assert (failed["delivery"], failed["error_code"]) == ("failed", 40003)
        assert "openid" in failed["error"]
        assert "无效" in failed["error"]  # Chinese by default
        assert messages[0]["error"] == ""  # the buyer's message has none

        command = await http.get(f"/api/v1/commands/{reply.json()['command_id']}", headers=headers)
        assert (command.json()["state"], command.json()["error_code"]) == ("failed", 40003)
        assert command.json()["error"] == failed["error"]
        english = await http.get(
            f"/api/v1/commands/{reply.json()['command_id']}", headers={**headers, "accept-language": "en"}
        )
        assert (
            english.json()["error"] == "The buyer's openid is invalid; no message can be sent to this buyer."
        )


# -- assigning and resolving ----------------------------------------------------------------------


async def test_assigning_takes_hands_over_and_respects_a_colleagues_conversation(
    client, runtime, clock, make_store, make_user
) -> None:
    store, other = await make_store(), await make_store()
    agent = await make_user("agent", Role.AGENT, [store])
    colleague = await make_user("colleague", Role.AGENT, [store])
    outsider = await make_user("outsider", Role.AGENT, [other])
    manager = await make_user("manager", Role.MANAGER, [store])
    as_agent, as_colleague, as_manager = (
        await bearer(runtime, agent),
        await bearer(runtime, colleague),
        await bearer(runtime, manager),
    )
    conversation_id = await buyer_writes(runtime, store, "o_b", 30)
    url = f"/api/v1/conversations/{conversation_id}/assign"

    r = await client.post(url, json={"to": "me"}, headers=as_agent)
    assert r.status_code == 200
    assert (r.json()["id"], r.json()["assignee_id"], r.json()["status"]) == (
        conversation_id,
        agent.id,
        "open",
    )
    assert r.json()["deadline_at"] == "2026-12-01T12:02:30Z"  # taking it does not answer the buyer

    r = await client.post(url, json={"to": "me"}, headers=as_colleague)
    assert r.status_code == 409
    assert refusal_codes(r) == {"assignee": "inbox.reply.error.taken"}

    r = await client.post(url, json={"to": outsider.id}, headers=as_agent)
    assert r.status_code == 422
    assert refusal_codes(r) == {"to": "inbox.error.not_colleague"}

    r = await client.post(url, json={"to": colleague.id}, headers=as_manager)
    assert (r.status_code, r.json()["assignee_id"]) == (200, colleague.id)
    r = await client.post(url, json={"to": agent.id}, headers=as_colleague)  # passing on their own
    assert (r.status_code, r.json()["assignee_id"]) == (200, agent.id)

    for bad in ({"to": "bob"}, {}, {"to": None}, {"to": "me", "extra": 1}):
        assert (await client.post(url, json=bad, headers=as_agent)).status_code == 400, bad
    rows = (await client.get("/api/v1/conversations?assignee=me", headers=as_agent)).json()["conversations"]
    assert [row["id"] for row in rows] == [conversation_id]


async def test_resolving_ends_the_wait_and_a_new_message_reopens(
    client, runtime, clock, make_store, make_user
) -> None:
    store = await make_store()
    headers = await bearer(runtime, await make_user("agent", Role.AGENT, [store]))
    conversation_id = await buyer_writes(runtime, store, "o_b", 30)

    r = await client.post(f"/api/v1/conversations/{conversation_id}/resolve", headers=headers)

    assert r.status_code == 200
    assert (r.json()["status"], r.json()["waiting_since"], r.json()["deadline_at"]) == (
        "resolved",
        None,
        None,
    )
    assert (await client.get("/api/v1/conversations", headers=headers)).json()["conversations"] == []
    await buyer_writes(runtime, store, "o_b", 0, "还有个问题")
    rows = (await client.get("/api/v1/conversations", headers=headers)).json()["conversations"]
    assert [(row["id"], row["status"], row["urgency"]) for row in rows] == [(conversation_id, "open", "calm")]
    assert (await client.post("/api/v1/conversations/999999/resolve", headers=headers)).status_code == 404


# -- the schema -----------------------------------------------------------------------------------


async def test_the_openapi_schema_describes_the_inbox_api(client) -> None:
    r = await client.get("/schema/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    expected = {
        "/api/v1/conversations": {"get"},
        "/api/v1/conversations/{conversation_id}/messages": {"get", "post"},
        "/api/v1/conversations/{conversation_id}/assign": {"post"},
        "/api/v1/conversations/{conversation_id}/resolve": {"post"},
        "/api/v1/commands/{command_id}": {"get"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), path
    reply = paths["/api/v1/conversations/{conversation_id}/messages"]["post"]
    assert {"202", "409", "422"} <= set(reply["responses"])
    assert "request_id" in reply["description"]
    assert {tag for p in expected for op in paths[p].values() for tag in op["tags"]} == {"inbox", "commands"}
    schemas = r.json()["components"]["schemas"]
    assert {"waiting_since", "deadline_at", "assignee"} <= set(schemas["ConversationOut"]["properties"])
    assert {"command_id", "state", "message_id", "created"} <= set(schemas["ReplyOut"]["properties"])
    assert Sender.NOTE.value in schemas["Sender"]["enum"]
