"""The push endpoints: handshakes, durable storage, and a clear 4xx for every kind of bad push."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import secrets
import struct
import time
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

import httpx
import hypothesis
import hypothesis.strategies as st
import msgspec
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from desk.app import create_app
from desk.clock import ManualClock as DeskClock
from desk.ingest.models import EventSource, EventState
from desk.platform.crypto import MsgCrypt
from desk.runtime import Runtime
from desk.simulator import ManualClock, Simulator, demo_store
from tests.conftest import TEST_AES_KEY, app_lifespan
from tests.ingest.conftest import (
    channels_push,
    commkf_event,
    corp_crypt,
    events,
    order_event,
    serve_app,
    store_crypt,
    wecom_push,
)

OTHER_AES_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"


# -- handshakes ---------------------------------------------------------------------------------


async def test_channels_handshake_echoes_echostr_when_signed(client, runtime, make_store) -> None:
    store = await make_store()
    crypt = store_crypt(runtime, store)
    query = {"signature": crypt.signature("123", "n1"), "timestamp": "123", "nonce": "n1", "echostr": "e-42"}
    r = await client.get(f"/webhooks/channels/{store.key}", params=query)
    assert r.status_code == 200
    assert r.text == "e-42"

    r = await client.get(f"/webhooks/channels/{store.key}", params={**query, "signature": "0" * 40})
    assert r.status_code == 401


async def test_wecom_handshake_answers_decrypted_echostr(client, runtime, make_corp) -> None:
    corp = await make_corp()
    crypt = corp_crypt(runtime, corp)
    echostr, msg_signature = crypt.seal("1234567890", "123", "n1")
    query = {"msg_signature": msg_signature, "timestamp": "123", "nonce": "n1", "echostr": echostr}
    r = await client.get(f"/webhooks/wecom/{corp.key}", params=query)
    assert r.status_code == 200
    assert r.text == "1234567890"

    r = await client.get(f"/webhooks/wecom/{corp.key}", params={**query, "nonce": "n2"})
    assert r.status_code == 401


# -- good pushes --------------------------------------------------------------------------------


async def test_push_is_stored_as_received_then_acknowledged(client, runtime, make_store) -> None:
    store = await make_store()
    message = msgspec.json.encode(commkf_event("o_buyer1", "m-1", "什么时候发货"))
    query, body = channels_push(store_crypt(runtime, store), message)

    r = await client.post(f"/webhooks/channels/{store.key}?{query}", content=body)

    assert r.status_code == 200
    assert r.text == "success"
    [event] = await events(runtime)
    assert event.store_id == store.id
    assert event.source == EventSource.CHANNELS
    assert event.event_type == "commkf_send_msg_to_kf"
    assert event.state == EventState.PENDING
    assert event.payload == message.decode()


async def test_same_push_five_times_is_stored_once(client, runtime, make_store) -> None:
    store = await make_store()
    query, body = channels_push(store_crypt(runtime, store), order_event("3700000000000000001"))
    for _ in range(5):
        r = await client.post(f"/webhooks/channels/{store.key}?{query}", content=body)
        assert r.status_code == 200
    assert len(await events(runtime)) == 1


async def test_same_event_in_two_stores_is_stored_for_each(client, runtime, make_store) -> None:
    first, second = await make_store(), await make_store()
    for store in (first, second):
        query, body = channels_push(store_crypt(runtime, store), order_event("3700000000000000001"))
        r = await client.post(f"/webhooks/channels/{store.key}?{query}", content=body)
        assert r.status_code == 200
    assert {e.store_id for e in await events(runtime)} == {first.id, second.id}


async def test_unknown_event_is_stored_not_refused(client, runtime, make_store) -> None:
    store = await make_store()
    new_event = {"ToUserName": "gh_test", "CreateTime": 1700000000, "Event": "channels_ec_brand_new", "x": 1}
    query, body = channels_push(store_crypt(runtime, store), new_event)

    r = await client.post(f"/webhooks/channels/{store.key}?{query}", content=body)

    assert r.status_code == 200
    [event] = await events(runtime)
    assert event.event_type == "channels_ec_brand_new"
    assert event.state == EventState.IGNORED
    assert msgspec.json.decode(event.payload)["x"] == 1


async def test_wecom_callbacks_are_stored_for_the_corp(client, runtime, make_corp) -> None:
    corp = await make_corp()
    crypt = corp_crypt(runtime, corp)
    kf = (
        f"<xml><ToUserName><![CDATA[{corp.corpid}]]></ToUserName><CreateTime>1700000000</CreateTime>"
        "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>"
        "<Token><![CDATA[tok-1]]></Token><OpenKfId><![CDATA[wk-1]]></OpenKfId></xml>"
    )
    contact = (
        f"<xml><ToUserName><![CDATA[{corp.corpid}]]></ToUserName><FromUserName>sys</FromUserName>"
        "<CreateTime>1700000001</CreateTime><MsgType>event</MsgType><Event>change_external_contact</Event>"
        "<ChangeType>add_external_contact</ChangeType><UserID>zhangsan</UserID>"
        "<ExternalUserID>wm-1</ExternalUserID><State>ho-1</State></xml>"
    )
    for xml in (kf, contact, kf):
        query, body = wecom_push(crypt, xml)
        r = await client.post(f"/webhooks/wecom/{corp.key}?{query}", content=body)
        assert r.status_code == 200
        assert r.text == ""

    stored = await events(runtime)
    assert [(e.event_type, e.state) for e in stored] == [
        ("kf_msg_or_event", EventState.PENDING),
        ("change_external_contact", EventState.PENDING),
    ]
    assert {(e.source, e.corp_id, e.store_id) for e in stored} == {(EventSource.WECOM, corp.id, None)}
    assert stored[0].payload == kf


# -- refusals: a clear 4xx, nothing stored ------------------------------------------------------


async def test_bad_signature_is_401(client, runtime, make_store) -> None:
    store = await make_store()
    query, body = channels_push(store_crypt(runtime, store), order_event("1"))
    tampered = query.replace("msg_signature=", "msg_signature=0")
    r = await client.post(f"/webhooks/channels/{store.key}?{tampered}", content=body)
    assert r.status_code == 401
    r = await client.post(f"/webhooks/channels/{store.key}", content=body)  # no query at all
    assert r.status_code == 401
    assert await events(runtime) == []


async def test_push_for_another_appid_is_400(client, runtime, make_store) -> None:
    store = await make_store()
    crypt = store_crypt(runtime, store)
    # Same token and key, but sealed for another receive-id: the signature verifies, the id does not.
    foreign = MsgCrypt(crypt.token, TEST_AES_KEY, "wx_someone_else")
    query, body = channels_push(foreign, order_event("1"))
    r = await client.post(f"/webhooks/channels/{store.key}?{query}", content=body)
    assert r.status_code == 400
    assert "receive-id" in r.json()["detail"]
    assert await events(runtime) == []


async def test_push_encrypted_with_another_key_is_400(client, runtime, make_store) -> None:
    store = await make_store()
    crypt = store_crypt(runtime, store)
    query, body = channels_push(MsgCrypt(crypt.token, OTHER_AES_KEY, store.appid), order_event("1"))
    r = await client.post(f"/webhooks/channels/{store.key}?{query}", content=body)
    assert r.status_code == 400
    assert await events(runtime) == []


async def test_body_over_one_megabyte_is_400(client, runtime, make_store) -> None:
    store = await make_store()
    query, _ = channels_push(store_crypt(runtime, store), order_event("1"))
    r = await client.post(f"/webhooks/channels/{store.key}?{query}", content=b"x" * (1024 * 1024 + 1))
    assert r.status_code == 400

    async def chunks():  # no Content-Length: the limit holds on the bytes actually received
        for _ in range(20):
            yield b"y" * 65536

    r = await client.post(f"/webhooks/channels/{store.key}?{query}", content=chunks())
    assert r.status_code == 400
    assert await events(runtime) == []


@pytest.mark.parametrize(
    "payload",
    [
        b"not json at all",
        b'{"Event": "channels_ec_order_pay", "CreateTime": 1}',  # an order event about no order
        b'{"Event": 42}',
        "\u201c中文\u201d".encode("gbk"),  # not UTF-8
    ],
)
async def test_decrypted_push_that_is_not_an_event_is_400(client, runtime, make_store, payload) -> None:
    store = await make_store()
    query, body = channels_push(store_crypt(runtime, store), payload)
    r = await client.post(f"/webhooks/channels/{store.key}?{query}", content=body)
    assert r.status_code == 400
    assert await events(runtime) == []


async def test_unknown_store_key_is_404(client, runtime, make_store) -> None:
    store = await make_store()
    query, body = channels_push(store_crypt(runtime, store), order_event("1"))
    r = await client.post(f"/webhooks/channels/{secrets.token_hex(8)}?{query}", content=body)
    assert r.status_code == 404
    assert await events(runtime) == []


async def test_a_deactivated_store_refuses_pushes_like_an_unknown_url(client, runtime, make_store) -> None:
    store = await make_store(is_active=False)
    query, body = channels_push(store_crypt(runtime, store), order_event("1"))
    r = await client.post(f"/webhooks/channels/{store.key}?{query}", content=body)
    assert r.status_code == 404
    assert await events(runtime) == []


async def test_wecom_push_for_another_corp_is_400(client, runtime, make_corp) -> None:
    corp = await make_corp()
    crypt = corp_crypt(runtime, corp)
    foreign = MsgCrypt(crypt.token, TEST_AES_KEY, "ww_other")
    query, body = wecom_push(foreign, "<xml><Event>kf_msg_or_event</Event><Token>t</Token></xml>")
    r = await client.post(f"/webhooks/wecom/{corp.key}?{query}", content=body)
    assert r.status_code == 400
    r = await client.post(f"/webhooks/wecom/{corp.key}?{query}", content=b"<xml><oops")
    assert r.status_code == 400
    assert await events(runtime) == []


async def test_refusals_are_logged_with_reason_and_without_secrets(
    client, runtime, make_store, caplog
) -> None:
    store = await make_store()
    query, body = channels_push(store_crypt(runtime, store), order_event("1"))
    tampered = query.replace("msg_signature=", "msg_signature=0")
    with caplog.at_level("WARNING", logger="desk.ingest.webhooks"):
        await client.post(f"/webhooks/channels/{store.key}?{tampered}", content=body)
    [record] = [r for r in caplog.records if r.name == "desk.ingest.webhooks"]
    text = record.getMessage()
    assert store.key in text
    assert "signature" in text
    assert runtime.secrets.decrypt(store.token_enc) not in text
    assert TEST_AES_KEY not in text


# -- pushes too old or from the future: refused, so a captured push cannot be replayed ----------


class _SharedClock(DeskClock):
    """The desk's clock following the simulator's ``ManualClock`` (seconds since the epoch)."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__()
        self._follow = clock

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self._follow(), dt.UTC)


