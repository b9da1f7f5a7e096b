"""Credential checks: never crash, and accept exactly the documented set of values."""

from __future__ import annotations

import base64
import string

from hypothesis import given
from hypothesis import strategies as st

from desk.stores.validation import (
    check_aes_key,
    check_appid,
    check_corpid,
    check_name,
    check_push_token,
    check_secret,
)

ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
# Mostly ASCII with some of everything else, so hypothesis finds near-misses quickly.
anything = st.text(alphabet=st.one_of(st.sampled_from(ALNUM + "+/=_- \n"), st.characters()), max_size=80)


def is_alnum_ascii(value: str) -> bool:
    return all(c in ALNUM for c in value)


@given(anything)
def test_appid(value: str) -> None:
    valid = value.startswith("wx") and 10 <= len(value) <= 64 and is_alnum_ascii(value[2:])
    assert (check_appid(value) is None) == valid


@given(st.text(alphabet=ALNUM, min_size=8, max_size=62))
def test_appid_accepts_wx_and_letters_or_digits(tail: str) -> None:
    assert check_appid("wx" + tail) is None


@given(anything)
def test_corpid(value: str) -> None:
    valid = value[:2] in ("ww", "wx") and 10 <= len(value) <= 64 and is_alnum_ascii(value[2:])
    assert (check_corpid(value) is None) == valid


@given(anything)
def test_push_token(value: str) -> None:
    assert (check_push_token(value) is None) == (3 <= len(value) <= 32 and is_alnum_ascii(value))


@given(anything)
def test_aes_key(value: str) -> None:
    valid = len(value) == 43 and all(c in B64 for c in value)
    assert (check_aes_key(value) is None) == valid


@given(st.binary(min_size=32, max_size=32))
def test_every_32_byte_key_encoded_as_the_platform_does_is_accepted(key: bytes) -> None:
    assert check_aes_key(base64.b64encode(key).decode().rstrip("=")) is None


@given(anything)
def test_secret(value: str) -> None:
    valid = 1 <= len(value) <= 128 and all("!" <= c <= "~" for c in value)
    assert (check_secret(value) is None) == valid


@given(anything)
def test_name(value: str) -> None:
    assert (check_name(value) is None) == (1 <= len(value) <= 64 and value.isprintable())


def test_messages_name_the_problem() -> None:
    assert check_appid("").key == "form.required"
    assert check_appid("gh_123456789").key == "stores.error.appid_shape"
    assert check_aes_key("short").key == "stores.error.aes_key_shape"
    assert check_name("x" * 65).params == {"max": 64}
