"""Errors of the platform clients: the platform said no, or could not be reached.

Two families, because callers treat them differently:

* :class:`PlatformError` — the platform answered and refused (``errcode`` ≠ 0). Retrying the
  same call will not help (the client already retried the cases where it does); show the
  ``errmsg`` to a person and log ``rid`` for Tencent support.
* :class:`PlatformUnavailableError` — no usable answer: a network error, a timeout, an HTTP 5xx or
  a reply that is not the platform's JSON, after the client's own retries. For calls that move
  money the client does not retry these at all, so the outcome is *unknown*: re-read the object
  before deciding to try again.
"""

from __future__ import annotations

import re

__all__ = [
    "CredentialError",
    "PlatformBusyError",
    "PlatformError",
    "PlatformUnavailableError",
    "TokenError",
    "parse_rid",
]

_RID = re.compile(r"\brid:\s*(\S+)\s*$")


def parse_rid(errmsg: str) -> str:
    """The request id at the end of an ``errmsg`` (``"invalid credential rid: 64f1-…"``), or ``""``."""
    match = _RID.search(errmsg)
    return match.group(1) if match else ""


class PlatformError(Exception):
    """The platform answered with ``errcode`` ≠ 0.

    Attributes:
        errcode: the platform's error code (see spec §1, §3, §6B).
        errmsg: the platform's message, including its trailing ``rid: …``.
        rid: the request id parsed from ``errmsg`` (quote it to Tencent support), or ``""``.
        path: the API path that failed, e.g. ``aftersale/acceptapply`` (never the token).
    """

    def __init__(self, errcode: int, errmsg: str = "", *, path: str = "") -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        self.rid = parse_rid(errmsg)
        self.path = path
        super().__init__(f"{path or 'platform'}: errcode {errcode}: {errmsg}")


class TokenError(PlatformError):
    """The access token was refused again right after a forced refresh (40001/40014/42001/41001)."""


class CredentialError(PlatformError):
    """The token endpoint refused the app's credentials: wrong appid/corpid or secret, or the
    caller's IP is not on the app's whitelist (40013, 40125, 40001, 61004, 45035…). An admin must
    fix the store's or corp's settings; retrying cannot help."""


class PlatformBusyError(PlatformError):
    """The platform kept answering "busy, try later" (-1, 10021044) through every retry."""


class PlatformUnavailableError(Exception):
    """No usable answer from the platform after the client's retries.

    Attributes:
        path: the API path that was called.
        status_code: the HTTP status when there was a response (5xx, or an unexpected status),
            else ``None`` (connection error, timeout).
    """

    def __init__(self, path: str, reason: str, *, status_code: int | None = None) -> None:
        self.path = path
        self.reason = reason
        self.status_code = status_code
        super().__init__(f"{path}: {reason}")
