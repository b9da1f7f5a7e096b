"""The WeCom client over HTTP: kf sync loop, typed messages, sends, contacts, token and retry policy."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from desk.platform.calls import RetryPolicy
from desk.platform.errors import CredentialError, PlatformBusyError, PlatformError, PlatformUnavailableError
from desk.platform.tokens import MemoryTokenStore
from desk.platform.wecom import WeComClient, with_scene_param
from desk.platform.wecom_types import KfText, MsgOrigin, ServiceState
from tests.platform.conftest import FakeClock
from tests.platform.fake_platform import FakePlatform, Recorder

SYNC = "cgi-bin/kf/sync_msg"


def text_message(msgid: str, content: str, **extra: Any) -> dict[str, Any]:
    return {
        "msgid": msgid,
        "open_kfid": "wkKF",
        "external_userid": "wmBUYER",
        "send_time": 1_700_000_000,
        "origin": 3,
        "msgtype": "text",
        "text": {"content": content},
        **extra,
    }


@pytest.fixture
def platform() -> FakePlatform:
    return FakePlatform(invalid_token_errcode=40014)


@pytest.fixture
def sleeps() -> Recorder:
    return Recorder()


@pytest.fixture
async def corp(platform: FakePlatform, sleeps: Recorder, fake_clock: FakeClock) -> AsyncIterator[WeComClient]:
    async with platform.client() as http:
        yield make_client(http, sleeps, fake_clock)


def make_client(http: httpx.AsyncClient, sleeps: Recorder, clock: FakeClock) -> WeComClient:
    return WeComClient(
        "ww_corp",
        "kf-secret",
        http=http,
        tokens=MemoryTokenStore(),
        base_url="https://fake.test",
        retry=RetryPolicy(jitter=False),
        sleep=sleeps,
        clock=clock,
    )


# -- sync_msg -----------------------------------------------------------------------------------


async def test_sync_msg_sends_the_cursor_and_callback_token(
    corp: WeComClient, platform: FakePlatform
) -> None:
    platform.reply(SYNC, {"next_cursor": "c2", "has_more": 0, "msg_list": [text_message("m1", "在吗")]})
    page = await corp.sync_msg(cursor="c1", token="ENCtoken", open_kfid="wkKF", limit=500)
    assert platform.bodies(SYNC) == [
        {"cursor": "c1", "limit": 500, "voice_format": 0, "token": "ENCtoken", "open_kfid": "wkKF"}
    ]
    assert (page.next_cursor, page.has_more) == ("c2", 0)
    (message,) = page.msg_list
    assert (message.msgid, message.external_userid, message.origin, message.msgtype) == (
        "m1",
        "wmBUYER",
        3,
        "text",
    )
    assert message.text == KfText(content="在吗")
    assert message.origin == MsgOrigin.CUSTOMER
    assert message.raw["text"] == {"content": "在吗"}


async def test_sync_msg_limit_is_checked(corp: WeComClient, platform: FakePlatform) -> None:
    with pytest.raises(ValueError, match="limit"):
        await corp.sync_msg(limit=1001)
    assert platform.requests == []


async def test_sync_all_loops_while_has_more_even_through_an_empty_page(
    corp: WeComClient, platform: FakePlatform
) -> None:
    platform.reply(
        SYNC,
        {"next_cursor": "c1", "has_more": 1, "msg_list": [text_message("m1", "a"), text_message("m2", "b")]},
        {"next_cursor": "c2", "has_more": 1, "msg_list": []},
        {"next_cursor": "c3", "has_more": 0, "msg_list": [text_message("m3", "c")]},
    )
    result = await corp.sync_all(cursor="c0", token="T")
    assert [m.msgid for m in result.msg_list] == ["m1", "m2", "m3"]
    assert (result.next_cursor, result.has_more) == ("c3", False)
    bodies = platform.bodies(SYNC)
    assert [b["cursor"] for b in bodies] == ["c0", "c1", "c2"]
    assert all(b["token"] == "T" for b in bodies)


async def test_sync_all_stops_at_its_page_limit_and_says_so(
    corp: WeComClient, platform: FakePlatform
) -> None:
    platform.reply(SYNC, *({"next_cursor": f"c{i}", "has_more": 1, "msg_list": []} for i in range(1, 4)))
    result = await corp.sync_all(max_pages=3)
    assert (result.next_cursor, result.has_more) == ("c3", True)
    assert len(platform.calls(SYNC)) == 3


async def test_sync_all_keeps_the_cursor_when_a_page_omits_it(
    corp: WeComClient, platform: FakePlatform
) -> None:
    platform.reply(SYNC, {"has_more": 0, "msg_list": []})
    assert (await corp.sync_all(cursor="keep")).next_cursor == "keep"


async def test_every_message_type_decodes_to_its_object(corp: WeComClient, platform: FakePlatform) -> None:
    base = {"open_kfid": "wkKF", "external_userid": "wmBUYER", "send_time": 1, "origin": 3}
    items = [
        {**base, "msgid": "1", "msgtype": "image", "image": {"media_id": "MEDIA1"}},
        {**base, "msgid": "2", "msgtype": "voice", "voice": {"media_id": "MEDIA2"}},
        {**base, "msgid": "3", "msgtype": "video", "video": {"media_id": "MEDIA3"}},
        {**base, "msgid": "4", "msgtype": "file", "file": {"media_id": "MEDIA4"}},
        {
            **base,
            "msgid": "5",
            "msgtype": "location",
            "location": {"latitude": 22.5, "longitude": 113.9, "name": "科技园", "address": "深圳"},
        },
        {
            **base,
            "msgid": "6",
            "msgtype": "link",
            "link": {"title": "t", "desc": "d", "url": "u", "pic_url": "p"},
        },
        {**base, "msgid": "7", "msgtype": "business_card", "business_card": {"userid": "zhangsan"}},
        {
            **base,
            "msgid": "8",
            "msgtype": "miniprogram",
            "miniprogram": {"appid": "wxmini", "title": "小程序"},
        },
        {
            **base,
            "msgid": "9",
            "msgtype": "channels_shop_product",
            "channels_shop_product": {
                "product_id": 10000054311095,
                "title": "茶叶",
                "sales_price": "69.00",
                "shop_nickname": "茶铺",
            },
        },
        {
            **base,
            "msgid": "10",
            "msgtype": "channels_shop_order",
            "channels_shop_order": {
                "order_id": 3713995673005065728,
                "product_titles": "茶叶",
                "price_wording": "¥69",
                "state": "待发货",
                "shop_nickname": "茶铺",
            },
        },
        {
            **base,
            "msgid": "11",
            "msgtype": "channels",
            "channels": {"sub_type": 1, "nickname": "茶铺", "title": "直播"},
        },
        {
            **base,
            "msgid": "12",
            "msgtype": "msgmenu",
            "msgmenu": {"head_content": "请选择", "list": [{"type": "click"}]},
        },
        {
            **base,
            "msgid": "13",
            "msgtype": "merged_msg",
            "merged_msg": {"title": "记录", "item": [{"msgtype": "text"}]},
        },
        {**base, "msgid": "14", "msgtype": "text", "text": {"content": "菜单", "menu_id": "101"}},
    ]
    platform.reply(SYNC, {"next_cursor": "c", "has_more": 0, "msg_list": items})
    by_id = {m.msgid: m for m in (await corp.sync_msg()).msg_list}
    assert by_id["1"].image is not None
    assert by_id["1"].image.media_id == "MEDIA1"
    assert by_id["2"].voice is not None
    assert by_id["2"].voice.media_id == "MEDIA2"
    assert by_id["3"].video is not None
    assert by_id["3"].video.media_id == "MEDIA3"
    assert by_id["4"].file is not None
    assert by_id["4"].file.media_id == "MEDIA4"
    assert by_id["5"].location is not None
    assert by_id["5"].location.name == "科技园"
    assert by_id["6"].link is not None
    assert by_id["6"].link.url == "u"
    assert by_id["7"].business_card is not None
    assert by_id["7"].business_card.userid == "zhangsan"
    assert by_id["8"].miniprogram is not None
    assert by_id["8"].miniprogram.appid == "wxmini"
    product = by_id["9"].channels_shop_product
    assert product is not None
    assert (product.product_id, product.sales_price) == ("10000054311095", "69.00")
    order = by_id["10"].channels_shop_order
    assert order is not None
    assert order.order_id == "3713995673005065728"
    assert by_id["10"].summary() == "[order 3713995673005065728]"
    assert by_id["11"].channels is not None
    assert by_id["11"].channels.sub_type == 1
    assert by_id["12"].msgmenu is not None
    assert by_id["12"].msgmenu.list == [{"type": "click"}]
    assert by_id["13"].merged_msg is not None
    assert by_id["13"].merged_msg.title == "记录"
    assert by_id["14"].text == KfText(content="菜单", menu_id="101")


async def test_events_decode_with_their_fields(corp: WeComClient, platform: FakePlatform) -> None:
    def event(msgid: str, **fields: Any) -> dict[str, Any]:
        return {"msgid": msgid, "send_time": 1, "origin": 4, "msgtype": "event", "event": fields}

    items = [
        event(
            "e1",
            event_type="enter_session",
            open_kfid="wkKF",
            external_userid="wmBUYER",
            scene="store",
            scene_param="order%3D1",
            welcome_code="WELCOME",
            wechat_channels={"nickname": "茶铺", "scene": 5},
        ),
        event(
            "e2",
            event_type="msg_send_fail",
            open_kfid="wkKF",
            external_userid="wmBUYER",
            fail_msgid="m9",
            fail_type=4,
        ),
        event(
            "e3",
            event_type="session_status_change",
            open_kfid="wkKF",
            external_userid="wmBUYER",
            change_type=2,
            old_servicer_userid="lisi",
            new_servicer_userid="wangwu",
            msg_code="CODE",
        ),
        event("e4", event_type="servicer_status_change", servicer_userid="lisi", status=2),
    ]
    platform.reply(SYNC, {"next_cursor": "c", "has_more": 0, "msg_list": items})
    enter, fail, session, servicer = (m.event for m in (await corp.sync_msg()).msg_list)
    assert enter is not None
    assert enter.wechat_channels is not None
    assert (enter.event_type, enter.welcome_code, enter.scene_param, enter.wechat_channels.scene) == (
        "enter_session",
        "WELCOME",
        "order%3D1",
        5,
    )
    assert fail is not None
    assert (fail.fail_msgid, fail.fail_type) == ("m9", 4)
    assert session is not None
    assert (
        session.change_type,
        session.old_servicer_userid,
        session.new_servicer_userid,
        session.msg_code,
    ) == (
        2,
        "lisi",
        "wangwu",
        "CODE",
    )
    assert servicer is not None
    assert (servicer.servicer_userid, servicer.status) == ("lisi", 2)


async def test_unknown_and_malformed_messages_are_kept_not_refused(
    corp: WeComClient, platform: FakePlatform
) -> None:
    items = [
        {"msgid": "u1", "msgtype": "hologram", "hologram": {"frames": 3}, "origin": 3, "send_time": 5},
        {"msgid": "u2", "msgtype": "text", "text": "a string where an object belongs"},
        text_message("u3", "fine"),
    ]
    platform.reply(SYNC, {"next_cursor": "c", "has_more": 0, "msg_list": items})
    unknown, malformed, fine = (await corp.sync_msg()).msg_list
    assert (unknown.msgid, unknown.msgtype, unknown.origin) == ("u1", "hologram", 3)
    assert unknown.raw["hologram"] == {"frames": 3}
    assert unknown.summary() == "[hologram]"
    assert (malformed.msgid, malformed.msgtype, malformed.text) == ("u2", "text", None)
    assert malformed.raw["text"] == "a string where an object belongs"
    assert fine.summary() == "fine"


# -- sends and sessions -------------------------------------------------------------------------


async def test_send_text_and_other_types(corp: WeComClient, platform: FakePlatform) -> None:
    platform.always("cgi-bin/kf/send_msg", {"msgid": "MSG1"})
    assert await corp.send_text("wmBUYER", "wkKF", "您好", msgid="desk-1") == "MSG1"
    await corp.send_msg("wmBUYER", "wkKF", "image", {"media_id": "MEDIA"})
    await corp.send_msg("wmBUYER", "wkKF", "text", KfText(content="struct"))
    assert platform.bodies("cgi-bin/kf/send_msg") == [
        {
            "touser": "wmBUYER",
            "open_kfid": "wkKF",
            "msgtype": "text",
            "text": {"content": "您好"},
            "msgid": "desk-1",
        },
        {"touser": "wmBUYER", "open_kfid": "wkKF", "msgtype": "image", "image": {"media_id": "MEDIA"}},
        {"touser": "wmBUYER", "open_kfid": "wkKF", "msgtype": "text", "text": {"content": "struct"}},
    ]


@pytest.mark.parametrize("msgid", [None, "desk-2"])
async def test_a_send_is_not_repeated_after_a_timeout(
    corp: WeComClient, platform: FakePlatform, msgid: str | None
) -> None:
    # WeCom documents no de-duplication by msgid: a repeat could reach the customer twice.
    platform.reply("cgi-bin/kf/send_msg", httpx.ReadTimeout("slow"), {"msgid": "x"})
    with pytest.raises(PlatformUnavailableError):
        await corp.send_text("wmBUYER", "wkKF", "您好", msgid=msgid)
    assert len(platform.calls("cgi-bin/kf/send_msg")) == 1


async def test_a_send_is_repeated_when_the_request_never_left(
    corp: WeComClient, platform: FakePlatform
) -> None:
    platform.reply("cgi-bin/kf/send_msg", httpx.ConnectError("refused"), {"msgid": "desk-3"})
    assert await corp.send_text("wmBUYER", "wkKF", "您好", msgid="desk-3") == "desk-3"
    assert len(platform.calls("cgi-bin/kf/send_msg")) == 2


async def test_send_in_the_wrong_session_state_is_a_platform_error(
    corp: WeComClient, platform: FakePlatform
) -> None:
    platform.reply("cgi-bin/kf/send_msg", {"errcode": 95018, "errmsg": "invalid service state rid: ab-cd"})
    with pytest.raises(PlatformError) as exc_info:
        await corp.send_text("wmBUYER", "wkKF", "您好")
    assert (exc_info.value.errcode, exc_info.value.rid, exc_info.value.path) == (
        95018,
        "ab-cd",
        "cgi-bin/kf/send_msg",
    )


async def test_send_msg_on_event(corp: WeComClient, platform: FakePlatform) -> None:
    platform.reply("cgi-bin/kf/send_msg_on_event", {"msgid": "W1"})
    assert await corp.send_msg_on_event("WELCOME", "text", {"content": "欢迎"}, msgid="w-1") == "W1"
    assert platform.bodies("cgi-bin/kf/send_msg_on_event") == [
        {"code": "WELCOME", "msgtype": "text", "text": {"content": "欢迎"}, "msgid": "w-1"}
    ]


async def test_service_state_get_and_trans(corp: WeComClient, platform: FakePlatform) -> None:
    platform.reply("cgi-bin/kf/service_state/get", {"service_state": 3, "servicer_userid": "lisi"})
    platform.reply("cgi-bin/kf/service_state/trans", {"msg_code": "MSGCODE"}, {})
    state = await corp.service_state("wkKF", "wmBUYER")
    assert (state.service_state, state.servicer_userid) == (ServiceState.HUMAN, "lisi")
    assert (
        await corp.trans_service_state("wkKF", "wmBUYER", ServiceState.HUMAN, servicer_userid="lisi")
        == "MSGCODE"
    )
    assert await corp.trans_service_state("wkKF", "wmBUYER", ServiceState.BOT) == ""
    assert platform.bodies("cgi-bin/kf/service_state/trans") == [
        {"open_kfid": "wkKF", "external_userid": "wmBUYER", "service_state": 3, "servicer_userid": "lisi"},
        {"open_kfid": "wkKF", "external_userid": "wmBUYER", "service_state": 1},
    ]


async def test_upgrade_service_to_a_member_or_a_group(corp: WeComClient, platform: FakePlatform) -> None:
    platform.always("cgi-bin/kf/customer/upgrade_service", {})
    await corp.upgrade_service("wkKF", "wmBUYER", userid="zhangsan", wording="专属顾问")
    await corp.upgrade_service("wkKF", "wmBUYER", chat_id="wrCHAT")
    assert platform.bodies("cgi-bin/kf/customer/upgrade_service") == [
        {
            "open_kfid": "wkKF",
            "external_userid": "wmBUYER",
            "type": 1,
            "member": {"userid": "zhangsan", "wording": "专属顾问"},
        },
        {
            "open_kfid": "wkKF",
            "external_userid": "wmBUYER",
            "type": 2,
            "groupchat": {"chat_id": "wrCHAT", "wording": ""},
        },
    ]
    with pytest.raises(ValueError, match="exactly one"):
        await corp.upgrade_service("wkKF", "wmBUYER")


async def test_customer_batchget(corp: WeComClient, platform: FakePlatform) -> None:
    platform.reply(
        "cgi-bin/kf/customer/batchget",
        {
            "customer_list": [
                {
                    "external_userid": "wmBUYER",
                    "nickname": "小林",
                    "gender": 2,
                    "unionid": "oUNION",
                    "enter_session_context": {
                        "scene": "store",
                        "wechat_channels": {"nickname": "茶铺", "scene": 4},
                    },
                }
            ],
            "invalid_external_userid": ["wmGONE"],
        },
    )
    batch = await corp.customer_batchget(["wmBUYER", "wmGONE"])
    (customer,) = batch.customer_list
    assert (customer.nickname, customer.unionid, customer.enter_session_context["scene"]) == (
        "小林",
        "oUNION",
        "store",
    )
    assert batch.invalid_external_userid == ["wmGONE"]
    assert platform.bodies("cgi-bin/kf/customer/batchget") == [
        {"external_userid_list": ["wmBUYER", "wmGONE"], "need_enter_session_context": 1}
    ]


async def test_kf_contact_link_with_scene_param(corp: WeComClient, platform: FakePlatform) -> None:
    platform.reply("cgi-bin/kf/add_contact_way", {"url": "https://work.weixin.qq.com/kfid/kfc4a1b2c3d5e"})
    url = await corp.add_kf_contact_way("wkKF", scene="store1")
    assert platform.bodies("cgi-bin/kf/add_contact_way") == [{"open_kfid": "wkKF", "scene": "store1"}]
    assert (
        with_scene_param(url, "order=37 1&x")
        == "https://work.weixin.qq.com/kfid/kfc4a1b2c3d5e&scene_param=order%3D37%201%26x"
    )


async def test_list_kf_accounts(corp: WeComClient, platform: FakePlatform) -> None:
    platform.reply("cgi-bin/kf/account/list", {"account_list": [{"open_kfid": "wkKF", "name": "茶铺客服"}]})
    assert [(a.open_kfid, a.name) for a in await corp.list_kf_accounts()] == [("wkKF", "茶铺客服")]


# -- contacts (客户联系) --------------------------------------------------------------------------


async def test_add_contact_way_carries_the_state(corp: WeComClient, platform: FakePlatform) -> None:
    platform.reply(
        "cgi-bin/externalcontact/add_contact_way", {"config_id": "cfg1", "qr_code": "https://qr/1.png"}
    )
    result = await corp.add_contact_way(user=["zhangsan"], state="handoff-42", remark="desk")
    assert (result.config_id, result.qr_code) == ("cfg1", "https://qr/1.png")
    assert platform.bodies("cgi-bin/externalcontact/add_contact_way") == [
        {
            "type": 1,
            "scene": 2,
            "skip_verify": True,
            "user": ["zhangsan"],
            "state": "handoff-42",
            "remark": "desk",
        }
    ]
    with pytest.raises(ValueError, match="30"):
        await corp.add_contact_way(user=["zhangsan"], state="x" * 31)


async def test_add_contact_way_is_not_repeated_after_a_timeout(
    corp: WeComClient, platform: FakePlatform
) -> None:
    platform.reply("cgi-bin/externalcontact/add_contact_way", (500, b""), {"config_id": "cfg2"})
    with pytest.raises(PlatformUnavailableError):
        await corp.add_contact_way(user=["zhangsan"])
    assert len(platform.calls("cgi-bin/externalcontact/add_contact_way")) == 1


async def test_get_external_contact_is_a_get_with_query(corp: WeComClient, platform: FakePlatform) -> None:
    platform.reply(
        "cgi-bin/externalcontact/get",
        {
            "external_contact": {
                "external_userid": "wmEXT",
                "name": "小林",
                "type": 1,
                "gender": 2,
                "unionid": "oU",
            },
            "follow_user": [
                {"userid": "zhangsan", "createtime": 1_700_000_000, "state": "handoff-42", "add_way": 1}
            ],
            "next_cursor": "",
        },
    )
    detail = await corp.get_external_contact("wmEXT")
    assert (detail.external_contact.name, detail.external_contact.unionid) == ("小林", "oU")
    assert [(f.userid, f.state) for f in detail.follow_user] == [("zhangsan", "handoff-42")]
    (request,) = platform.calls("cgi-bin/externalcontact/get")
    assert request.method == "GET"
    assert request.url.params["external_userid"] == "wmEXT"


# -- token and retry policy ---------------------------------------------------------------------


async def test_gettoken_is_called_with_corpid_and_corpsecret(
    corp: WeComClient, platform: FakePlatform
) -> None:
    platform.reply(SYNC, {"has_more": 0})
    await corp.sync_msg()
    (token_request,) = platform.token_requests
    assert token_request.url.path == "/cgi-bin/gettoken"
    assert dict(token_request.url.params) == {"corpid": "ww_corp", "corpsecret": "kf-secret"}


@pytest.mark.parametrize("errcode", [40014, 42001, 41001])
async def test_wecom_token_errors_refresh_once(
    corp: WeComClient, platform: FakePlatform, errcode: int
) -> None:
    platform.reply(SYNC, {"errcode": errcode, "errmsg": "token"}, {"has_more": 0})
    await corp.sync_msg()
    assert len(platform.token_requests) == 2


async def test_40001_is_not_a_token_error_on_wecom(corp: WeComClient, platform: FakePlatform) -> None:
    # On WeCom 40001 means a wrong secret: refreshing the token cannot fix it.
    platform.reply(SYNC, {"errcode": 40001, "errmsg": "invalid secret"})
    with pytest.raises(PlatformError) as exc_info:
        await corp.sync_msg()
    assert exc_info.value.errcode == 40001
    assert len(platform.token_requests) == 1


async def test_a_rotated_token_is_refreshed_for_fifty_concurrent_calls_once(
    corp: WeComClient, platform: FakePlatform
) -> None:
    platform.always(SYNC, {"has_more": 0})
    await corp.sync_msg()
    platform.rotate_token()
    platform.token_delay = 0.02
    await asyncio.gather(*(corp.sync_msg() for _ in range(50)))
    assert len(platform.token_requests) == 2


async def test_bad_corp_secret_is_a_credential_error(corp: WeComClient, platform: FakePlatform) -> None:
    platform.token_reply = {"errcode": 40001, "errmsg": "invalid credential rid: 1-2"}
    with pytest.raises(CredentialError) as exc_info:
        await corp.sync_msg()
    assert (exc_info.value.errcode, exc_info.value.path) == (40001, "cgi-bin/gettoken")


async def test_busy_is_retried_then_raised(
    corp: WeComClient, platform: FakePlatform, sleeps: Recorder
) -> None:
    platform.always(SYNC, {"errcode": -1, "errmsg": "system busy"})
    with pytest.raises(PlatformBusyError):
        await corp.sync_msg()
    assert sleeps.delays == [0.2, 0.4, 0.8]


async def test_sync_is_retried_through_5xx(corp: WeComClient, platform: FakePlatform) -> None:
    platform.reply(SYNC, (503, b""), {"has_more": 0, "next_cursor": "c"})
    assert (await corp.sync_msg()).next_cursor == "c"
