"""The Channels store client over HTTP: decoding, windows and paging, token, retry and error policy."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest

from desk.platform.calls import RetryPolicy
from desk.platform.channels import AFTERSALE_WINDOW_S, ORDER_WINDOW_S, ChannelsClient, split_windows
from desk.platform.channels_types import AcceptType, AddressDetail, AddressInfo, OrderSearchCondition
from desk.platform.errors import (
    CredentialError,
    PlatformBusyError,
    PlatformError,
    PlatformUnavailableError,
    TokenError,
)
from desk.platform.tokens import MemoryTokenStore, TokenStore
from tests.platform.conftest import FakeClock
from tests.platform.fake_platform import FakePlatform, Recorder

DAY = 86_400
START = 1_700_000_000
ORDER_ID = "3713995673005065728"

# spec §2's example, with ids as JSON numbers as some doc examples send them, and a null object.
ORDER_REPLY = (
    b'{"errcode":0,"errmsg":"ok","order":{"order_id":3713995673005065728,"status":20,'
    b'"create_time":1693379332,"update_time":1693379356,"openid":"o_buyer","unionid":"",'
    b'"order_detail":{"product_infos":[{"product_id":10000054311095,"sku_id":2113331236,'
    b'"title":"\xe8\x8c\xb6\xe5\x8f\xb6","thumb_img":"https://img/x.jpg","sku_cnt":2,"sale_price":6900,"real_price":13800,'
    b'"on_aftersale_sku_cnt":1,"finish_aftersale_sku_cnt":0}],'
    b'"pay_info":{"payment_method":1,"prepay_id":"wx123","pay_time":1693379356,"transaction_id":"4200001234"},'
    b'"price_info":{"product_price":13800,"order_price":13800,"freight":0,"discounted_price":0,"is_discounted":0},'
    b'"delivery_info":{"address_info":{"user_name":"\xe6\x9e\x97**","tel_number":"183****2807",'
    b'"province_name":"\xe5\xb9\xbf\xe4\xb8\x9c\xe7\x9c\x81","city_name":"\xe6\xb7\xb1\xe5\x9c\xb3\xe5\xb8\x82",'
    b'"county_name":"\xe5\x8d\x97\xe5\xb1\xb1\xe5\x8c\xba","detail_info":"****","use_tel_number":1,"hash_code":"e258",'
    b'"tel_number_ext_info":{"real_tel_number":"183****2807","virtual_tel_number":"132123457749-1234",'
    b'"virtual_tel_expire_time":1735436340}},"delivery_product_info":[{"waybill_id":"SF123","delivery_id":"SF",'
    b'"delivery_name":"\xe9\xa1\xba\xe4\xb8\xb0","deliver_type":1,"product_infos":[{"product_id":"10000054311095",'
    b'"sku_id":"2113331236","product_cnt":1}]}],"deliver_method":0,"address_under_review":null},'
    b'"ext_info":{"customer_notes":"","merchant_notes":"VIP","confirm_receipt_time":0,"order_scene":2}},'
    b'"aftersale_detail":{"on_aftersale_order_cnt":1,"aftersale_order_list":[{"aftersale_order_id":1934164653012121}]}}}'
)

AFTERSALE = {
    "after_sale_order_id": "1934164653012121",
    "order_id": ORDER_ID,
    "status": "MERCHANT_PROCESSING",
    "type": "RETURN",
    "openid": "o_buyer",
    "create_time": START,
    "update_time": START + 60,
    "deadline": 86_400,
    "product_info": {"product_id": "10000054311095", "sku_id": "2113331236", "count": 1},
    "details": {
        "desc": "坏了",
        "receive_product": True,
        "media_id_list": ["m1"],
        "tel_number": "183****2807",
    },
    "refund_info": {"amount": 6900},
    "return_info": {"waybill_id": "YT1", "delivery_id": "YTO", "delivery_name": "圆通"},
    "reason": "QUALITY_ISSUE",
    "reason_text": "质量问题",
}


@pytest.fixture
def platform() -> FakePlatform:
    return FakePlatform(invalid_token_errcode=40001)


@pytest.fixture
def sleeps() -> Recorder:
    return Recorder()


@pytest.fixture
async def http(platform: FakePlatform) -> AsyncIterator[httpx.AsyncClient]:
    async with platform.client() as client:
        yield client


@pytest.fixture
def store(http: httpx.AsyncClient, sleeps: Recorder, fake_clock: FakeClock) -> ChannelsClient:
    return make_client(http, MemoryTokenStore(), sleeps, fake_clock)


def make_client(
    http: httpx.AsyncClient,
    tokens: TokenStore,
    sleeps: Recorder,
    clock: FakeClock,
    **options: Any,
) -> ChannelsClient:
    return ChannelsClient(
        "wx_store",
        "store-secret",
        http=http,
        tokens=tokens,
        base_url="https://fake.test",
        retry=RetryPolicy(jitter=False),
        sleep=sleeps,
        clock=clock,
        **options,
    )


async def collect(ids: AsyncIterator[str]) -> list[str]:
    return [i async for i in ids]


# -- decoding -----------------------------------------------------------------------------------


async def test_get_order_decodes_the_wire_json(store: ChannelsClient, platform: FakePlatform) -> None:
    platform.reply("channels/ec/order/get", ORDER_REPLY)
    order = await store.get_order(ORDER_ID)
    assert platform.bodies("channels/ec/order/get") == [{"order_id": ORDER_ID}]
    assert order.order_id == ORDER_ID
    assert (order.status, order.create_time, order.openid) == (20, 1693379332, "o_buyer")
    line = order.order_detail.product_infos[0]
    assert (line.product_id, line.sku_id, line.title, line.sku_cnt, line.real_price) == (
        "10000054311095",
        "2113331236",
        "茶叶",
        2,
        13800,
    )
    address = order.order_detail.delivery_info.address_info
    assert address.city_name == "深圳市"
    assert address.tel_number_ext_info is not None
    assert address.tel_number_ext_info.virtual_tel_number == "132123457749-1234"
    assert order.order_detail.delivery_info.address_under_review is None
    assert order.order_detail.delivery_info.delivery_product_info[0].delivery_name == "顺丰"
    assert order.order_detail.price_info.is_discounted is False
    assert order.order_detail.ext_info.merchant_notes == "VIP"
    assert order.aftersale_detail is not None
    assert order.aftersale_detail.aftersale_order_list[0].aftersale_order_id == "1934164653012121"


async def test_ids_are_never_floats(store: ChannelsClient, platform: FakePlatform) -> None:
    platform.reply("channels/ec/order/get", ORDER_REPLY)
    order = await store.get_order(ORDER_ID)

    def walk(value: Any) -> None:
        assert not isinstance(value, float), value
        if isinstance(value, msgspec.Struct):
            for name in value.__struct_fields__:
                walk(getattr(value, name))
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(order)


async def test_an_id_sent_as_a_float_is_not_accepted(store: ChannelsClient, platform: FakePlatform) -> None:
    platform.reply("channels/ec/order/get", b'{"errcode":0,"order":{"order_id":3.713995673005066e18}}')
    with pytest.raises(PlatformUnavailableError, match="unexpected reply"):
        await store.get_order(ORDER_ID)


async def test_omitted_fields_take_defaults(store: ChannelsClient, platform: FakePlatform) -> None:
    platform.reply("channels/ec/order/get", {"order": {"order_id": ORDER_ID, "status": 10}})
    order = await store.get_order(ORDER_ID)
    assert order.order_detail.product_infos == []
    assert order.order_detail.pay_info.pay_time == 0
    assert order.aftersale_detail is None


async def test_get_aftersale_decodes(store: ChannelsClient, platform: FakePlatform) -> None:
    platform.reply("channels/ec/aftersale/getaftersaleorder", {"after_sale_order": AFTERSALE})
    after_sale = await store.get_aftersale("1934164653012121")
    assert (after_sale.status, after_sale.type, after_sale.order_id) == (
        "MERCHANT_PROCESSING",
        "RETURN",
        ORDER_ID,
    )
    assert after_sale.refund_info.amount == 6900
    assert after_sale.details.receive_product is True
    assert after_sale.return_info.delivery_name == "圆通"
    assert (after_sale.reason, after_sale.reason_text) == ("QUALITY_ISSUE", "质量问题")


async def test_decode_sensitive_info(store: ChannelsClient, platform: FakePlatform) -> None:
    platform.reply(
        "channels/ec/order/sensitiveinfo/decode",
        {
            "address_info": {"user_name": "林小姐", "tel_number": "18312342807", "detail_info": "科技园1号"},
            "virtual_number_info": {
                "virtual_number": "13212345774",
                "extension": "1234",
                "expiration": 1735436340,
            },
        },
    )
    info = await store.decode_sensitive_info(ORDER_ID)
    assert (info.address_info.user_name, info.address_info.tel_number) == ("林小姐", "18312342807")
    assert info.virtual_number_info is not None
    assert info.virtual_number_info.extension == "1234"


# -- windows and paging -------------------------------------------------------------------------


def test_split_windows_covers_the_range_in_allowed_widths() -> None:
    windows = split_windows(START, START + 20 * DAY, ORDER_WINDOW_S)
    assert windows == [
        (START, START + 7 * DAY),
        (START + 7 * DAY, START + 14 * DAY),
        (START + 14 * DAY, START + 20 * DAY),
    ]
    assert split_windows(START, START, AFTERSALE_WINDOW_S) == [(START, START)]
    with pytest.raises(ValueError, match="before it starts"):
        split_windows(START, START - 1, DAY)


async def test_a_20_day_order_range_is_split_into_7_day_windows_and_paged(
    store: ChannelsClient, platform: FakePlatform
) -> None:
    platform.reply(
        "channels/ec/order/list/get",
        {"order_id_list": ["1", "2"], "next_key": "k1", "has_more": True},
        {"order_id_list": [3], "next_key": "k2", "has_more": False},
        {"order_id_list": [], "next_key": "", "has_more": False},
        {"order_id_list": ["3", "4"], "next_key": "", "has_more": False},  # "3" moved windows: once only
    )
    ids = await collect(store.iter_order_ids(update_from=START, update_to=START + 20 * DAY, status=20))
    assert ids == ["1", "2", "3", "4"]
    bodies = platform.bodies("channels/ec/order/list/get")
    ranges = [(b["update_time_range"]["start_time"], b["update_time_range"]["end_time"]) for b in bodies]
    assert ranges == [
        (START, START + 7 * DAY),
        (START, START + 7 * DAY),
        (START + 7 * DAY, START + 14 * DAY),
        (START + 14 * DAY, START + 20 * DAY),
    ]
    assert [b["next_key"] for b in bodies] == ["", "k1", "", ""]
    assert all(b["page_size"] == 100 and b["status"] == 20 for b in bodies)
    assert all(hi - lo <= 7 * DAY for lo, hi in ranges)


async def test_order_range_by_creation_time_ends_now_by_default(
    store: ChannelsClient, platform: FakePlatform, fake_clock: FakeClock
) -> None:
    platform.always("channels/ec/order/list/get", {"order_id_list": [], "has_more": False})
    await collect(
        store.iter_order_ids(create_from=int(fake_clock.now) - 2 * DAY, openid="o_buyer", page_size=50)
    )
    (body,) = platform.bodies("channels/ec/order/list/get")
    assert body["create_time_range"] == {
        "start_time": int(fake_clock.now) - 2 * DAY,
        "end_time": int(fake_clock.now),
    }
    assert (body["openid"], body["page_size"]) == ("o_buyer", 50)
    assert "update_time_range" not in body


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one time range"),
        ({"update_from": START, "create_from": START}, "exactly one time range"),
        ({"update_to": START}, "needs its start"),
        ({"update_from": START, "update_to": START - 1}, "before it starts"),
        ({"update_from": START, "update_to": START + 1, "page_size": 101}, "page_size"),
        ({"update_from": START, "update_to": START + 1, "page_size": 0}, "page_size"),
    ],
)
async def test_bad_list_arguments_are_refused_before_calling(
    store: ChannelsClient, platform: FakePlatform, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await collect(store.iter_order_ids(**kwargs))
    assert platform.requests == []


async def test_a_3_day_aftersale_range_is_split_into_24_hour_windows(
    store: ChannelsClient, platform: FakePlatform
) -> None:
    platform.reply(
        "channels/ec/aftersale/getaftersalelist",
        {"after_sale_order_id_list": ["a1"], "next_key": "n1", "has_more": True},
        {"after_sale_order_id_list": [1934164653012121], "next_key": "n2", "has_more": False},
        {"after_sale_order_id_list": ["a3"], "has_more": False},
        {"after_sale_order_id_list": [], "has_more": False},
    )
    ids = await collect(store.iter_aftersale_ids(update_from=START, update_to=START + 3 * DAY))
    assert ids == ["a1", "1934164653012121", "a3"]
    bodies = platform.bodies("channels/ec/aftersale/getaftersalelist")
    windows = [(b["begin_update_time"], b["end_update_time"]) for b in bodies]
    assert windows == [
        (START, START + DAY),
        (START, START + DAY),
        (START + DAY, START + 2 * DAY),
        (START + 2 * DAY, START + 3 * DAY),
    ]
    assert [b["next_key"] for b in bodies] == ["", "n1", "", ""]


async def test_aftersale_range_by_creation_time(store: ChannelsClient, platform: FakePlatform) -> None:
    platform.always(
        "channels/ec/aftersale/getaftersalelist", {"after_sale_order_id_list": [], "has_more": False}
    )
    await collect(store.iter_aftersale_ids(create_from=START, create_to=START + 3600))
    assert platform.bodies("channels/ec/aftersale/getaftersalelist") == [
        {"begin_create_time": START, "end_create_time": START + 3600, "next_key": ""}
    ]


async def test_paging_that_does_not_advance_is_an_error(
    store: ChannelsClient, platform: FakePlatform
) -> None:
    platform.always(
        "channels/ec/order/list/get", {"order_id_list": ["1"], "next_key": "same", "has_more": True}
    )
    with pytest.raises(PlatformUnavailableError, match="did not advance"):
        await collect(store.iter_order_ids(update_from=START, update_to=START + 60))
    assert len(platform.calls("channels/ec/order/list/get")) == 2


async def test_search_pages_through_next_key(store: ChannelsClient, platform: FakePlatform) -> None:
    platform.reply(
        "channels/ec/order/search",
        {"order_id_list": ["1"], "next_key": "s1", "has_more": True},
        {"order_id_list": ["2"], "has_more": False},
    )
    ids = await collect(store.search_order_ids(OrderSearchCondition(tel_number_last4="2807"), status=20))
    assert ids == ["1", "2"]
    first, second = platform.bodies("channels/ec/order/search")
    assert first == {
        "search_condition": {"tel_number_last4": "2807"},
        "page_size": 100,
        "status": 20,
        "next_key": "",
    }
    assert second["next_key"] == "s1"


# -- tokens -------------------------------------------------------------------------------------


async def test_fifty_concurrent_calls_fetch_one_token(sleeps: Recorder, fake_clock: FakeClock) -> None:
    platform = FakePlatform(token_delay=0.02)
    async with platform.client() as http:
        store = make_client(http, MemoryTokenStore(), sleeps, fake_clock)
        platform.always("channels/ec/order/get", {"order": {"order_id": ORDER_ID}})
        orders = await asyncio.gather(*(store.get_order(ORDER_ID) for _ in range(50)))
    assert {o.order_id for o in orders} == {ORDER_ID}
    assert len(platform.token_requests) == 1
    assert len(platform.requests) == 50  # none was refused: nobody invalidated anybody's token
    body = json.loads(platform.token_requests[0].content)
    assert (body["grant_type"], body["appid"], body["secret"]) == (
        "client_credential",
        "wx_store",
        "store-secret",
    )


async def test_clients_of_one_store_share_its_token(
    http: httpx.AsyncClient, platform: FakePlatform, sleeps: Recorder, fake_clock: FakeClock
) -> None:
    tokens = MemoryTokenStore()
    platform.always("channels/ec/order/get", {"order": {"order_id": ORDER_ID}})
    for _ in range(3):
        await make_client(http, tokens, sleeps, fake_clock).get_order(ORDER_ID)
    assert len(platform.token_requests) == 1


async def test_a_refused_token_is_refreshed_and_the_call_retried_once(
    store: ChannelsClient, platform: FakePlatform
) -> None:
    platform.always("channels/ec/order/get", {"order": {"order_id": ORDER_ID}})
    await store.get_order(ORDER_ID)
    platform.rotate_token()  # someone else's refresh invalidated ours: the next call gets 40001
    order = await store.get_order(ORDER_ID)
    assert order.order_id == ORDER_ID
    assert len(platform.token_requests) == 2
    assert len(platform.calls("channels/ec/order/get")) == 3


async def test_concurrent_calls_refused_together_share_one_refresh(
    store: ChannelsClient, platform: FakePlatform
) -> None:
    platform.always("channels/ec/order/get", {"order": {"order_id": ORDER_ID}})
    await store.get_order(ORDER_ID)
    platform.rotate_token()
    platform.token_delay = 0.02  # a slow token endpoint: the refused callers pile up behind it
    await asyncio.gather(*(store.get_order(ORDER_ID) for _ in range(50)))
    assert len(platform.token_requests) == 2


async def test_a_token_refused_twice_is_a_token_error(store: ChannelsClient, platform: FakePlatform) -> None:
    platform.always("channels/ec/order/get", {"errcode": 42001, "errmsg": "access_token expired rid: 65a0-1"})
    with pytest.raises(TokenError) as exc_info:
        await store.get_order(ORDER_ID)
    assert (exc_info.value.errcode, exc_info.value.rid) == (42001, "65a0-1")
    assert len(platform.token_requests) == 2
    assert len(platform.calls("channels/ec/order/get")) == 2


@pytest.mark.parametrize("errcode", [40001, 40014, 42001, 41001])
async def test_every_token_errcode_triggers_one_refresh(
    store: ChannelsClient, platform: FakePlatform, errcode: int
) -> None:
    platform.reply(
        "channels/ec/order/get", {"errcode": errcode, "errmsg": "token"}, {"order": {"order_id": ORDER_ID}}
    )
    await store.get_order(ORDER_ID)
    assert len(platform.token_requests) == 2


async def test_wrong_secret_is_a_credential_error(store: ChannelsClient, platform: FakePlatform) -> None:
    platform.token_reply = {"errcode": 40125, "errmsg": "invalid appsecret rid: 6600-aa"}
    with pytest.raises(CredentialError) as exc_info:
        await store.get_order(ORDER_ID)
    assert (exc_info.value.errcode, exc_info.value.path, exc_info.value.rid) == (
        40125,
        "cgi-bin/stable_token",
        "6600-aa",
    )
    assert platform.requests == []


async def test_stable_token_is_posted_and_asked_for_again_normally_after_a_refusal(
    http: httpx.AsyncClient, platform: FakePlatform, sleeps: Recorder, fake_clock: FakeClock
) -> None:
    store = make_client(http, MemoryTokenStore(), sleeps, fake_clock)  # stable_token is the default
    platform.always("channels/ec/order/get", {"order": {"order_id": ORDER_ID}})
    await store.get_order(ORDER_ID)
    platform.rotate_token()  # renewed, or forced by another process: a normal call gets the new one
    await store.get_order(ORDER_ID)
    assert [r.method for r in platform.token_requests] == ["POST", "POST"]
    assert [r.url.path for r in platform.token_requests] == ["/cgi-bin/stable_token"] * 2
    bodies = [json.loads(r.content) for r in platform.token_requests]
    assert bodies[0] == {
        "grant_type": "client_credential",
        "appid": "wx_store",
        "secret": "store-secret",
        "force_refresh": False,
    }
    assert bodies[1]["force_refresh"] is False


async def test_a_refused_stable_token_handed_out_again_is_forced_once(
    http: httpx.AsyncClient, platform: FakePlatform, sleeps: Recorder, fake_clock: FakeClock
) -> None:
    store = make_client(http, MemoryTokenStore(), sleeps, fake_clock)
    platform.always("channels/ec/order/get", {"order": {"order_id": ORDER_ID}})
    await store.get_order(ORDER_ID)
    held = platform.current_token
    platform.rotate_token()
    platform.unforced_stable_token = held  # the platform still hands out the token it refuses
    await store.get_order(ORDER_ID)
    forces = [json.loads(r.content)["force_refresh"] for r in platform.token_requests]
    assert forces == [False, False, True]


async def test_classic_token_mode_gets_cgi_bin_token(
    http: httpx.AsyncClient, platform: FakePlatform, sleeps: Recorder, fake_clock: FakeClock
) -> None:
    store = make_client(http, MemoryTokenStore(), sleeps, fake_clock, stable_token=False)
    platform.always("channels/ec/order/get", {"order": {"order_id": ORDER_ID}})
    await store.get_order(ORDER_ID)
    assert [(r.method, r.url.path) for r in platform.token_requests] == [("GET", "/cgi-bin/token")]


async def test_busy_is_retried_with_exponential_backoff(
    store: ChannelsClient, platform: FakePlatform, sleeps: Recorder
) -> None:
    platform.reply(
        "channels/ec/order/get",
        {"errcode": -1, "errmsg": "system error"},
        {"errcode": -1, "errmsg": "system error"},
        {"order": {"order_id": ORDER_ID}},
    )
    assert (await store.get_order(ORDER_ID)).order_id == ORDER_ID
    assert sleeps.delays == [0.2, 0.4]


async def test_busy_through_every_retry_is_a_busy_error(
    store: ChannelsClient, platform: FakePlatform, sleeps: Recorder
) -> None:
    platform.always("channels/ec/aftersale/acceptapply", {"errcode": 10021044, "errmsg": "busy rid: 1-2-3"})
    with pytest.raises(PlatformBusyError) as exc_info:
        await store.accept_aftersale("1934164653012121")
    assert exc_info.value.errcode == 10021044
    # Busy means nothing was done, so even a refund is tried again: 4 tries, 3 waits.
    assert len(platform.calls("channels/ec/aftersale/acceptapply")) == 4
    assert sleeps.delays == [0.2, 0.4, 0.8]


def test_backoff_is_capped_and_jittered() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=3.0)
    assert RetryPolicy(base_delay=1.0, max_delay=3.0, jitter=False).delay(5) == 3.0
    delays = [policy.delay(2) for _ in range(200)]
    assert all(1.0 <= d <= 2.0 for d in delays)
    assert len(set(delays)) > 1


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("slow"), (500, b"oops"), (503, b""), httpx.RemoteProtocolError("reset")],
    ids=["timeout", "500", "503", "reset"],
)
async def test_accept_is_not_retried_when_the_outcome_is_unknown(
    store: ChannelsClient, platform: FakePlatform, sleeps: Recorder, failure: Any
) -> None:
    platform.reply("channels/ec/aftersale/acceptapply", failure, {})
    with pytest.raises(PlatformUnavailableError) as exc_info:
        await store.accept_aftersale(
            "1934164653012121", address_id="111", accept_type=AcceptType.AGREE_RETURN
        )
    assert exc_info.value.path == "channels/ec/aftersale/acceptapply"
    assert len(platform.calls("channels/ec/aftersale/acceptapply")) == 1
    assert sleeps.delays == []


async def test_reject_is_not_retried_after_a_timeout(store: ChannelsClient, platform: FakePlatform) -> None:
    platform.reply("channels/ec/aftersale/rejectapply", httpx.ReadTimeout("slow"), {})
    with pytest.raises(PlatformUnavailableError):
        await store.reject_aftersale("1934164653012121", reject_reason_type=1)
    assert len(platform.calls("channels/ec/aftersale/rejectapply")) == 1


async def test_accept_is_retried_when_the_request_never_left(
    store: ChannelsClient, platform: FakePlatform
) -> None:
    platform.reply("channels/ec/aftersale/acceptapply", httpx.ConnectError("refused"), {})
    await store.accept_aftersale("1934164653012121")
    assert len(platform.calls("channels/ec/aftersale/acceptapply")) == 2


async def test_reads_are_retried_through_timeouts_and_5xx(
    store: ChannelsClient, platform: FakePlatform, sleeps: Recorder
) -> None:
    platform.reply(
        "channels/ec/aftersale/getaftersaleorder",
        httpx.ReadTimeout("slow"),
        (502, b"bad gateway"),
        {"after_sale_order": AFTERSALE},
    )
    assert (await store.get_aftersale("1934164653012121")).status == "MERCHANT_PROCESSING"
    assert sleeps.delays == [0.2, 0.4]


async def test_reads_give_up_after_their_attempts(store: ChannelsClient, platform: FakePlatform) -> None:
    platform.always("channels/ec/order/get", httpx.ReadTimeout("slow"))
    with pytest.raises(PlatformUnavailableError) as exc_info:
        await store.get_order(ORDER_ID)
    assert exc_info.value.status_code is None
    assert len(platform.calls("channels/ec/order/get")) == 3


async def test_a_body_that_is_not_json_is_no_answer(store: ChannelsClient, platform: FakePlatform) -> None:
    platform.always("channels/ec/order/get", (200, b"<html>proxy error</html>"))
    with pytest.raises(PlatformUnavailableError, match="not JSON"):
        await store.get_order(ORDER_ID)
    assert len(platform.calls("channels/ec/order/get")) == 3


async def test_an_unexpected_http_status_is_not_retried(
    store: ChannelsClient, platform: FakePlatform
) -> None:
    platform.always("channels/ec/order/get", (404, b"not found"))
    with pytest.raises(PlatformUnavailableError) as exc_info:
        await store.get_order(ORDER_ID)
    assert exc_info.value.status_code == 404
    assert len(platform.calls("channels/ec/order/get")) == 1


async def test_send_is_retried_with_the_same_request_id(
    store: ChannelsClient, platform: FakePlatform
) -> None:
    platform.reply("channels/ec/commkf/sendmsg", (502, b""), {"msg_id": 88001})
    assert await store.send_text("o_buyer", "您好", request_id="req-1") == "88001"
    assert [b["request_id"] for b in platform.bodies("channels/ec/commkf/sendmsg")] == ["req-1", "req-1"]


# -- errors -------------------------------------------------------------------------------------


async def test_platform_error_carries_errcode_errmsg_rid_and_path(
    store: ChannelsClient, platform: FakePlatform
) -> None:
    errmsg = "need merchant negotiate before reject rid: 6554d0f1-0a1b2c3d-4e5f6a7b"
    platform.reply("channels/ec/aftersale/rejectapply", {"errcode": 10021068, "errmsg": errmsg})
    with pytest.raises(PlatformError) as exc_info:
        await store.reject_aftersale("1934164653012121", reject_reason_type=3, reject_reason="已发货")
    error = exc_info.value
    assert type(error) is PlatformError
    assert (error.errcode, error.errmsg, error.rid, error.path) == (
        10021068,
        errmsg,
        "6554d0f1-0a1b2c3d-4e5f6a7b",
        "channels/ec/aftersale/rejectapply",
    )
    assert "10021068" in str(error)
    assert len(platform.calls("channels/ec/aftersale/rejectapply")) == 1


async def test_an_errmsg_without_rid_gives_an_empty_rid(
    store: ChannelsClient, platform: FakePlatform
) -> None:
    platform.reply("channels/ec/order/get", {"errcode": 40097, "errmsg": "invalid args"})
    with pytest.raises(PlatformError) as exc_info:
        await store.get_order(ORDER_ID)
    assert (exc_info.value.errcode, exc_info.value.rid) == (40097, "")


async def test_errcode_as_a_string_is_understood(store: ChannelsClient, platform: FakePlatform) -> None:
    platform.reply("channels/ec/order/get", b'{"errcode":"10020000","errmsg":"bad id"}')
    with pytest.raises(PlatformError) as exc_info:
        await store.get_order(ORDER_ID)
    assert exc_info.value.errcode == 10020000


# -- request bodies -----------------------------------------------------------------------------


async def test_after_sale_actions_send_the_documented_bodies(
    store: ChannelsClient, platform: FakePlatform
) -> None:
    for path in ("acceptapply", "rejectapply", "merchantupdateaftersale"):
        platform.always(f"channels/ec/aftersale/{path}", {})
    await store.accept_aftersale("a1")
    await store.accept_aftersale("a1", address_id="111222", accept_type=AcceptType.REFUND)
    await store.reject_aftersale("a1", reject_reason_type=5, reject_reason="商品已使用")
    await store.negotiate_aftersale(
        "a1",
        merchant_update_type=3,
        update_reason_type=10,
        merchant_update_desc="部分退款",
        type=1,
        amount=3000,
    )
    assert platform.bodies("channels/ec/aftersale/acceptapply") == [
        {"after_sale_order_id": "a1"},
        {"after_sale_order_id": "a1", "address_id": "111222", "accept_type": 2},
    ]
    assert platform.bodies("channels/ec/aftersale/rejectapply") == [
        {"after_sale_order_id": "a1", "reject_reason_type": 5, "reject_reason": "商品已使用"}
    ]
    assert platform.bodies("channels/ec/aftersale/merchantupdateaftersale") == [
        {
            "after_sale_order_id": "a1",
            "merchant_update_type": 3,
            "update_reason_type": 10,
            "merchant_update_desc": "部分退款",
            "media_ids": [],
            "type": 1,
            "amount": 3000,
        }
    ]


@pytest.mark.parametrize("key", ["reason_list", "reject_reason_list"])
async def test_reject_reasons_are_read_under_either_key(
    store: ChannelsClient, platform: FakePlatform, key: str
) -> None:
    reasons = [
        {
            "reject_reason_type": 1,
            "reject_reason_type_text": "已发货",
            "reject_reason": "x",
            "reject_scene": 1,
        }
    ]
    platform.reply("channels/ec/aftersale/rejectreason/get", {key: reasons})
    (reason,) = await store.get_reject_reasons()
    assert (reason.reject_reason_type, reason.reject_reason_type_text, reason.reject_scene) == (
        1,
        "已发货",
        1,
    )


async def test_all_aftersale_reasons(store: ChannelsClient, platform: FakePlatform) -> None:
    platform.reply(
        "channels/ec/aftersale/reason/get", {"reason_list": [{"reason": 1, "reason_text": "不想要了"}]}
    )
    assert [(r.reason, r.reason_text) for r in await store.get_aftersale_reasons()] == [(1, "不想要了")]


async def test_order_actions_send_the_documented_bodies(
    store: ChannelsClient, platform: FakePlatform
) -> None:
    for path in ("addressmodify/accept", "addressmodify/reject", "merchantnotes/update", "address/update"):
        platform.always(f"channels/ec/order/{path}", {})
    await store.accept_address_change(ORDER_ID)
    await store.reject_address_change(ORDER_ID)
    await store.update_merchant_notes(ORDER_ID, "加急")
    await store.update_order_address(
        ORDER_ID, AddressInfo(user_name="林", tel_number="18300000000", detail_info="1号")
    )
    assert platform.bodies("channels/ec/order/addressmodify/accept") == [{"order_id": ORDER_ID}]
    assert platform.bodies("channels/ec/order/addressmodify/reject") == [{"order_id": ORDER_ID}]
    assert platform.bodies("channels/ec/order/merchantnotes/update") == [
        {"order_id": ORDER_ID, "merchant_notes": "加急"}
    ]
    assert platform.bodies("channels/ec/order/address/update") == [
        {
            "order_id": ORDER_ID,
            "user_address": {"user_name": "林", "detail_info": "1号", "tel_number": "18300000000"},
        }
    ]


async def test_merchant_address_crud(store: ChannelsClient, platform: FakePlatform) -> None:
    detail = {
        "address_id": 111222,
        "name": "退货仓",
        "address_info": {"user_name": "仓管", "tel_number": "0755-1234", "province_name": "广东省"},
        "recv_addr": 1,
        "default_recv": True,
        "create_time": START,
    }
    platform.reply("channels/ec/merchant/address/add", {"address_id": 111222})
    platform.reply("channels/ec/merchant/address/list", {"address_id_list": [111222, "333"]})
    platform.reply("channels/ec/merchant/address/get", {"address_detail": detail})
    platform.reply("channels/ec/merchant/address/update", {})
    platform.reply("channels/ec/merchant/address/delete", {})
    new = AddressDetail(
        name="退货仓", address_info=AddressInfo(user_name="仓管", tel_number="0755-1234"), recv_addr=True
    )
    assert await store.add_address(new) == "111222"
    assert await store.list_address_ids() == ["111222", "333"]
    got = await store.get_address("111222")
    assert (got.address_id, got.recv_addr, got.default_recv, got.send_addr) == ("111222", True, True, False)
    await store.update_address(msgspec.structs.replace(got, remark="新"))
    await store.delete_address("111222")
    assert platform.bodies("channels/ec/merchant/address/add") == [
        {
            "address_detail": {
                "name": "退货仓",
                "address_info": {"user_name": "仓管", "tel_number": "0755-1234"},
                "recv_addr": True,
            }
        }
    ]
    assert platform.bodies("channels/ec/merchant/address/list") == [{"offset": 0, "limit": 100}]
    (update,) = platform.bodies("channels/ec/merchant/address/update")
    assert (update["address_detail"]["address_id"], update["address_detail"]["remark"]) == ("111222", "新")
    assert platform.bodies("channels/ec/merchant/address/delete") == [{"address_id": "111222"}]
    with pytest.raises(ValueError, match="address_id"):
        await store.update_address(new)


async def test_every_message_type_is_sent_in_its_shape(store: ChannelsClient, platform: FakePlatform) -> None:
    platform.always("channels/ec/commkf/sendmsg", {"msg_id": "m"})
    await store.send_text("o1", "你好", request_id="r1")
    await store.send_image("o1", "https://cos/i.jpg", request_id="r2")
    await store.send_video("o1", "https://cos/v.mp4", request_id="r3")
    await store.send_file("o1", "https://cos/f.pdf", request_id="r4")
    await store.send_product_share("o1", "10000054311095", request_id="r5")
    await store.send_order_share("o1", ORDER_ID, request_id="r6")
    assert platform.bodies("channels/ec/commkf/sendmsg") == [
        {"request_id": "r1", "open_id": "o1", "msg_type": "text", "text": {"content": "你好"}},
        {"request_id": "r2", "open_id": "o1", "msg_type": "image", "image": {"cos_url": "https://cos/i.jpg"}},
        {"request_id": "r3", "open_id": "o1", "msg_type": "video", "video": {"cos_url": "https://cos/v.mp4"}},
        {"request_id": "r4", "open_id": "o1", "msg_type": "file", "file": {"cos_url": "https://cos/f.pdf"}},
        {
            "request_id": "r5",
            "open_id": "o1",
            "msg_type": "product_share",
            "product_share": {"product_id": "10000054311095"},
        },
        {
            "request_id": "r6",
            "open_id": "o1",
            "msg_type": "order_share",
            "order_share": {"order_id": ORDER_ID},
        },
    ]


async def test_cosupload_sends_a_multipart_form(store: ChannelsClient, platform: FakePlatform) -> None:
    platform.reply("channels/ec/commkf/cosupload", {"cos_url": "https://cos/abc.jpg"})
    url = await store.upload_media(
        "o1", "image", b"\x89PNG-bytes", filename="a.png", content_type="image/png"
    )
    assert url == "https://cos/abc.jpg"
    (request,) = platform.calls("channels/ec/commkf/cosupload")
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    body = request.content
    assert b'name="file"; filename="a.png"' in body
    assert b"\x89PNG-bytes" in body
    assert b'name="open_id"\r\n\r\no1' in body
    assert b'name="msg_type"\r\n\r\nimage' in body
    assert request.url.params["access_token"] == platform.current_token
