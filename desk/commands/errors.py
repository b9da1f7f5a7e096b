"""What a platform errcode means, in words an agent or admin can act on.

A failed command keeps the platform's ``errcode`` and ``errmsg``; pages and the JSON API show
:func:`describe_error` beside the code. The meanings live in the message catalogue
(``desk/i18n/<lang>/errcodes.toml``, table ``[errcode]``, keyed by the code), so both languages
stay complete; a code the catalogue does not know is shown with the platform's own message.
"""

from __future__ import annotations

from desk.i18n import DEFAULT_LANGUAGE, Message, catalogue

__all__ = ["describe_error"]

_PREFIX = "errcode."


def describe_error(code: int | None, detail: str) -> Message:
    """The meaning of the platform's ``code`` (its ``errmsg`` or our own error text in ``detail``).

    Known codes get their catalogue text; an unknown code names itself and the platform's
    message; a failure without a code (the platform unreachable after every try, a bug) shows
    ``detail`` as it is.
    """
    if code is None:
        return Message(f"{_PREFIX}without_code", {"detail": detail.strip() or "?"})
    if f"{_PREFIX}{code}" in catalogue(DEFAULT_LANGUAGE):
        return Message(f"{_PREFIX}{code}")
    return Message(f"{_PREFIX}fallback", {"code": code, "detail": detail.strip() or "?"})