@contextlib.asynccontextmanager
async def desk_at(runtime: Runtime, clock: ManualClock):
    """The desk over the test database, its push checks reading ``clock``."""
    app = create_app(runtime=runtime)
    previous, runtime.clock = runtime.clock, _SharedClock(clock)
    try:
        async with (
            app_lifespan(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
        ):
            yield client
    finally:
        runtime.clock = previous


async def test_a_captured_push_replayed_an_hour_later_is_refused(runtime, make_store, make_corp) -> None:
    store, corp = await make_store(), await make_corp()
    clock = ManualClock(start=float(int(time.time())))
    # What an eavesdropper captured: pushes the platform signed now (one was delivered, one not).
    delivered = channels_push(store_crypt(runtime, store), order_event("3700000000000000001"), at=clock())
    captured = channels_push(store_crypt(runtime, store), order_event("3700000000000000002"), at=clock())
    kf = "<xml><ToUserName>{}</ToUserName><CreateTime>1</CreateTime><MsgType>event</MsgType>"
    kf += "<Event>kf_msg_or_event</Event><Token>t-1</Token><OpenKfId>wk-1</OpenKfId></xml>"
    captured_wecom = wecom_push(corp_crypt(runtime, corp), kf.format(corp.corpid), at=clock())

    async with desk_at(runtime, clock) as client:
        query, body = delivered
        assert (await client.post(f"/webhooks/channels/{store.key}?{query}", content=body)).status_code == 200
        clock.advance(3600)
        for url, (query, body) in (
            (f"/webhooks/channels/{store.key}", captured),
            (f"/webhooks/channels/{store.key}", delivered),
            (f"/webhooks/wecom/{corp.key}", captured_wecom),
        ):
            r = await client.post(f"{url}?{query}", content=body)
            assert r.status_code == 401
            assert "3600 s old" in r.json()["detail"]
            assert "DESK_PUSH_MAX_SKEW" in r.json()["detail"]
        # The store still takes pushes signed at the (new) current time.
        query, body = channels_push(
            store_crypt(runtime, store), order_event("3700000000000000003"), at=clock()
        )
        assert (await client.post(f"/webhooks/channels/{store.key}?{query}", content=body)).status_code == 200

    stored = [msgspec.json.decode(e.payload)["order_info"]["order_id"] for e in await events(runtime)]
    assert stored == ["3700000000000000001", "3700000000000000003"]


@pytest.mark.parametrize(
    ("offset", "status"),
    [(-3600, 401), (-301, 401), (-300, 200), (0, 200), (300, 200), (301, 401), (86400 * 365, 401)],
)
async def test_pushes_within_five_minutes_either_way_are_taken(runtime, make_store, offset, status) -> None:
    store = await make_store()
    clock = ManualClock(start=float(int(time.time())))
    query, body = channels_push(
        store_crypt(runtime, store), order_event("3700000000000000001"), at=clock() + offset
    )
    async with desk_at(runtime, clock) as client:
        r = await client.post(f"/webhooks/channels/{store.key}?{query}", content=body)
    assert r.status_code == status
    assert len(await events(runtime)) == (1 if status == 200 else 0)
    if offset > 0 and status == 401:
        assert "in the future" in r.json()["detail"]


async def test_the_allowed_skew_is_a_setting(settings, make_store) -> None:
    strict = Runtime(settings.with_changes(push_max_skew=60))
    try:
        store = await make_store()
        crypt = store_crypt(strict, store)
        clock = ManualClock(start=float(int(time.time())))
        async with desk_at(strict, clock) as client:
            for age, status in ((59, 200), (61, 401)):
                query, body = channels_push(crypt, order_event(f"37000000000000000{age}"), at=clock() - age)
                r = await client.post(f"/webhooks/channels/{store.key}?{query}", content=body)
                assert r.status_code == status
    finally:
        await strict.stop()


async def test_a_timestamp_that_is_not_unix_seconds_is_400(client, runtime, make_store) -> None:
    store = await make_store()
    crypt = store_crypt(runtime, store)
    for timestamp in ("", "soon", "-5", "1.5e9", " 1700000000", "１７００"):
        encrypt, msg_signature = crypt.seal(msgspec.json.encode(order_event("1")), timestamp, "n1")
        query = {"msg_signature": msg_signature, "timestamp": timestamp, "nonce": "n1"}
        body = msgspec.json.encode({"ToUserName": "gh", "Encrypt": encrypt})
        r = await client.post(f"/webhooks/channels/{store.key}", params=query, content=body)
        assert r.status_code == 400, timestamp
        assert "Unix seconds" in r.json()["detail"]
    assert await events(runtime) == []


async def test_a_simulator_whose_clock_moved_on_still_delivers(app, runtime, make_store) -> None:
    """The simulated clock may run hours ahead (tests expire tokens that way); pushes are signed
    with the real time, so the desk still takes them."""
    clock = ManualClock(start=time.time() + 2 * 3600)
    sim = Simulator(seed=5, time_scale=0.001, clock=clock)
    async with serve_app(app) as desk_url:
        key = secrets.token_hex(8)
        config = sim.add_store(demo_store(1, push_url=f"{desk_url}/webhooks/channels/{key}", seed=5))
        await make_store(
            key=key, appid=config.appid, appsecret=config.secret, token=config.token, aes_key=config.aes_key
        )
        async with sim.serving():
            order = sim.create_order(config.appid)
            await sim.drain(30)
    attempts = sim.push_log
    assert attempts
    assert all(a.acked and a.http_status == 200 for a in attempts)
    stored = [msgspec.json.decode(e.payload) for e in await events(runtime)]
    assert {e["CreateTime"] for e in stored} == {int(clock())}  # the event itself keeps simulated time
    assert all(order.order_id in e.payload for e in await events(runtime))


# -- the database is down: 503, so the platform retries -----------------------------------------


async def test_database_unavailable_is_503(settings, runtime, make_store) -> None:
    store = await make_store()
    query, body = channels_push(store_crypt(runtime, store), order_event("1"))
    down = Runtime(settings.with_changes(database_url="postgresql+asyncpg://desk@127.0.0.1:1/nowhere"))
    app = create_app(runtime=down)
    try:
        async with (
            app_lifespan(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
        ):
            r = await client.post(f"/webhooks/channels/{store.key}?{query}", content=body)
    finally:
        await down.stop()
    assert r.status_code == 503
    assert await events(runtime) == []


# -- fuzzing: whatever arrives, never a 5xx and nothing stored -----------------------------------

FUZZ = hypothesis.settings(
    max_examples=120,
    deadline=None,
    # The client, store and corp are reused by every example on purpose.
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
QUERY_NAMES = st.sampled_from(["msg_signature", "signature", "timestamp", "nonce", "encrypt_type", "echostr"])
queries = st.dictionaries(QUERY_NAMES, st.text(max_size=60))


def _raw_seal(crypt: MsgCrypt, plain: bytes) -> str:
    """AES-CBC of ``plain`` exactly as given (no padding added): to forge broken plaintexts."""
    encryptor = Cipher(algorithms.AES(crypt.key), modes.CBC(crypt.key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def _as_parsed(xml: bytes) -> str:
    """The Encrypt value as an XML parser reads it (line ends normalised), to sign exactly that."""
    try:
        return (ET.fromstring(xml).findtext("Encrypt") or "").strip()
    except ET.ParseError:
        return ""


def _signed(crypt: MsgCrypt, encrypt: str) -> dict[str, str]:
    timestamp = str(int(time.time()))  # fresh, so that decryption is what gets tested
    return {"msg_signature": crypt.signature(timestamp, "n", encrypt), "timestamp": timestamp, "nonce": "n"}


# A plaintext as the platform builds it, with each part possibly wrong.
forged_plaintexts = st.builds(
    lambda random16, length, message, receive_id, pad_byte, pad_count: (
        random16,
        length,
        message,
        receive_id,
        pad_byte,
        pad_count,
    ),
    st.binary(min_size=0, max_size=20),
    st.one_of(st.integers(0, 2**32 - 1), st.none()),  # None: the true length
    st.binary(max_size=300).map(lambda b: b"\xff" + b),  # never a valid JSON or XML event
    st.one_of(st.just("<appid>"), st.just(""), st.text(max_size=40)),
    st.integers(0, 255),
    st.integers(0, 40),
)


def _forge(crypt: MsgCrypt, parts: tuple) -> str:
    random16, length, message, receive_id, pad_byte, pad_count = parts
    rid = (crypt.receive_id if receive_id == "<appid>" else receive_id).encode()
    plain = random16 + struct.pack(">I", len(message) if length is None else length) + message + rid
    plain += bytes([pad_byte]) * pad_count
    plain += bytes([pad_byte]) * (-len(plain) % 16)
    return _raw_seal(crypt, plain)


@pytest.fixture
async def fuzz_targets(runtime, make_store, make_corp):
    store, corp = await make_store(), await make_corp()
    return store, store_crypt(runtime, store), corp, corp_crypt(runtime, corp)


@FUZZ
@hypothesis.given(body=st.binary(max_size=4096), query=queries, wecom=st.booleans())
async def test_fuzz_random_bodies(client, runtime, fuzz_targets, body, query, wecom) -> None:
    store, _, corp, _ = fuzz_targets
    url = f"/webhooks/wecom/{corp.key}" if wecom else f"/webhooks/channels/{store.key}"
    r = await client.post(url, params=query, content=body)
    assert 400 <= r.status_code < 500
    assert await events(runtime) == []


@FUZZ
@hypothesis.given(
    encrypt=st.text(max_size=400) | st.binary(max_size=300).map(lambda b: base64.b64encode(b).decode())
)
async def test_fuzz_signed_garbage_ciphertext(client, runtime, fuzz_targets, encrypt) -> None:
    store, crypt, corp, wecom_crypt = fuzz_targets
    body = msgspec.json.encode({"ToUserName": "gh", "Encrypt": encrypt})
    r = await client.post(f"/webhooks/channels/{store.key}", params=_signed(crypt, encrypt), content=body)
    assert r.status_code == 400
    xml = f"<xml><Encrypt>{escape(encrypt)}</Encrypt></xml>".encode()
    r = await client.post(
        f"/webhooks/wecom/{corp.key}", params=_signed(wecom_crypt, _as_parsed(xml)), content=xml
    )
    assert r.status_code == 400
    assert await events(runtime) == []


@FUZZ
@hypothesis.given(parts=forged_plaintexts)
async def test_fuzz_forged_plaintexts(client, runtime, fuzz_targets, parts) -> None:
    """Bad padding, lengths past the buffer, wrong or missing receive-ids, non-event messages."""
    store, crypt, corp, wecom_crypt = fuzz_targets
    encrypt = _forge(crypt, parts)
    body = msgspec.json.encode({"ToUserName": "gh", "Encrypt": encrypt})
    r = await client.post(f"/webhooks/channels/{store.key}", params=_signed(crypt, encrypt), content=body)
    assert r.status_code == 400
    encrypt = _forge(wecom_crypt, parts)
    xml = f"<xml><Encrypt>{encrypt}</Encrypt></xml>".encode()
    r = await client.post(f"/webhooks/wecom/{corp.key}", params=_signed(wecom_crypt, encrypt), content=xml)
    assert r.status_code == 400
    assert await events(runtime) == []
