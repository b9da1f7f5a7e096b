"""WeCom kf and contacts over HTTP (spec §6B, §7): callbacks, sync_msg, sending rules, hand-off."""

from __future__ import annotations

from desk.simulator import SimCorp, Simulator
from tests.simulator.support import PushReceiver, WeCom, eventually


def text(touser: str, open_kfid: str, content: str) -> dict[str, object]:
    return {"touser": touser, "open_kfid": open_kfid, "msgtype": "text", "text": {"content": content}}


async def test_a_customer_message_arrives_by_callback_and_sync_msg(
    sim: Simulator, corp: SimCorp, wecom: WeCom, receiver: tuple[PushReceiver, str]
) -> None:
    app, _ = receiver
    kfid = corp.kf_accounts[0]
    message = sim.kf_customer_says(corp.corpid, kfid, None, "我在视频号小店买的东西，想问下什么时候发货")
    await sim.drain(5)
    (callback,) = app.wecom_events(corp)
    assert callback["Event"] == "kf_msg_or_event"
    assert callback["OpenKfId"] == kfid
    assert callback["ToUserName"] == corp.corpid

    page = await wecom("kf/sync_msg", {"cursor": "", "token": callback["Token"], "limit": 1000})
    assert page["errcode"] == 0
    assert page["has_more"] == 0
    enter, said = page["msg_list"]
    assert enter["origin"] == 4
    assert enter["event"]["event_type"] == "enter_session"
    assert enter["event"]["wechat_channels"]["scene"] in (4, 5)
    assert said["origin"] == 3
    assert said["msgid"] == message.msgid
    assert said["text"]["content"].startswith("我在视频号小店")

    nothing_new = await wecom("kf/sync_msg", {"cursor": page["next_cursor"]})
    assert nothing_new["msg_list"] == []


async def test_sync_msg_pages_with_its_cursor(sim: Simulator, corp: SimCorp, wecom: WeCom) -> None:
    kfid = corp.kf_accounts[0]
    first = sim.kf_customer_says(corp.corpid, kfid, None, "一")
    for word in ("二", "三"):
        sim.kf_customer_says(corp.corpid, kfid, first.external_userid, word)
    seen, cursor, has_more = [], "", 1
    while has_more:
        page = await wecom("kf/sync_msg", {"cursor": cursor, "limit": 2})
        seen += [m.get("text", {}).get("content") for m in page["msg_list"]]
        cursor, has_more = page["next_cursor"], page["has_more"]
    assert [s for s in seen if s] == ["一", "二", "三"]


async def test_sync_msg_refuses_bad_arguments(wecom: WeCom) -> None:
    assert (await wecom("kf/sync_msg", {"limit": 1001}))["errcode"] == 40097
    assert (await wecom("kf/sync_msg", {"token": "ENCnope"}))["errcode"] == 95007
    assert (await wecom("kf/sync_msg", {"cursor": "%%%"}))["errcode"] != 0


async def test_sending_depends_on_the_session_state(sim: Simulator, corp: SimCorp, wecom: WeCom) -> None:
    kfid = corp.kf_accounts[0]
    customer = sim.kf_customer_says(corp.corpid, kfid, None, "你好").external_userid
    assert (await wecom("kf/service_state/get", {"open_kfid": kfid, "external_userid": customer}))[
        "service_state"
    ] == 0
    assert (await wecom("kf/send_msg", text(customer, kfid, "您好")))["errcode"] == 0
    moved = await wecom(
        "kf/service_state/trans",
        {
            "open_kfid": kfid,
            "external_userid": customer,
            "service_state": 3,
            "servicer_userid": corp.staff[0],
        },
    )
    assert moved["errcode"] == 0
    assert moved["msg_code"]
    assert (await wecom("kf/send_msg", text(customer, kfid, "还在吗")))["errcode"] == 95018


