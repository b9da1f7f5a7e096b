"""Cookies sent over https are marked ``Secure``, whoever set them.

``DESK_COOKIE_SECURE`` marks every cookie ``Secure`` for sites that are only ever reached over
https. Without it, a request that came over https — directly, or through a trusted proxy that says
so (:mod:`desk.proxies`) — still gets ``Secure`` cookies, so a session started over https is never
sent back over plain http. Doing it here, on the way out, covers every cookie (session, CSRF,
language, known device) without each of them knowing about proxies.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SecureCookiesMiddleware"]


def _with_secure(cookie: str) -> str:
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    return cookie if "secure" in attributes else f"{cookie}; Secure"


class SecureCookiesMiddleware:
    """Add ``Secure`` to every ``Set-Cookie`` of a response to an https request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope.get("scheme") != "https":
            await self.app(scope, receive, send)
            return

        async def send_secure(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                cookies = headers.getall("set-cookie", [])
                if cookies:
                    del headers["set-cookie"]
                    for cookie in cookies:
                        headers.add("set-cookie", _with_secure(cookie))
            await send(message)

        await self.app(scope, receive, send_secure)
