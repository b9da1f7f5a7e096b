"""Push payloads: every Channels event and WeCom callback decodes to its Struct and dedup key."""

from __future__ import annotations

import contextlib
import json
from typing import Any
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desk.platform.events import (
    CHANNELS_EVENTS,
    AfterSaleUpdateEvent,
    CommkfMessageEvent,
    ComplaintUpdateEvent,
    EventDecodeError,
    ExternalContactEvent,
    KfMsgOrEvent,
    OrderEvent,
    ProductOrderStatusEvent,
    UnknownEvent,
    UnknownWeComEvent,
    decode_channels_event,
    decode_wecom_event,
    parse_wecom_envelope,
)

ORDER_ID = "3713995673005065728"
AFTER_SALE_ID = "1934164653012121"


def push(event: str, create_time: int = 1_700_000_000, **fields: Any) -> dict[str, Any]:
    return {
        "ToUserName": "gh_store",
        "FromUserName": "o_buyer",
        "CreateTime": create_time,
        "MsgType": "event",
        "Event": event,
        **fields,
    }


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


ORDER_EVENTS = [
    ("channels_ec_order_new", {}),
    ("channels_ec_order_pay", {"pay_time": 1_700_000_000}),
    ("channels_ec_order_wait_shipping", {}),
    ("channels_ec_order_cancel", {"cancel_type": 1}),
    ("channels_ec_order_deliver", {"finish_delivery": 1}),
    ("channels_ec_order_confirm", {"confirm_type": 2}),
    ("channels_ec_order_settle", {"settle_time": 1_700_100_000}),
    ("channels_ec_order_ext_info_update", {"type": 1}),
]


@pytest.mark.parametrize(("event", "extra"), ORDER_EVENTS, ids=[e for e, _ in ORDER_EVENTS])
def test_order_events_decode_with_their_order_id(event: str, extra: dict[str, Any]) -> None:
    decoded = decode_channels_event(encode(push(event, order_info={"order_id": ORDER_ID, **extra})))
    assert isinstance(decoded, OrderEvent)
    assert decoded.kind == "order"
    assert decoded.order_id == ORDER_ID
    assert decoded.Event == event
    for name, value in extra.items():
        assert getattr(decoded.order_info, name) == value


def test_every_table_entry_is_covered_here() -> None:
    covered = {e for e, _ in ORDER_EVENTS} | {
        "product_order_status_update",
        "channels_ec_aftersale_update",
        "channels_ec_complaint_update",
        "commkf_send_msg_to_kf",
    }
    assert set(CHANNELS_EVENTS) == covered


def test_product_order_status_update_decodes() -> None:
    payload = push(
        "product_order_status_update", ProductOrderStatusUpdate={"order_id": ORDER_ID, "status": 20}
    )
    decoded = decode_channels_event(encode(payload))
    assert isinstance(decoded, ProductOrderStatusEvent)
    assert (decoded.kind, decoded.order_id, decoded.ProductOrderStatusUpdate.status) == (
        "order",
        ORDER_ID,
        20,
    )


def test_aftersale_update_decodes() -> None:
    payload = push(
        "channels_ec_aftersale_update",
        finder_shop_aftersale_status_update={
            "status": "USER_WAIT_RETURN",
            "after_sale_order_id": AFTER_SALE_ID,
            "order_id": ORDER_ID,
        },
    )
    decoded = decode_channels_event(encode(payload))
    assert isinstance(decoded, AfterSaleUpdateEvent)
    assert decoded.kind == "aftersale"
    assert (decoded.after_sale_order_id, decoded.order_id) == (AFTER_SALE_ID, ORDER_ID)
    assert decoded.finder_shop_aftersale_status_update.status == "USER_WAIT_RETURN"


def test_complaint_update_decodes() -> None:
    payload = push(
        "channels_ec_complaint_update",
        finder_shop_complaint={
            "complaint_id": "900",
            "after_sale_order_id": AFTER_SALE_ID,
            "order_id": ORDER_ID,
            "complaint_status": 100,
        },
    )
    decoded = decode_channels_event(encode(payload))
    assert isinstance(decoded, ComplaintUpdateEvent)
    assert (decoded.kind, decoded.after_sale_order_id) == ("aftersale", AFTER_SALE_ID)
    assert decoded.finder_shop_complaint.complaint_status == 100


