"""UI text: one message catalogue per language, Simplified Chinese first.

A language's catalogue is every ``desk/i18n/<lang>/<domain>.toml`` file merged, so each domain
keeps its own texts. Templates call ``t("nav.inbox")``; Python code that produces user-facing
text (form errors, flash messages) calls :func:`translate`. Keys are dotted paths into the TOML
tables; ``{name}`` placeholders are filled from keyword arguments.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import msgspec

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "Message", "catalogue", "negotiate", "translate"]

LANGUAGES: dict[str, str] = {"zh-CN": "简体中文", "en": "English"}
DEFAULT_LANGUAGE = "zh-CN"
_DIR = Path(__file__).parent
log = logging.getLogger(__name__)


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = str(value)
    return flat


@cache
def catalogue(language: str) -> dict[str, str]:
    """All messages of one language, keyed by dotted name.

    Raises:
        ValueError: when two files define the same key (one would silently hide the other).
    """
    merged: dict[str, str] = {}
    for path in sorted((_DIR / language).glob("*.toml")):
        with path.open("rb") as fh:
            messages = _flatten(tomllib.load(fh))
        clash = merged.keys() & messages.keys()
        if clash:
            raise ValueError(f"{path}: keys already defined in another file: {sorted(clash)}")
        merged.update(messages)
    return merged


def translate(language: str, key: str, /, **params: object) -> str:
    """The message ``key`` in ``language``, falling back to Chinese, then to the key itself."""
    text = catalogue(language if language in LANGUAGES else DEFAULT_LANGUAGE).get(key)
    if text is None:
        text = catalogue(DEFAULT_LANGUAGE).get(key)
        if text is None:
            log.warning("missing message %r", key)
            return key
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
