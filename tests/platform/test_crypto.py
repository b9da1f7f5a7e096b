"""WXBizMsgCrypt: fixed vectors, round trips with wechatpy, every error code, fuzzing.

The literal vectors below were computed once with wechatpy (an independent implementation) using
a fixed 16-byte random prefix, so they catch a regression even if wechatpy changes or goes away.
"""

from __future__ import annotations

import base64
import contextlib
import struct
import xml.etree.ElementTree as ET

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto

from desk.platform.crypto import CryptoError, MsgCrypt, decode_aes_key, is_valid_aes_key, sign

# -- the Channels store (JSON body, receive-id = appid) -----------------------------------------
STORE_TOKEN = "desktoken"
STORE_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APPID = "wx1234567890abcdef"
STORE_MESSAGE = (
    '{"ToUserName":"gh_abc","FromUserName":"o_buyer","CreateTime":1700000000,"MsgType":"event",'
    '"Event":"channels_ec_order_pay","order_info":{"order_id":"3713995673005065728","pay_time":1700000000}}'
)
STORE_RANDOM = b"0123456789abcdef"
STORE_ENCRYPT = (
    "Q3stYC6hdFzMh9T8HCvyDILX3ZwECedF7muuWB/q+fE8QOxYYwVVvYumTyGBA+THl8fAUkrWgk09YD+7Xag6xwFSXTx+81wIfiDx2AkJ"
    "ofceFQKxpaFnsMwjpuyJjd214x+qIoxGZseEvu2WjF4wSD3eV47ISHRRoLEfs/TKlz2ZpV/Q9u0LepDhxnoGAmu8YOLXxnzlet9J7M7I"
    "7f7nBOXbmTayIRkTq3p5QvZdDTVqSqihrub2yGYqqjv74ay1UNztUAZ925AY7uEam9ceF4gDtt83euc9JsPSetTcFeJsFCQszZ9nzOnq"
    "UmsAyp/1aK+IPQujzZgxNK9FV9eUnw=="
)
STORE_MSG_SIGNATURE = "0206e227a49821e6cdcf215b4a88302acfd91a51"  # token, 1700000000, n0nce, Encrypt
STORE_PLAIN_SIGNATURE = "f6ffd94f83dd5abb33d49cfa0de013a322db66e0"  # token, 1700000000, n0nce

# -- WeCom (XML, receive-id = corpid) -----------------------------------------------------------
WECOM_TOKEN = "wecomtoken"
WECOM_AES_KEY = "QpRxVwU9zYk3LmN5bC7dE1fG2hJ4kL6mN8pQ0rS2tU4"
CORPID = "ww0123456789abcdef"
WECOM_RANDOM = b"fedcba9876543210"
WECOM_MESSAGE = (
    "<xml><ToUserName><![CDATA[ww0123456789abcdef]]></ToUserName><CreateTime>1700000000</CreateTime>"
    "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>"
    "<Token><![CDATA[ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR]]></Token>"
    "<OpenKfId><![CDATA[wkxxxxxxx]]></OpenKfId></xml>"
)
WECOM_ENCRYPT = (
    "xxvZCkOmdMuU3Tz2bZ7mWHr8SgOvLPXk+g205xypcSNcIv00VIVlVVKWdsZsx8kxFvTK24eFcHslFGZ5HJ6hNZSaoS2ZDH/fkmBuCDMI"
    "W/jjSOOLRRqsE3r3dxjkMieIxUTWXNyapm3QndNgeIaqmBg3brJ7CZb/cZb9o9Gw6758pgbygqEdBJ21NQxJ88LFX4RnnSilW3y5lc+K"
    "TgckHqyJrC8E0+Cpe9e8gEUjsBD1uztOCrHNS95cS2LpuwB4sK7XxL77CeJytyA3orFrg3yb6W5CkBYcnDvNzhOozy4cUJHJkns2f4i0"
    "apDvfIZbaKjuEqrwXkSt/Zop+ETh3CNsSwKyyNLW8kpUV/X2U3t13tRs2pM2WP612JwhO+4oaZtEuYyaGl3pmhO8XSD744RsglNoiKTm"
    "i3ZG123s2DHNBs0IF+Bv0pkepAwemHMIHOMIV/aIeGRc/pAEh452Hg=="
)
WECOM_MSG_SIGNATURE = "93546c59101785e53018ce6afd7f63658adf1ecb"  # token, 1700000001, abc123, Encrypt
# The URL check of a WeCom callback: decrypt echostr and answer its plaintext.
WECOM_ECHOSTR = "xxvZCkOmdMuU3Tz2bZ7mWFZCx99/VYAvyY0wK+o0InfbY3phjmL3vvAIYPCihITYhZomRvFMDMX6vjWqPcx0gA=="
WECOM_ECHOSTR_SIGNATURE = "b167376d1151c553f98d823d876537881e570717"  # token, 1700000002, xyz, echostr
WECOM_ECHO_PLAIN = "消息 echo 1234"