@pytest.mark.parametrize(
    ("msg_type", "obj", "summary"),
    [
        ("text", {"text": {"content": "什么时候发货"}}, "什么时候发货"),
        ("order_share", {"order_share": {"order_id": ORDER_ID}}, f"[order {ORDER_ID}]"),
        ("product_share", {"product_share": {"product_id": "10000123"}}, "[product 10000123]"),
        ("image", {"image": {"cos_url": "https://cos.example/x.jpg"}}, "[image]"),
    ],
)
def test_buyer_message_decodes(msg_type: str, obj: dict[str, Any], summary: str) -> None:
    payload = push(
        "commkf_send_msg_to_kf", msg_id="7000001", msg_type=msg_type, msg_event="EVENT_TYPE_SEND_MSG", **obj
    )
    decoded = decode_channels_event(encode(payload))
    assert isinstance(decoded, CommkfMessageEvent)
    assert decoded.kind == "message"
    assert (decoded.message_id, decoded.openid, decoded.msg_type) == ("7000001", "o_buyer", msg_type)
    assert decoded.summary() == summary


# -- dedup keys ---------------------------------------------------------------------------------

DEDUP_CASES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    # (a push, the same object's later change)
    (
        push("channels_ec_order_pay", order_info={"order_id": ORDER_ID}),
        push("channels_ec_order_deliver", 1_700_000_900, order_info={"order_id": ORDER_ID}),
    ),
    (
        push("channels_ec_order_ext_info_update", order_info={"order_id": ORDER_ID}),
        push("channels_ec_order_ext_info_update", 1_700_000_001, order_info={"order_id": ORDER_ID}),
    ),
    (
        push("product_order_status_update", ProductOrderStatusUpdate={"order_id": ORDER_ID, "status": 20}),
        push("product_order_status_update", ProductOrderStatusUpdate={"order_id": ORDER_ID, "status": 30}),
    ),
    (
        push(
            "channels_ec_aftersale_update",
            finder_shop_aftersale_status_update={
                "after_sale_order_id": AFTER_SALE_ID,
                "status": "MERCHANT_PROCESSING",
            },
        ),
        push(
            "channels_ec_aftersale_update",
            finder_shop_aftersale_status_update={
                "after_sale_order_id": AFTER_SALE_ID,
                "status": "USER_WAIT_RETURN",
            },
        ),
    ),
    (
        push(
            "channels_ec_complaint_update",
            finder_shop_complaint={"complaint_id": "9", "complaint_status": 100},
        ),
        push(
            "channels_ec_complaint_update",
            finder_shop_complaint={"complaint_id": "9", "complaint_status": 112},
        ),
    ),
    (
        push("commkf_send_msg_to_kf", msg_id="7000001", text={"content": "在吗"}),
        push("commkf_send_msg_to_kf", msg_id="7000002", text={"content": "在吗"}),
    ),
    (
        push("channels_ec_coupon_use", coupon={"id": 1}),
        push("channels_ec_coupon_use", coupon={"id": 2}),
    ),
]


@pytest.mark.parametrize(("first", "later"), DEDUP_CASES, ids=[c[0]["Event"] for c in DEDUP_CASES])
def test_retries_share_a_dedup_key_and_later_changes_do_not(
    first: dict[str, Any], later: dict[str, Any]
) -> None:
    key = decode_channels_event(encode(first)).dedup_key()
    retry = decode_channels_event(encode(first)).dedup_key()
    assert key == retry
    assert decode_channels_event(encode(later)).dedup_key() != key


def test_dedup_key_does_not_depend_on_key_order_or_spacing_for_known_events() -> None:
    payload = push("channels_ec_order_pay", order_info={"order_id": ORDER_ID, "pay_time": 1})
    compact = json.dumps(payload, separators=(",", ":")).encode()
    reordered = json.dumps(dict(reversed(payload.items())), indent=2).encode()
    assert decode_channels_event(compact).dedup_key() == decode_channels_event(reordered).dedup_key()


# -- ids as JSON numbers ------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["3713995673005065728", "9999999999999999999", "1000000000000000001"])
def test_ids_sent_as_json_numbers_stay_exact_strings(number: str) -> None:
    body = (
        '{"Event":"channels_ec_aftersale_update","CreateTime":1700000000,'
        f'"finder_shop_aftersale_status_update":{{"after_sale_order_id":{number},"order_id":{number},'
        '"status":"MERCHANT_PROCESSING"}}'
    ).encode()
    decoded = decode_channels_event(body)
    assert isinstance(decoded, AfterSaleUpdateEvent)
    assert decoded.after_sale_order_id == number
    assert decoded.order_id == number
    assert number in decoded.dedup_key()


