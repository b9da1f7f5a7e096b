"""What the JSON API controllers (``/api/v1``) share: the reader's language and refusals as JSON.

A service's refusal (:class:`~desk.errors.Invalid`) becomes an HTTP error whose body has the
shape of every other API error (``{"status_code", "detail", "extra"}``, see :mod:`desk.errors`):
``detail`` says it in one line, ``extra`` lists each field with its message and the message's
catalogue key (stable, for programs to branch on). Texts follow the request's
``Accept-Language``, then the token user's language, then ``DESK_LANGUAGE``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import HTTPException
from litestar.status_codes import HTTP_404_NOT_FOUND, HTTP_409_CONFLICT, HTTP_422_UNPROCESSABLE_ENTITY

from desk.errors import Invalid
from desk.i18n import negotiate

__all__ = ["CONFLICT_CODES", "ApiErrorOut", "FieldErrorOut", "action_refusal", "api_language", "refusal"]


class FieldErrorOut(msgspec.Struct, kw_only=True):
    key: str
    """The offending field (as in Litestar's own validation errors)."""
    message: str
    code: str = ""
    """The message's catalogue key, e.g. ``inbox.reply.error.window_closed``."""


class ApiErrorOut(msgspec.Struct, kw_only=True):
    """The body of every API error (for the OpenAPI schema)."""

    status_code: int
    detail: str
    extra: list[FieldErrorOut] | None = None


def api_language(request: Request[Any, Any, Any]) -> str:
    """The language API texts are rendered in."""
    user = request.scope.get("user")
    return negotiate(
        request.headers.get("accept-language"),
        getattr(user, "language", None),
        default=request.app.state.runtime.settings.language,
    )


def refusal(
    invalid: Invalid,
    language: str,
    statuses: Mapping[str, int] | None = None,
    default: int = HTTP_422_UNPROCESSABLE_ENTITY,
) -> HTTPException:
    """The HTTP error to raise for ``invalid``: the status of the first field ``statuses`` names
    (e.g. a conflict on ``assignee`` is 409), else ``default``."""
    statuses = statuses or {}
    status = next((statuses[field] for field in invalid.errors if field in statuses), default)
    return HTTPException(
        status_code=status,
        detail=invalid.one_line(language=language),
        extra=[
            msgspec.to_builtins(FieldErrorOut(key=field, message=message.render(language), code=message.key))
            for field, message in invalid.errors.items()
        ],
    )


# Refusals of actions (after-sale decisions, order actions) by what they mean: the subject is
# not among the caller's (404), the subject's state or a colleague got there first (409), the
# input itself (422, the default).
_NOT_FOUND_SUFFIX = ".not_found"
CONFLICT_CODES = frozenset(
    {
        "aftersales.error.already_handled",
        "aftersales.error.wrong_status",
        "aftersales.error.not_interceptable",
        "aftersales.error.not_shipped",
        "aftersales.error.interception_closed",
        "aftersales.interception.no_interception",
        "orders.error.no_address_change",
        "orders.api.request_key_used",
    }
)


def action_refusal(invalid: Invalid, language: str) -> HTTPException:
    """The HTTP error for a refused action: 404, 409 or 422 by the first message's meaning."""
    codes = [message.key for message in invalid.errors.values()]
    if any(code.endswith(_NOT_FOUND_SUFFIX) for code in codes):
        return refusal(invalid, language, default=HTTP_404_NOT_FOUND)
    if any(code in CONFLICT_CODES for code in codes):
        return refusal(invalid, language, default=HTTP_409_CONFLICT)
    return refusal(invalid, language)