def store_crypt(receive_id: str | None = APPID) -> MsgCrypt:
    return MsgCrypt(STORE_TOKEN, STORE_AES_KEY, receive_id)


def wecom_crypt() -> MsgCrypt:
    return MsgCrypt(WECOM_TOKEN, WECOM_AES_KEY, CORPID)


def raw_ciphertext(key_b64: str, plain: bytes) -> str:
    """AES-CBC of ``plain`` (already block-aligned) under the scheme's key and IV, no padding added."""
    key = decode_aes_key(key_b64)
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def assert_code(exc_info: pytest.ExceptionInfo[CryptoError], code: int) -> None:
    assert exc_info.value.code == code, exc_info.value


# -- fixed vectors ------------------------------------------------------------------------------


def test_store_push_encrypts_to_the_known_vector() -> None:
    assert store_crypt().encrypt(STORE_MESSAGE, random16=STORE_RANDOM) == STORE_ENCRYPT


def test_store_push_vector_opens_with_its_msg_signature() -> None:
    opened = store_crypt().open(STORE_MSG_SIGNATURE, "1700000000", "n0nce", STORE_ENCRYPT)
    assert opened.decode() == STORE_MESSAGE


def test_signatures_match_the_known_vectors() -> None:
    crypt = store_crypt()
    assert crypt.signature("1700000000", "n0nce", STORE_ENCRYPT) == STORE_MSG_SIGNATURE
    assert crypt.signature("1700000000", "n0nce") == STORE_PLAIN_SIGNATURE
    assert sign(STORE_TOKEN, "1700000000", "n0nce") == STORE_PLAIN_SIGNATURE


def test_plain_signature_of_the_url_check_verifies() -> None:
    store_crypt().verify(STORE_PLAIN_SIGNATURE, "1700000000", "n0nce")
    store_crypt().verify(STORE_PLAIN_SIGNATURE.upper(), "1700000000", "n0nce")


def test_wecom_callback_encrypts_to_the_known_vector() -> None:
    assert wecom_crypt().encrypt(WECOM_MESSAGE, random16=WECOM_RANDOM) == WECOM_ENCRYPT


def test_wecom_callback_vector_opens_with_its_msg_signature() -> None:
    opened = wecom_crypt().open(WECOM_MSG_SIGNATURE, "1700000001", "abc123", WECOM_ENCRYPT)
    assert opened.decode() == WECOM_MESSAGE


def test_wecom_url_check_echostr_decrypts_to_its_plaintext() -> None:
    opened = wecom_crypt().open(WECOM_ECHOSTR_SIGNATURE, "1700000002", "xyz", WECOM_ECHOSTR)
    assert opened.decode() == WECOM_ECHO_PLAIN


def test_decrypt_reports_the_receive_id_it_was_addressed_to() -> None:
    message, receive_id = store_crypt(receive_id=None).decrypt(STORE_ENCRYPT)
    assert (message.decode(), receive_id) == (STORE_MESSAGE, APPID)


def test_aes_key_validation() -> None:
    assert is_valid_aes_key(STORE_AES_KEY)
    assert not is_valid_aes_key(STORE_AES_KEY[:-1])
    assert not is_valid_aes_key("!" * 43)
    assert len(decode_aes_key(WECOM_AES_KEY)) == 32


