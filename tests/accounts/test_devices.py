"""Known-device cookies: issued per user, signed, and worth nothing when copied or altered."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from desk.accounts.devices import DEVICE_COOKIE_PREFIX, KnownDevices

devices = KnownDevices("a secret key for the tests " + "x" * 20)


def jar(cookie) -> dict[str, str]:
    return {cookie.key: cookie.value}


def test_a_browser_is_known_for_the_user_it_signed_in_as() -> None:
    cookie = devices.cookie("alice", None)
    device_id = devices.device_id(jar(cookie), "alice")
    assert device_id
    assert cookie.key.startswith(DEVICE_COOKIE_PREFIX)
    assert "alice" not in cookie.key  # the name does not say who signed in here
    # Signing in again keeps the id and renews the cookie.
    assert devices.device_id(jar(devices.cookie("alice", device_id)), "alice") == device_id


def test_a_cookie_is_worth_nothing_for_another_user_or_under_another_key() -> None:
    cookie = devices.cookie("alice", None)
    assert devices.device_id(jar(cookie), "bob") is None
    assert devices.device_id({devices.cookie_name("bob"): cookie.value}, "bob") is None
    assert KnownDevices("another key " + "y" * 30).device_id(jar(cookie), "alice") is None


@given(st.text(max_size=80))
def test_a_made_up_value_is_never_a_known_device(value: str) -> None:
    assert devices.device_id({devices.cookie_name("alice"): value}, "alice") is None


def test_the_cookie_is_for_the_login_page_only_and_long_lived() -> None:
    cookie = devices.cookie("alice", None)
    assert (cookie.path, cookie.httponly, cookie.samesite) == ("/login", True, "lax")
    assert cookie.max_age == 180 * 24 * 3600
    assert KnownDevices("k" * 40, secure=True).cookie("alice", None).secure
