"""Known devices: a browser where a user signed in before carries a signed cookie saying so.

The login throttle lets such a browser past the back-off that failures from elsewhere put on the
account (OWASP's "device cookie"), so someone guessing a user's password cannot keep that user out
of their own desk. The cookie names the user it was earned for and a random device id, signed with
the secret key; it cannot be forged or moved to another account, and a stolen one gets its own
back-off. One cookie per user, so a browser shared by a shift of agents is known to each of them.
It is scoped to ``/login`` (the only place it is read) and outlives sessions and logouts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping

from litestar.datastructures import Cookie

__all__ = ["DEVICE_COOKIE_MAX_AGE", "DEVICE_COOKIE_PREFIX", "KnownDevices"]

DEVICE_COOKIE_PREFIX = "desk_device_"
DEVICE_COOKIE_MAX_AGE = 180 * 24 * 3600
_DEVICE_ID_BYTES = 16


class KnownDevices:
    """Issue and check known-device cookies with a key derived from the desk's secret key."""

    def __init__(self, secret_key: str, *, secure: bool = False) -> None:
        # A key of its own, so a signature made here means nothing anywhere else.
        self._key = hashlib.sha256(b"desk known-device cookie\x00" + secret_key.encode()).digest()
        self.secure = secure

    def _sign(self, *parts: str) -> str:
        return hmac.new(self._key, "\x00".join(parts).encode(), hashlib.sha256).hexdigest()

    def cookie_name(self, username: str) -> str:
        """The cookie for ``username`` (normalised); keyed, so it does not show who signed in here."""
        return DEVICE_COOKIE_PREFIX + self._sign("name", username)[:16]

    def device_id(self, cookies: Mapping[str, str], username: str) -> str | None:
        """The device id this browser was given for ``username``, or None if it has no valid one."""
        value = cookies.get(self.cookie_name(username), "")
        device_id, _, signature = value.partition(".")
        expected = self._sign("device", username, device_id)
        # As bytes: compare_digest refuses str with non-ASCII characters, which a cookie may carry.
        if not device_id or not hmac.compare_digest(signature.encode(), expected.encode()):
            return None
        return device_id

    def cookie(self, username: str, device_id: str | None) -> Cookie:
        """The cookie to (re)issue after ``username`` signed in: the same device id if the browser
        had one, else a new one; its lifetime starts again."""
        device_id = device_id or secrets.token_urlsafe(_DEVICE_ID_BYTES)
        return Cookie(
            key=self.cookie_name(username),
            value=f"{device_id}.{self._sign('device', username, device_id)}",
            max_age=DEVICE_COOKIE_MAX_AGE,
            path="/login",
            httponly=True,
            secure=self.secure,
            samesite="lax",
        )
