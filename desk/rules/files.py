"""Rule files: TOML in, TOML out, and errors that point at the key that is wrong.

:func:`load` reads a file's text into :class:`~desk.rules.model.Rule` values or raises
:class:`RuleFileError` listing every problem it found (each rule is checked on its own, so one
bad rule does not hide the others), e.g.
``rules/auto_refund.toml:14: rules[0].conditions.all[1].order_age_hours.max: expected a number``.

:func:`dump` writes the one canonical form: ``load(dump(rules)) == rules`` for any valid rules,
and ``dump(load(text)) == text`` for a file in that form (the shipped ones are), so
``desk rules import`` followed by ``desk rules export`` gives back the same files.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from desk.rules.model import ACTION_TYPES, PREDICATES, TRIGGERS, Rule, problems

__all__ = ["RuleError", "RuleFileError", "dump", "load", "to_toml_value"]


class RuleError(msgspec.Struct, frozen=True):
    """One problem in a rule file: where (``path`` into the file's data, ``line`` when known) and what."""

    source: str
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class RuleFileError(Exception):
    """A rule file that cannot be loaded; ``errors`` lists every problem found."""

    def __init__(self, errors: Sequence[RuleError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


# --- loading ---------------------------------------------------------------------------------------

_TYPE_WORDS = {
    "int": "an integer",
    "float": "a number",
    "int | float": "a number",
    "str": "a string",
    "bool": "true or false",
    "array": "a list",
    "object": "a table",
}
_FORMS = {
    "id": "expected lowercase letters, digits, _ . or - (at most 64, starting with a letter or digit)",
    "start": "expected a time of day as HH:MM (00:00 to 24:00)",
    "end": "expected a time of day as HH:MM (00:00 to 24:00)",
}
_EXPECTED = re.compile(r"^Expected `(?P<type>[^`]+)`(?P<rest>.*)$")
_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `(?P<field>[^`]+)`$")
_MISSING_FIELD = re.compile(r"^Object missing required field `(?P<field>[^`]+)`$")
_INVALID_VALUE = re.compile(r"^Invalid (?:enum )?value (?P<value>.+)$")
_TOML_POSITION = re.compile(r"^(?P<message>.*?) \(at line (?P<line>\d+), column \d+\)$")


def _words(type_name: str) -> str:
    base = type_name.replace(" | null", "")
    return _TYPE_WORDS.get(base, f"`{base}`")


def _explain(message: str, path: str) -> tuple[str, str]:  # noqa: PLR0911  (one return per kind of message)
    """msgspec's message in the words of a rule file's author, and the path it concerns."""
    last = path.rsplit(".", 1)[-1]
    if m := _UNKNOWN_FIELD.match(message):
        field = m["field"]
        if last.startswith(("all[", "any[")) or last in {"conditions", "not"}:
            known = ", ".join(["all", "any", "not", *PREDICATES])
            return f"{path}.{field}", f"unknown condition (known: {known})"
        return f"{path}.{field}", "unknown key"
    if m := _MISSING_FIELD.match(message):
        field = m["field"]
        if field == "type":
            return f"{path}.type", f"missing (an action names its type: {', '.join(ACTION_TYPES)})"
        return f"{path}.{field}", "missing"
    if m := _INVALID_VALUE.match(message):
        if last == "type":
            return path, f"unknown action {m['value']} (known: {', '.join(ACTION_TYPES)})"
        if last == "event":
            return path, f"unknown trigger {m['value']} (known: {', '.join(sorted(TRIGGERS))})"
        return path, f"not one of the allowed values: {m['value']}"
    if m := _EXPECTED.match(message):
        rest = m["rest"]
        if rest.startswith(", got `"):
            got = rest.removeprefix(", got `").rstrip("`")
            return path, f"expected {_words(m['type'])}, got {_words(got)}"
        if " matching regex " in rest:
            return path, _FORMS.get(last, f"expected a string matching {rest.split('regex ', 1)[1]}")
        return path, f"expected {_words(m['type'])}{rest}"
    return path, message[:1].lower() + message[1:]


def _validation_error(exc: msgspec.ValidationError, prefix: str) -> tuple[str, str]:
    m = _AT.match(str(exc))
    assert m is not None  # the pattern matches any text
    return _explain(m["message"], prefix + (m["path"] or ""))


def _rule_headers(text: str) -> list[int]:
    """Line numbers (1-based) of each ``[[rules]]`` header, in order."""
    return [i for i, line in enumerate(text.splitlines(), 1) if re.match(r"^\s*\[\[\s*rules\s*\]\]", line)]


def _line_of(text: str, path: str) -> int | None:
    """Where in ``text`` the value at ``path`` is written, as near as the keys tell.

    tomllib keeps no positions, so this walks the path's keys through the rule's block: each key
    is looked for after the previous one. Good enough to point a person at the right line.
    """
    m = re.match(r"^rules\[(\d+)\]", path)
    if m is None:
        top = re.compile(rf"^\s*(\[+\s*)?{re.escape(path.split('.', maxsplit=1)[0])}\s*(=|\.|\])")
        return next((i for i, line in enumerate(text.splitlines(), 1) if top.match(line)), None)
    headers = _rule_headers(text)
    index = int(m[1])
    if index >= len(headers):
        return None
    lines = text.splitlines()
    end = headers[index + 1] - 1 if index + 1 < len(headers) else len(lines)
    found = headers[index]
    for key, index_text in re.findall(r"\.([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)", path[m.end() :]):
        pattern = re.compile(rf"(^|[\s{{,.\[]){re.escape(key)}\s*(=|\.|\]\])")
        for number in range(found, end + 1):
            if pattern.search(lines[number - 1]):
                found = number
                break
        first_index = re.match(r"\[(\d+)\]", index_text)
        if first_index and lines[found - 1].rstrip().endswith("["):
            # A list written one item per line (as dump writes conditions and actions).
            found = min(found + 1 + int(first_index[1]), end)
    return found


def load(text: str, source: str) -> list[Rule]:
    """The rules in one file's ``text``; ``source`` names the file in errors.

    Raises:
        RuleFileError: listing every problem found (nothing is returned when there is one).
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = _TOML_POSITION.match(str(exc))
        if m:
            raise RuleFileError(
                [RuleError(source, "", f"invalid TOML: {m['message']}", int(m["line"]))]
            ) from None
        raise RuleFileError([RuleError(source, "", f"invalid TOML: {exc}")]) from None
    errors: list[RuleError] = []

    def error(path: str, message: str) -> None:
        errors.append(RuleError(source, path, message, _line_of(text, path)))

    for key in data:
        if key != "rules":
            error(key, "unknown key (a rule file holds [[rules]] tables only)")
    raw_rules = data.get("rules", [])
    if not isinstance(raw_rules, list):
        error("rules", "expected [[rules]] tables")
        raw_rules = []
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(raw_rules):
        prefix = f"rules[{i}]"
        try:
            rule = msgspec.convert(raw, Rule)
        except msgspec.ValidationError as exc:
            error(*_validation_error(exc, prefix))
            continue
        for path, message in problems(rule, prefix):
            error(path, message)
        if rule.id in seen:
            error(f"{prefix}.id", f"duplicate id {rule.id!r} (also rules[{seen[rule.id]}])")
        seen.setdefault(rule.id, i)
        rules.append(rule)
    if errors:
        raise RuleFileError(errors)
    return rules


# --- dumping ---------------------------------------------------------------------------------------

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _string(value: str) -> str:
    out = []
    for ch in value:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def to_toml_value(value: Any) -> str:  # noqa: PLR0911  (one return per TOML type)
    """One value, inline (tables as ``{ k = v }``, lists on one line)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:  # noqa: PLR0124  (NaN: never valid in a rule, but say it in TOML)
            return "nan"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(to_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{k} = {to_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to a rule file")


def _block_list(items: Iterable[Any]) -> str:
    """A list with one item per line (conditions and actions read better that way)."""
    return "[\n" + "".join(f"  {to_toml_value(item)},\n" for item in items) + "]"


def _dump_rule(rule: Rule) -> str:
    lines = [
        "[[rules]]",
        f"id = {_string(rule.id)}",
        f"name = {_string(rule.name)}",
    ]
    if rule.description:
        lines.append(f"description = {_string(rule.description)}")
    lines += [
        f"enabled = {to_toml_value(rule.enabled)}",
        f"priority = {rule.priority}",
        f"stores = {to_toml_value(rule.stores)}",
        f"trigger = {to_toml_value(msgspec.to_builtins(rule.trigger))}",
    ]
    if rule.conditions is not None:
        ((key, value),) = msgspec.to_builtins(rule.conditions).items()
        if key in {"all", "any"}:
            lines.append(f"conditions.{key} = {_block_list(value)}")
        else:
            lines.append(f"conditions.{key} = {to_toml_value(value)}")
    lines.append(f"actions = {_block_list(msgspec.to_builtins(rule.actions))}")
    return "\n".join(lines) + "\n"


def dump(rules: Sequence[Rule]) -> str:
    """The canonical text of a rule file holding ``rules`` (in that order)."""
    return "\n".join(_dump_rule(rule) for rule in rules)