def test_order_id_as_number_and_as_string_give_one_dedup_key() -> None:
    as_string = push("channels_ec_order_pay", order_info={"order_id": ORDER_ID})
    as_number = push("channels_ec_order_pay", order_info={"order_id": int(ORDER_ID)})
    assert (
        decode_channels_event(encode(as_string)).dedup_key()
        == decode_channels_event(encode(as_number)).dedup_key()
    )


def test_commkf_msg_id_as_number_stays_exact() -> None:
    decoded = decode_channels_event(
        b'{"Event":"commkf_send_msg_to_kf","FromUserName":"o1","msg_id":7123456789012345678,"text":{"content":"x"}}'
    )
    assert isinstance(decoded, CommkfMessageEvent)
    assert decoded.message_id == "7123456789012345678"


def test_id_sent_as_a_float_is_refused() -> None:
    with pytest.raises(EventDecodeError):
        decode_channels_event(
            b'{"Event":"channels_ec_order_pay","order_info":{"order_id":3.713995673005066e18}}'
        )


# -- unknown and malformed ----------------------------------------------------------------------


def test_unknown_event_is_kept_not_refused() -> None:
    decoded = decode_channels_event(encode(push("channels_ec_brand_new_thing", whatever={"x": 1})))
    assert isinstance(decoded, UnknownEvent)
    assert decoded.kind == "unknown"
    assert decoded.Event == "channels_ec_brand_new_thing"
    assert decoded.dedup_key().startswith("channels_ec_brand_new_thing:1700000000:")


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"not json",
        b"[1, 2]",
        b'{"Event": 5}',
        b'{"Event": "channels_ec_order_pay"}',
        b'{"Event": "channels_ec_order_pay", "order_info": {"order_id": ""}}',
        b'{"Event": "channels_ec_order_pay", "order_info": "x"}',
        b'{"Event": "channels_ec_aftersale_update", "finder_shop_aftersale_status_update": {}}',
        b'{"Event": "channels_ec_complaint_update", "finder_shop_complaint": {"complaint_id": ""}}',
        b'{"Event": "commkf_send_msg_to_kf", "msg_id": "1"}',
        b'{"Event": "channels_ec_order_pay", "CreateTime": -1, "order_info": {"order_id": "1"}}',
    ],
)
def test_malformed_pushes_raise_event_decode_error(payload: bytes) -> None:
    with pytest.raises(EventDecodeError):
        decode_channels_event(payload)


# -- WeCom (XML) --------------------------------------------------------------------------------


def xml(**fields: str | int) -> bytes:
    children = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items())
    return f"<xml>{children}</xml>".encode()


def test_wecom_envelope_parses() -> None:
    envelope = parse_wecom_envelope(xml(ToUserName="ww_corp", AgentID="1000002", Encrypt="abc=="))
    assert (envelope.ToUserName, envelope.AgentID, envelope.Encrypt) == ("ww_corp", "1000002", "abc==")


def test_wecom_envelope_without_encrypt_is_refused() -> None:
    with pytest.raises(EventDecodeError):
        parse_wecom_envelope(xml(ToUserName="ww_corp"))


def test_kf_msg_or_event_decodes_with_its_token() -> None:
    decoded = decode_wecom_event(
        xml(
            ToUserName="ww_corp",
            CreateTime=1_700_000_000,
            MsgType="event",
            Event="kf_msg_or_event",
            Token="ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR",
            OpenKfId="wkABC",
        )
    )
    assert isinstance(decoded, KfMsgOrEvent)
    assert decoded.kind == "kf"
    assert (decoded.OpenKfId, decoded.Token, decoded.CreateTime) == (
        "wkABC",
        "ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR",
        1_700_000_000,
    )


def test_kf_callback_retry_shares_a_key_and_a_new_token_does_not() -> None:
    first = xml(Event="kf_msg_or_event", CreateTime=1, Token="T1", OpenKfId="wk1")
    later = xml(Event="kf_msg_or_event", CreateTime=2, Token="T2", OpenKfId="wk1")
    assert decode_wecom_event(first).dedup_key() == decode_wecom_event(first).dedup_key()
    assert decode_wecom_event(later).dedup_key() != decode_wecom_event(first).dedup_key()


