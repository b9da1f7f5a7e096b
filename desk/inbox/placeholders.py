"""Placeholders in quick replies: ``{买家昵称}``, ``{订单号}`` … found, listed and filled.

A placeholder is a name of 1–20 letters, digits or underscores (Chinese characters are letters)
between braces, spaces around the name allowed. Full-width braces ``｛订单号｝`` count too: that is
what a Chinese input method types. Anything else in braces (``{^_^}``, ``{}``, a lone ``{``) is
plain text, so an emoticon never turns into an "unknown variable". Which names exist is the
business of :mod:`desk.inbox.reply_variables`; this module only reads the text and never raises.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping

import msgspec

__all__ = [
    "MAX_NAME_LENGTH",
    "Filled",
    "Literal",
    "Piece",
    "PieceKind",
    "Placeholder",
    "Segment",
    "fill",
    "parse",
    "placeholder_names",
]

MAX_NAME_LENGTH = 20

_PLACEHOLDER = re.compile(rf"[{{｛][ \t\u3000]*(\w{{1,{MAX_NAME_LENGTH}}})[ \t\u3000]*[}}｝]")


class Literal(msgspec.Struct, frozen=True):
    """Text sent as it is."""

    text: str


class Placeholder(msgspec.Struct, frozen=True):
    """A ``{name}`` to fill in; ``raw`` is how it was written (kept when there is no value)."""

    name: str
    raw: str


Segment = Literal | Placeholder


class PieceKind(enum.StrEnum):
    TEXT = "text"
    """As written."""
    VALUE = "value"
    """A variable's value."""
    MISSING = "missing"
    """A variable with no value, left as written."""


class Piece(msgspec.Struct, frozen=True):
    text: str
    kind: PieceKind


class Filled(msgspec.Struct, frozen=True, kw_only=True):
    """A text with its placeholders filled, and the pieces it was made of (for a preview)."""

    text: str
    pieces: list[Piece]
    missing: list[str]
    """Names without a value, each once, in order."""


def parse(text: str) -> list[Segment]:
    """``text`` cut into literal text and placeholders, in order; joining each segment's text
    (``raw`` for placeholders) gives ``text`` back. Empty literals are never produced."""
    segments: list[Segment] = []
    position = 0
    for match in _PLACEHOLDER.finditer(text):
        if match.start() > position:
            segments.append(Literal(text[position : match.start()]))
        segments.append(Placeholder(name=match.group(1), raw=match.group(0)))
        position = match.end()
    if position < len(text):
        segments.append(Literal(text[position:]))
    return segments


def placeholder_names(text: str) -> list[str]:
    """The names of the placeholders in ``text``, each once, in order of first appearance."""
    return list(dict.fromkeys(match.group(1) for match in _PLACEHOLDER.finditer(text)))


def fill(text: str, values: Mapping[str, str]) -> Filled:
    """``text`` with each placeholder replaced by its value, piece by piece.

    A placeholder whose name has no value (absent, or an empty string) stays as it was written, so
    the agent sees exactly what is missing rather than a gap in the sentence.
    """
    pieces: list[Piece] = []
    missing: list[str] = []
    for segment in parse(text):
        if isinstance(segment, Literal):
            pieces.append(Piece(segment.text, PieceKind.TEXT))
        elif value := values.get(segment.name):
            pieces.append(Piece(value, PieceKind.VALUE))
        else:
            pieces.append(Piece(segment.raw, PieceKind.MISSING))
            if segment.name not in missing:
                missing.append(segment.name)
    return Filled(text="".join(piece.text for piece in pieces), pieces=pieces, missing=missing)