async def test_more_than_five_messages_fail_afterwards(sim: Simulator, corp: SimCorp, wecom: WeCom) -> None:
    kfid = corp.kf_accounts[0]
    customer = sim.kf_customer_says(corp.corpid, kfid, None, "在吗").external_userid
    msgids = [(await wecom("kf/send_msg", text(customer, kfid, f"第{n}条")))["msgid"] for n in range(6)]
    page = await wecom("kf/sync_msg", {})
    failures = [
        m["event"] for m in page["msg_list"] if m.get("event", {}).get("event_type") == "msg_send_fail"
    ]
    assert failures == [
        {
            "event_type": "msg_send_fail",
            "open_kfid": kfid,
            "external_userid": customer,
            "fail_msgid": msgids[5],
            "fail_type": 6,
        }
    ]
    assert [s.delivered for s in sim.kf_sent(corp.corpid)] == [True] * 5 + [False]


async def test_a_welcome_code_answers_once(sim: Simulator, corp: SimCorp, wecom: WeCom) -> None:
    kfid = corp.kf_accounts[1]
    sim.kf_customer_says(corp.corpid, kfid, None, "你好")
    enter = (await wecom("kf/sync_msg", {"open_kfid": kfid}))["msg_list"][0]
    code = enter["event"]["welcome_code"]
    welcome = {"code": code, "msgtype": "text", "text": {"content": "欢迎光临"}}
    assert (await wecom("kf/send_msg_on_event", welcome))["errcode"] == 0
    assert (await wecom("kf/send_msg_on_event", welcome))["errcode"] == 40029


async def test_customers_batchget(sim: Simulator, corp: SimCorp, wecom: WeCom) -> None:
    customer = sim.kf_customer_says(corp.corpid, corp.kf_accounts[0], None, "你好").external_userid
    reply = await wecom(
        "kf/customer/batchget",
        {"external_userid_list": [customer, "wm-unknown"], "need_enter_session_context": 1},
    )
    (found,) = reply["customer_list"]
    assert found["external_userid"] == customer
    assert found["unionid"]
    assert "enter_session_context" in found
    assert reply["invalid_external_userid"] == ["wm-unknown"]


async def test_contact_way_and_the_added_contact(
    sim: Simulator, corp: SimCorp, wecom: WeCom, receiver: tuple[PushReceiver, str]
) -> None:
    app, _ = receiver
    way = await wecom(
        "externalcontact/add_contact_way",
        {"type": 1, "scene": 2, "state": "handoff-42", "user": [corp.staff[0]], "skip_verify": True},
    )
    assert way["errcode"] == 0
    assert way["qr_code"].startswith("https://")
    contact = sim.add_external_contact(corp.corpid, way["config_id"])
    await eventually(lambda: any(e["Event"] == "change_external_contact" for e in app.wecom_events(corp)))
    (event,) = [e for e in app.wecom_events(corp) if e["Event"] == "change_external_contact"]
    assert (event["ChangeType"], event["State"], event["UserID"]) == (
        "add_external_contact",
        "handoff-42",
        corp.staff[0],
    )
    assert event["ExternalUserID"] == contact.external_userid

    reply = await wecom.api.get(
        "/cgi-bin/externalcontact/get",
        params={"access_token": wecom.token, "external_userid": contact.external_userid},
    )
    assert reply.json()["follow_user"][0]["state"] == "handoff-42"
    too_long = {"type": 1, "scene": 2, "state": "x" * 31, "user": [corp.staff[0]]}
    assert (await wecom("externalcontact/add_contact_way", too_long))["errcode"] == 40097


async def test_upgrade_service_leads_to_a_new_contact(sim: Simulator, corp: SimCorp, wecom: WeCom) -> None:
    kfid = corp.kf_accounts[0]
    customers = [sim.kf_customer_says(corp.corpid, kfid, None, "你好").external_userid for _ in range(6)]
    for customer in customers:
        upgrade = {
            "open_kfid": kfid,
            "external_userid": customer,
            "type": 1,
            "member": {"userid": corp.staff[1], "wording": "加我企业微信，售后更方便"},
        }
        assert (await wecom("kf/customer/upgrade_service", upgrade))["errcode"] == 0
    await sim.drain(5)
    added = sim.world.corp(corp.corpid).contacts
    assert 0 < len(added) <= len(customers)  # most customers accept, not necessarily all