# -- round trips with wechatpy ------------------------------------------------------------------


def test_wechatpy_decrypts_what_we_seal_for_a_store() -> None:
    encrypt, signature = store_crypt().seal(STORE_MESSAGE, "1700000100", "nonceA")
    theirs = WeChatCrypto(STORE_TOKEN, STORE_AES_KEY, APPID)
    plain = theirs.decrypt_message({"Encrypt": encrypt}, signature, "1700000100", "nonceA")
    assert plain == STORE_MESSAGE


def test_we_open_what_wechatpy_encrypts_for_a_store() -> None:
    theirs = WeChatCrypto(STORE_TOKEN, STORE_AES_KEY, APPID)
    reply = ET.fromstring(theirs.encrypt_message(STORE_MESSAGE, "nonceB", "1700000200"))
    opened = store_crypt().open(
        reply.findtext("MsgSignature", ""), "1700000200", "nonceB", reply.findtext("Encrypt", "")
    )
    assert opened.decode() == STORE_MESSAGE


def test_wechatpy_wecom_decrypts_what_we_seal() -> None:
    encrypt, signature = wecom_crypt().seal(WECOM_MESSAGE, "1700000300", "nonceC")
    theirs = WeComCrypto(WECOM_TOKEN, WECOM_AES_KEY, CORPID)
    assert theirs.decrypt_message({"Encrypt": encrypt}, signature, "1700000300", "nonceC") == WECOM_MESSAGE


def test_we_open_what_wechatpy_wecom_encrypts() -> None:
    theirs = WeComCrypto(WECOM_TOKEN, WECOM_AES_KEY, CORPID)
    reply = ET.fromstring(theirs.encrypt_message("你好，客服", "nonceD", "1700000400"))
    opened = wecom_crypt().open(
        reply.findtext("MsgSignature", ""), "1700000400", "nonceD", reply.findtext("Encrypt", "")
    )
    assert opened.decode() == "你好，客服"


# -- every error path ---------------------------------------------------------------------------


def test_bad_signature_is_40001() -> None:
    with pytest.raises(CryptoError) as exc_info:
        store_crypt().open("0" * 40, "1700000000", "n0nce", STORE_ENCRYPT)
    assert_code(exc_info, -40001)


def test_signature_over_other_timestamp_is_40001() -> None:
    with pytest.raises(CryptoError) as exc_info:
        store_crypt().open(STORE_MSG_SIGNATURE, "1700000001", "n0nce", STORE_ENCRYPT)
    assert_code(exc_info, -40001)


@pytest.mark.parametrize(
    "aes_key",
    [STORE_AES_KEY[:-1], STORE_AES_KEY + "A", "!" * 43, ""],
    ids=["42-chars", "44-chars", "not-base64", "empty"],
)
def test_bad_aes_key_is_40004(aes_key: str) -> None:
    with pytest.raises(CryptoError) as exc_info:
        MsgCrypt(STORE_TOKEN, aes_key, APPID)
    assert_code(exc_info, -40004)


def test_message_for_another_app_is_40005() -> None:
    with pytest.raises(CryptoError) as exc_info:
        store_crypt(receive_id="wx_other_app").decrypt(STORE_ENCRYPT)
    assert_code(exc_info, -40005)


def test_bad_base64_is_40010() -> None:
    with pytest.raises(CryptoError) as exc_info:
        store_crypt().decrypt("this is not base64!")
    assert_code(exc_info, -40010)


@pytest.mark.parametrize("length", [0, 20, 33])
def test_ciphertext_not_a_whole_number_of_blocks_is_40007(length: int) -> None:
    with pytest.raises(CryptoError) as exc_info:
        store_crypt().decrypt(base64.b64encode(bytes(length)).decode())
    assert_code(exc_info, -40007)


@pytest.mark.parametrize("pad", [0, 33, 255])
def test_bad_padding_is_40008(pad: int) -> None:
    plain = b"\x01" * 63 + bytes([pad])
    with pytest.raises(CryptoError) as exc_info:
        store_crypt().decrypt(raw_ciphertext(STORE_AES_KEY, plain))
    assert_code(exc_info, -40008)


