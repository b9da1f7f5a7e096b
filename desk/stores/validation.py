"""What a store's or WeCom corp's credentials must look like before we store them.

Each check takes the value as typed (after surrounding whitespace is stripped) and returns the
problem as a :class:`~desk.i18n.Message`, or None when the value is acceptable. They never raise,
whatever the input: an admin pasting the wrong thing gets a message next to the field.
"""

from __future__ import annotations

import re

from desk.i18n import Message
from desk.platform.crypto import is_valid_aes_key

__all__ = [
    "MAX_NAME_LENGTH",
    "MAX_SECRET_LENGTH",
    "check_aes_key",
    "check_appid",
    "check_corpid",
    "check_name",
    "check_push_token",
    "check_secret",
]

MAX_NAME_LENGTH = 64
MAX_SECRET_LENGTH = 128
# Channels store appids are "wx" and 16 hex digits today; accept any letters and digits after
# "wx" (8 or more, within the column) so that a longer future format is not refused.
_APPID = re.compile(r"wx[0-9A-Za-z]{8,62}", re.ASCII)
# WeCom corpids start "ww" (and "wx" for older corps).
_CORPID = re.compile(r"w[wx][0-9A-Za-z]{8,62}", re.ASCII)
# The platform's own rule for the push Token: 3 to 32 letters or digits.
_PUSH_TOKEN = re.compile(r"[0-9A-Za-z]{3,32}", re.ASCII)
# Secrets are printable ASCII without spaces (what the platforms issue).
_SECRET = re.compile(r"[!-~]+", re.ASCII)


def check_name(value: str) -> Message | None:
    """Required, at most :data:`MAX_NAME_LENGTH` characters, no control characters."""
    if not value:
        return Message("form.required")
    if len(value) > MAX_NAME_LENGTH:
        return Message("form.too_long", {"max": MAX_NAME_LENGTH})
    if not value.isprintable():
        return Message("form.unprintable")
    return None


def check_appid(value: str) -> Message | None:
    """``wx`` followed by 8–62 ASCII letters or digits."""
    if not value:
        return Message("form.required")
    if not _APPID.fullmatch(value):
        return Message("stores.error.appid_shape")
    return None


def check_corpid(value: str) -> Message | None:
    """``ww`` or ``wx`` followed by 8–62 ASCII letters or digits."""
    if not value:
        return Message("form.required")
    if not _CORPID.fullmatch(value):
        return Message("stores.error.corpid_shape")
    return None


def check_secret(value: str) -> Message | None:
    """1–:data:`MAX_SECRET_LENGTH` printable ASCII characters without spaces."""
    if not value:
        return Message("form.required")
    if len(value) > MAX_SECRET_LENGTH or not _SECRET.fullmatch(value):
        return Message("stores.error.secret_shape")
    return None


def check_push_token(value: str) -> Message | None:
    """3–32 ASCII letters or digits (the platform refuses anything else)."""
    if not value:
        return Message("form.required")
    if not _PUSH_TOKEN.fullmatch(value):
        return Message("stores.error.token_shape")
    return None


def check_aes_key(value: str) -> Message | None:
    """Exactly 43 characters of base64 that decode to a 32-byte AES key."""
    if not value:
        return Message("form.required")
    if not is_valid_aes_key(value):
        return Message("stores.error.aes_key_shape")
    return None
