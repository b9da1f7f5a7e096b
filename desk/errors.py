"""Error responses: JSON under ``/api``, HTML pages elsewhere, and never a traceback to a user.

Browsers that hit a page without a session are sent to the login page; API clients get 401 JSON.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

__all__ = ["exception_handlers"]

log = logging.getLogger(__name__)

_MESSAGE_KEYS = {
    400: "error.bad_request",
    403: "error.forbidden",
    404: "error.not_found",
    405: "error.not_found",
    429: "error.too_many",
}


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    path = request.url.path
    return path.startswith(("/api/", "/webhooks/", "/healthz", "/schema"))


def _http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if _wants_json(request):
        body: dict[str, Any] = {"status_code": status, "detail": exc.detail}
        if exc.extra:
            body["extra"] = exc.extra
        return Response(body, status_code=status, media_type=MediaType.JSON, headers=exc.headers)
    if isinstance(exc, NotAuthorizedException):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        login = f"/login?next={quote(target, safe='')}"
        if request.headers.get("hx-request"):
            # htmx follows HX-Redirect with a full page load instead of swapping a login form in.
            return Response("", status_code=401, headers={"HX-Redirect": login})
        return Redirect(login)
    key = _MESSAGE_KEYS.get(status, "error.server" if status >= 500 else "error.bad_request")
    if status == 403 and "csrf" in str(exc.detail).lower():
        key = "error.csrf"
    return Template(
        "errors/error.html",
        context={"status": status, "message_key": key},
        status_code=status,
        headers=exc.headers,
    )


def _internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _http_exception(
        request, HTTPException(status_code=HTTP_500_INTERNAL_SERVER_ERROR, detail="internal server error")
    )


exception_handlers: dict[type[Exception] | int, Any] = {
    HTTPException: _http_exception,
    HTTP_500_INTERNAL_SERVER_ERROR: _internal_error,
}