def test_padding_longer_than_the_content_is_40008() -> None:
    # 32 bytes with a valid-looking pad of 32 leave no room for the random prefix and length.
    with pytest.raises(CryptoError) as exc_info:
        store_crypt().decrypt(raw_ciphertext(STORE_AES_KEY, bytes([32]) * 32))
    assert_code(exc_info, -40008)


def test_length_field_beyond_the_buffer_is_40008() -> None:
    body = b"R" * 16 + struct.pack(">I", 10_000) + b"short" + APPID.encode()
    pad = 32 - len(body) % 32
    with pytest.raises(CryptoError) as exc_info:
        store_crypt().decrypt(raw_ciphertext(STORE_AES_KEY, body + bytes([pad]) * pad))
    assert_code(exc_info, -40008)


def test_receive_id_that_is_not_text_is_40008() -> None:
    body = b"R" * 16 + struct.pack(">I", 2) + b"hi" + b"\xff\xfe"
    pad = 32 - len(body) % 32
    with pytest.raises(CryptoError) as exc_info:
        store_crypt(receive_id=None).decrypt(raw_ciphertext(STORE_AES_KEY, body + bytes([pad]) * pad))
    assert_code(exc_info, -40008)


def test_message_encrypted_with_another_key_fails_cleanly() -> None:
    other = MsgCrypt(STORE_TOKEN, WECOM_AES_KEY, APPID)
    with pytest.raises(CryptoError) as exc_info:
        other.decrypt(STORE_ENCRYPT)
    assert exc_info.value.code in {-40005, -40008}


# -- fuzzing ------------------------------------------------------------------------------------

_CRYPT = store_crypt()
_CRYPT_ANY_ID = store_crypt(receive_id=None)
# Any str at all, lone surrogates included: query strings and bodies are attacker-controlled.
any_text = st.text(st.characters(exclude_categories=[]))


@settings(max_examples=300, deadline=None)
@given(st.one_of(any_text, st.binary()))
def test_decrypt_raises_only_crypto_error(data: str | bytes) -> None:
    # bytes too (the signature says str): a caller may hand over a raw body by mistake.
    with contextlib.suppress(CryptoError):
        _CRYPT_ANY_ID.decrypt(data)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=16, max_size=320).map(lambda b: b[: len(b) - len(b) % 16]))
def test_decrypting_arbitrary_blocks_raises_only_crypto_error(blocks: bytes) -> None:
    with contextlib.suppress(CryptoError):
        _CRYPT_ANY_ID.decrypt(base64.b64encode(blocks).decode())


@settings(max_examples=200, deadline=None)
@given(
    signature=any_text,
    timestamp=any_text,
    nonce=any_text,
    encrypt=st.one_of(any_text, st.just(STORE_ENCRYPT)),
)
def test_open_raises_only_crypto_error(signature: str, timestamp: str, nonce: str, encrypt: str) -> None:
    with contextlib.suppress(CryptoError):
        _CRYPT.open(signature, timestamp, nonce, encrypt)


@settings(max_examples=200, deadline=None)
@given(
    message=st.binary(max_size=2000),
    receive_id=st.text(max_size=40),
    random16=st.binary(min_size=16, max_size=16),
)
def test_encrypt_then_decrypt_round_trips(message: bytes, receive_id: str, random16: bytes) -> None:
    crypt = MsgCrypt("t", STORE_AES_KEY, receive_id)
    assert crypt.decrypt(crypt.encrypt(message, random16=random16)) == (message, receive_id)


@settings(max_examples=100, deadline=None)
@given(message=st.text(max_size=500), timestamp=st.text(min_size=1, max_size=12), nonce=st.text(max_size=12))
def test_seal_then_open_round_trips(message: str, timestamp: str, nonce: str) -> None:
    encrypt, signature = _CRYPT.seal(message, timestamp, nonce)
    assert _CRYPT.open(signature, timestamp, nonce, encrypt) == message.encode()
