"""What the rules API (``/api/v1/rules``, ``/api/v1/rule-runs``) reads and answers.

A rule is sent as TOML (``Content-Type: application/toml``: a file holding one ``[[rules]]``
table, as the editor shows it) or as JSON (the same table as an object). JSON is written out as
TOML and read by :func:`desk.rules.files.load`, so both get the very same path-precise errors.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import msgspec

from desk.rules.editing import RuleRecord, VersionRecord, parse_one, to_toml
from desk.rules.files import RuleError, RuleFileError, to_toml_value
from desk.rules.model import Rule
from desk.rules.runs import RunView

__all__ = ["RuleErrorOut", "RuleOut", "RuleRunOut", "RuleVersionOut", "rule_from_body"]

MAX_BODY_BYTES = 50_000
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class RuleErrorOut(msgspec.Struct, kw_only=True):
    """One problem in a rule sent: where (``path``, and ``line`` in TOML) and what."""

    path: str
    message: str
    line: int | None = None

    @classmethod
    def of(cls, error: RuleError) -> RuleErrorOut:
        return cls(path=error.path, message=error.message, line=error.line)


class RuleVersionOut(msgspec.Struct, kw_only=True):
    version: int
    saved_by: str
    """``cli``, ``defaults``, or ``user:<id>``."""
    created_at: dt.datetime

    @classmethod
    def of(cls, v: VersionRecord) -> RuleVersionOut:
        return cls(version=v.version, saved_by=v.saved_by, created_at=v.created_at)


class RuleOut(msgspec.Struct, kw_only=True):
    """A rule as it stands: its fields (as in its file), its version and its TOML."""

    id: str
    version: int
    enabled: bool
    rule: dict[str, Any]
    """The rule as a JSON object (what ``PUT`` accepts back)."""
    toml: str
    versions: list[RuleVersionOut] | None = None
    """Every version, newest first (on ``GET /api/v1/rules/{id}`` only)."""

    @classmethod
    def of(cls, record: RuleRecord, versions: list[VersionRecord] | None = None) -> RuleOut:
        body = msgspec.to_builtins(record.rule)
        assert isinstance(body, dict)
        return cls(
            id=record.rule.id,
            version=record.version,
            enabled=record.rule.enabled,
            rule=body,
            toml=to_toml(record.rule),
            versions=[RuleVersionOut.of(v) for v in versions] if versions is not None else None,
        )


class RuleRunOut(msgspec.Struct, kw_only=True):
    """A rule that matched an event: what it saw and what its actions did."""

    id: int
    created_at: dt.datetime
    store_id: int
    rule_id: str
    rule_version: int
    event: str
    subject: str
    outcome: str
    """``done``, ``partial``, ``failed`` or ``fuse``."""
    conditions: list[dict[str, Any]]
    actions: list[dict[str, Any]]

    @classmethod
    def of(cls, run: RunView) -> RuleRunOut:
        return cls(
            id=run.id,
            created_at=run.created_at,
            store_id=run.store_id,
            rule_id=run.rule_id,
            rule_version=run.rule_version,
            event=run.event,
            subject=run.subject,
            outcome=run.outcome,
            conditions=run.conditions,
            actions=run.actions,
        )


def _check_keys(value: Any, path: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if not _BARE_KEY.match(key):
                raise RuleFileError([RuleError("body", f"{path}.{key}"[:200], "unknown key")])
            _check_keys(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_keys(item, f"{path}[{i}]")
    elif value is None:
        raise RuleFileError([RuleError("body", path, "null is not allowed (leave the key out)")])


def _json_as_toml(raw: bytes) -> str:
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise RuleFileError([RuleError("body", "", f"invalid JSON: {exc}")]) from None
    if not isinstance(data, dict):
        raise RuleFileError([RuleError("body", "", "expected a JSON object (one rule)")])
    data = {k: v for k, v in data.items() if v is not None}
    _check_keys(data, "rules[0]")
    return "[[rules]]\n" + "".join(f"{key} = {to_toml_value(value)}\n" for key, value in data.items())


def rule_from_body(raw: bytes, content_type: str) -> Rule:
    """The one rule in a request body, TOML or JSON by ``content_type``.

    Raises:
        RuleFileError: every problem found (paths as in a rule file).
    """
    if len(raw) > MAX_BODY_BYTES:
        raise RuleFileError([RuleError("body", "", f"too large (at most {MAX_BODY_BYTES} bytes)")])
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind in {"application/toml", "text/toml", "text/x-toml"}:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise RuleFileError([RuleError("body", "", "not UTF-8 text")]) from None
        return parse_one(text, "body")
    if kind in {"application/json", ""}:
        return parse_one(_json_as_toml(raw), "body")
    raise RuleFileError(
        [
            RuleError(
                "body", "", f"unsupported Content-Type {kind!r}: send application/toml or application/json"
            )
        ]
    )