def test_change_external_contact_decodes_with_state() -> None:
    decoded = decode_wecom_event(
        xml(
            ToUserName="ww_corp",
            FromUserName="sys",
            CreateTime=1_700_000_000,
            MsgType="event",
            Event="change_external_contact",
            ChangeType="add_external_contact",
            UserID="zhangsan",
            ExternalUserID="wmEXT",
            State="handoff-42",
            WelcomeCode="WELCOME",
        )
    )
    assert isinstance(decoded, ExternalContactEvent)
    assert decoded.kind == "contact"
    assert (decoded.UserID, decoded.ExternalUserID, decoded.State, decoded.WelcomeCode) == (
        "zhangsan",
        "wmEXT",
        "handoff-42",
        "WELCOME",
    )
    other = xml(
        Event="change_external_contact",
        ChangeType="del_follow_user",
        UserID="zhangsan",
        ExternalUserID="wmEXT",
    )
    assert decode_wecom_event(other).dedup_key() != decoded.dedup_key()


def test_unknown_wecom_event_is_kept() -> None:
    decoded = decode_wecom_event(
        xml(Event="change_contact", FromUserName="sys", CreateTime=5, ChangeType="x")
    )
    assert isinstance(decoded, UnknownWeComEvent)
    assert decoded.kind == "unknown"
    assert decoded.Event == "change_contact"
    assert decoded.dedup_key().startswith("change_contact:sys:5:")


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"<xml>",
        b"not xml",
        b"<xml><Event>kf_msg_or_event</Event><CreateTime>soon</CreateTime></xml>",
        b"<?xml version='1.0' encoding='no-such-codec'?><xml/>",
        b"<xml><CreateTime>99999999999999999999</CreateTime></xml>",
    ],
)
def test_malformed_wecom_callbacks_raise_event_decode_error(payload: bytes) -> None:
    with pytest.raises(EventDecodeError):
        decode_wecom_event(payload)


# -- fuzzing ------------------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
event_names = st.sampled_from([*CHANNELS_EVENTS, "unknown_event", ""])
event_objects = st.fixed_dictionaries(
    {"Event": event_names | json_values},
    optional={
        "CreateTime": json_values,
        "FromUserName": json_values,
        "order_info": st.fixed_dictionaries({"order_id": json_values}) | json_values,
        "ProductOrderStatusUpdate": st.fixed_dictionaries({"order_id": json_values, "status": json_values}),
        "finder_shop_aftersale_status_update": st.fixed_dictionaries(
            {"after_sale_order_id": json_values, "status": json_values}
        ),
        "finder_shop_complaint": st.fixed_dictionaries({"complaint_id": json_values}),
        "msg_id": json_values,
        "text": st.fixed_dictionaries({"content": json_values}) | json_values,
    },
)


def _decodes_or_refuses(payload: bytes) -> None:
    try:
        event = decode_channels_event(payload)
    except EventDecodeError:
        return
    assert isinstance(event.dedup_key(), str)


@settings(max_examples=300, deadline=None)
@given(st.binary())
def test_arbitrary_bytes_raise_only_event_decode_error(payload: bytes) -> None:
    _decodes_or_refuses(payload)


@settings(max_examples=400, deadline=None)
@given(event_objects)
def test_arbitrary_json_objects_raise_only_event_decode_error(obj: dict[str, Any]) -> None:
    _decodes_or_refuses(json.dumps(obj).encode())


@settings(max_examples=300, deadline=None)
@given(st.binary())
def test_arbitrary_bytes_as_wecom_raise_only_event_decode_error(payload: bytes) -> None:
    for decode in (decode_wecom_event, parse_wecom_envelope):
        with contextlib.suppress(EventDecodeError):
            decode(payload)


xml_tags = st.sampled_from(
    [
        "ToUserName",
        "FromUserName",
        "CreateTime",
        "MsgType",
        "Event",
        "Token",
        "OpenKfId",
        "ChangeType",
        "Encrypt",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        xml_tags, st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=30)
    ),
    st.sampled_from(["kf_msg_or_event", "change_external_contact", "other", None]),
)
def test_arbitrary_wecom_fields_raise_only_event_decode_error(
    fields: dict[str, str], event: str | None
) -> None:
    if event is not None:
        fields["Event"] = event
    body = "<xml>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields.items()) + "</xml>"
    try:
        decoded = decode_wecom_event(body.encode())
    except EventDecodeError:
        return
    assert isinstance(decoded.dedup_key(), str)
