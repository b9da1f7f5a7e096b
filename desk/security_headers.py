"""Security headers on every response the desk sends: pages, API, webhooks, errors, static files.

* ``Content-Security-Policy``: scripts, styles, fonts and connections from the desk itself only
  (htmx and Swagger UI are vendored under ``/static``); no inline script or style, no plugins,
  no ``<base>``, forms post only here, and no site may frame the desk (clickjacking).
* ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: same-origin``.
* ``Cache-Control: no-store`` on everything but ``/static/``: pages show buyers' orders and
  carry CSRF tokens, and a shared or back-button cache must not keep them.
* ``Strict-Transport-Security`` when ``DESK_COOKIE_SECURE`` says the desk is served over HTTPS.

A header the response already set (a handler choosing its own ``Cache-Control``) is kept.

This is a *before send* hook of the whole app rather than a route middleware: Litestar runs route
middleware only for requests that matched a route, and the 404 and 405 answers of its router
must carry the headers too. It precomputes the header list, so the push path pays for one scan of
its two response headers.
"""

from __future__ import annotations

from litestar.types import Message, Scope

__all__ = ["CONTENT_SECURITY_POLICY", "HSTS", "SecurityHeaders"]

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        # Swagger UI's icons are data: SVGs in its stylesheet; buyers' images come from the
        # platform's own storage over https (an image cannot run script).
        "img-src 'self' data: https:",
        "font-src 'self'",
        "connect-src 'self'",  # htmx requests and the live updates' EventSource
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HSTS = "max-age=31536000; includeSubDomains"
"""A year, the usual value; only ever sent when the desk says it is served over HTTPS."""

_STATIC_PREFIX = "/static/"


class SecurityHeaders:
    """Adds the desk's security headers to each ``http.response.start`` (a Litestar before-send hook)."""

    def __init__(self, *, https: bool) -> None:
        common = [
            (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
        ]
        if https:
            common.append((b"strict-transport-security", HSTS.encode()))
        self._static = tuple(common)
        self._dynamic = (*common, (b"cache-control", b"no-store"))

    async def __call__(self, message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = list(message.get("headers") or ())
        present = {name.lower() for name, _ in headers}
        wanted = self._static if scope["path"].startswith(_STATIC_PREFIX) else self._dynamic
        headers.extend(header for header in wanted if header[0] not in present)
        message["headers"] = headers
