"""UI text: one message catalogue per language, Simplified Chinese first.

A language's catalogue is every ``desk/i18n/<lang>/<domain>.toml`` file merged, so each domain
keeps its own texts. Templates call ``t("nav.inbox")``; Python code that produces user-facing
text (form errors, flash messages) calls :func:`translate`. Keys are dotted paths into the TOML
tables; ``{name}`` placeholders are filled from keyword arguments.

A message that depends on a number is a table of plural forms, keyed by the language's CLDR
plural categories and chosen by the ``count`` argument: English needs ``one`` and ``other``
(``messages = { one = "{count} message", other = "{count} messages" }``), Chinese only
``other`` (a plain string is its only form).
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import msgspec

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "PLURAL_CATEGORIES",
    "Message",
    "Text",
    "catalogue",
    "negotiate",
    "plural_category",
    "translate",
]

LANGUAGES: dict[str, str] = {"zh-CN": "简体中文", "en": "English"}
DEFAULT_LANGUAGE = "zh-CN"
PLURAL_CATEGORIES = frozenset({"zero", "one", "two", "few", "many", "other"})
_DIR = Path(__file__).parent
log = logging.getLogger(__name__)

Text = str | dict[str, str]
"""A catalogue entry: the text, or its plural forms by category."""


def plural_category(language: str, count: int) -> str:
    """The CLDR plural category of an integer ``count`` in ``language``.

    English: ``one`` for 1, else ``other``; Chinese has no plural forms (always ``other``).
    """
    if language == "en" and count == 1:
        return "one"
    return "other"


def _is_plural(table: Mapping[str, Any]) -> bool:
    return (
        "other" in table
        and set(table) <= PLURAL_CATEGORIES
        and all(isinstance(v, str) for v in table.values())
    )


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Text]:
    flat: dict[str, Text] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and _is_plural(value):
            flat[name] = dict(value)
        elif isinstance(value, Mapping):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = str(value)
    return flat


@cache
def catalogue(language: str) -> dict[str, Text]:
    """All messages of one language, keyed by dotted name.

    Raises:
        ValueError: when two files define the same key (one would silently hide the other).
    """
    merged: dict[str, Text] = {}
    for path in sorted((_DIR / language).glob("*.toml")):
        with path.open("rb") as fh:
            messages = _flatten(tomllib.load(fh))
        clash = merged.keys() & messages.keys()
        if clash:
            raise ValueError(f"{path}: keys already defined in another file: {sorted(clash)}")
        merged.update(messages)
    return merged


def translate(language: str, key: str, /, **params: object) -> str:
    """The message ``key`` in ``language``, falling back to Chinese, then to the key itself.

    A message with plural forms takes the one for ``count`` (see :func:`plural_category`).
    """
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    text = catalogue(language).get(key)
    if text is None:
        language = DEFAULT_LANGUAGE
        text = catalogue(language).get(key)
        if text is None:
            log.warning("missing message %r", key)
            return key
    if isinstance(text, dict):
        count = params.get("count")
        category = plural_category(language, count) if isinstance(count, int) else "other"
        text = text.get(category, text["other"])
    return text.format(**params) if params else text


class Message(msgspec.Struct, frozen=True):
    """A user-facing text not yet translated: a catalogue key and its placeholders.

    Services return these (e.g. per-field form errors) so that the web page shows them in the
    reader's language and the CLI in English, from the same catalogue.
    """

    key: str
    params: dict[str, str | int] = msgspec.field(default_factory=dict)

    def render(self, language: str) -> str:
        return translate(language, self.key, **self.params)


def negotiate(*candidates: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """The first supported language among the candidates (cookie, user setting, Accept-Language)."""
    for candidate in candidates:
        if not candidate:
            continue
        for part in candidate.split(","):
            tag = part.split(";")[0].strip()
            if tag in LANGUAGES:
                return tag
            if tag.lower().startswith("zh"):
                return "zh-CN"
            if tag.lower().startswith("en"):
                return "en"
    return default
