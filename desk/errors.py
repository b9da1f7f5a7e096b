"""Bad input and failures as users see them: never a traceback.

Services refuse bad input with :class:`Invalid` (a message per form field, nothing saved), which
pages show inline and the CLI prints as one line. HTTP errors become JSON under ``/api`` and HTML
pages elsewhere; browsers that hit a page without a session are sent to the login page.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from desk.i18n import Message
from desk.secret_box import SecretError

__all__ = ["ForbiddenHere", "Invalid", "exception_handlers"]

log = logging.getLogger(__name__)


class Invalid(msgspec.Struct, frozen=True):
    """Input a service refused: one message per offending field. Nothing was saved."""

    errors: dict[str, Message]

    def one_line(self, names: Mapping[str, str] | None = None, language: str = "en") -> str:
        """The problems as one line for the CLI, each naming its field (or its CLI option)."""
        names = names or {}
        return "; ".join(
            f"{names.get(field, field)}: {message.render(language)}" for field, message in self.errors.items()
        )


class ForbiddenHere(PermissionDeniedException):
    """403 for a page the user may not open, with the page they work in: browsers are sent
    there (a warehouse user who types another address lands back on the scan page); the API
    answers 403."""

    def __init__(self, detail: str, *, elsewhere: str) -> None:
        super().__init__(detail=detail)
        self.elsewhere = elsewhere


_MESSAGE_KEYS = {
    400: "error.bad_request",
    403: "error.forbidden",
    404: "error.not_found",
    405: "error.not_found",
    413: "error.too_large",
    429: "error.too_many",
}


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    path = request.url.path
    return path in ("/healthz", "/schema") or path.startswith(("/api/", "/webhooks/", "/schema/"))


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
    if isinstance(exc, ForbiddenHere):
        if request.headers.get("hx-request"):
            return Response("", status_code=403, headers={"HX-Redirect": exc.elsewhere})
        return Redirect(exc.elsewhere)
    key = _MESSAGE_KEYS.get(status, "error.server" if status >= 500 else "error.bad_request")
    if status == 403 and "csrf" in str(exc.detail).lower():
        key = "error.csrf"
    elif isinstance(exc, _UnreadableSecretsError):
        key = "error.secret_key"
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


class _UnreadableSecretsError(HTTPException):
    status_code = HTTP_500_INTERNAL_SERVER_ERROR


def _unreadable_secret(request: Request[Any, Any, Any], exc: SecretError) -> Response[Any]:
    # An operator's mistake (DESK_SECRET_KEY changed or lost), not a bug: say so, without a traceback.
    log.error("%s %s: %s", request.method, request.url.path, exc)
    return _http_exception(request, _UnreadableSecretsError(detail=str(exc)))


exception_handlers: dict[type[Exception] | int, Any] = {
    HTTPException: _http_exception,
    SecretError: _unreadable_secret,
    HTTP_500_INTERNAL_SERVER_ERROR: _internal_error,
}
