"""Rules edited one at a time (the admin pages and the API): save as TOML, versions, diff, roll back.

An admin edits one rule as the TOML of a file holding just that rule (``[[rules]]`` once), so the
errors are the very path-precise messages of :mod:`desk.rules.files`, with their line numbers.
Every save that changes the rule is a new version, as ``desk rules import`` does; a save that
changes nothing keeps the version. Rolling back saves the old body again as a new version, so
the history only ever grows (an automated action cites the version it ran).
"""

from __future__ import annotations

import datetime as dt
import difflib
from typing import Any

import msgspec
import sqlalchemy as sa

from desk.db import Work, utcnow
from desk.rules.files import RuleError, RuleFileError, dump, load
from desk.rules.model import Rule
from desk.rules.models import RuleRow, RuleVersion

__all__ = [
    "ADMIN_FILE",
    "NEW_RULE_TEMPLATE",
    "RuleNotFoundError",
    "RuleRecord",
    "VersionRecord",
    "diff_versions",
    "get_rule",
    "list_rules",
    "list_versions",
    "parse_one",
    "roll_back",
    "save_rule",
    "to_toml",
]

_rule = RuleRow.__table__
_version = RuleVersion.__table__

ADMIN_FILE = "admin.toml"
"""Where ``desk rules export`` writes rules created on the pages or through the API."""

NEW_RULE_TEMPLATE = """\
[[rules]]
id = "my-new-rule"
name = "新规则"
description = ""
enabled = false
priority = 100
stores = "all"
trigger = { event = "message.received" }
conditions.all = [
  { keywords = { words = ["发票"] } },
]
actions = [
  { type = "notify_agents", text = "买家询问发票" },
]
"""


class RuleNotFoundError(LookupError):
    """No rule by that id."""


class RuleRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A stored rule as the pages and the API show it."""

    pk: int
    rule: Rule
    version: int
    file: str
    updated_at: dt.datetime


class VersionRecord(msgspec.Struct, frozen=True, kw_only=True):
    version: int
    rule: Rule
    saved_by: str
    created_at: dt.datetime


def to_toml(rule: Rule) -> str:
    """The rule as the editor shows it: the canonical form of a file holding only it."""
    return dump([rule])


def parse_one(text: str, source: str = "rule") -> Rule:
    """The one rule in ``text``.

    Raises:
        RuleFileError: the problems of :func:`desk.rules.files.load`, or not exactly one rule.
    """
    rules = load(text, source)
    if len(rules) != 1:
        raise RuleFileError(
            [RuleError(source, "rules", f"expected exactly one [[rules]] table, found {len(rules)}")]
        )
    return rules[0]


def _body(rule: Rule) -> dict[str, object]:
    body = msgspec.to_builtins(rule)
    assert isinstance(body, dict)
    return body


def _record(row: Any) -> RuleRecord:  # a Row of _COLUMNS
    return RuleRecord(
        pk=row.id,
        rule=msgspec.convert(row.body, Rule),
        version=row.version,
        file=row.file,
        updated_at=row.updated_at,
    )


_COLUMNS = (_rule.c.id, _rule.c.rule_id, _rule.c.version, _rule.c.file, _rule.c.body, _rule.c.updated_at)


async def get_rule(work: Work, *, rule_id: str | None = None, pk: int | None = None) -> RuleRecord | None:
    """A rule by its id (``refund-unshipped-4h``) or its row id; None when there is none."""
    where = _rule.c.rule_id == rule_id if rule_id is not None else _rule.c.id == pk
    row = (await work.execute(sa.select(*_COLUMNS).where(where))).first()
    return _record(row) if row is not None else None


async def list_rules(work: Work) -> list[RuleRecord]:
    """Every rule, in file order (as ``desk rules export`` writes them)."""
    rows = await work.execute(sa.select(*_COLUMNS).order_by(_rule.c.file, _rule.c.position, _rule.c.rule_id))
    return [_record(row) for row in rows]


async def save_rule(
    work: Work, rule: Rule, *, saved_by: str, expected_id: str | None = None, now: dt.datetime | None = None
) -> tuple[RuleRecord, bool]:
    """Save ``rule``: a new rule (``expected_id`` None) or a new version of rule ``expected_id``.

    Returns the record and whether anything changed. The rule keeps its file and place in it.

    Raises:
        RuleFileError: a new rule whose id is taken, or an edit that changes the rule's id.
        RuleNotFoundError: no rule ``expected_id``.
    """
    now = now or utcnow()
    body = _body(rule)
    if expected_id is None:
        if await get_rule(work, rule_id=rule.id) is not None:
            raise RuleFileError([RuleError("rule", "rules[0].id", f"id {rule.id!r} is already taken")])
        position = (
            await work.execute(sa.select(sa.func.count()).where(_rule.c.file == ADMIN_FILE))
        ).scalar_one()
        pk = (
            await work.execute(
                _rule.insert()
                .values(
                    rule_id=rule.id,
                    version=1,
                    body=body,
                    file=ADMIN_FILE,
                    position=position,
                    enabled=rule.enabled,
                    priority=rule.priority,
                    created_at=now,
                    updated_at=now,
                )
                .returning(_rule.c.id)
            )
        ).scalar_one()
        await work.execute(
            _version.insert().values(rule_pk=pk, version=1, body=body, saved_by=saved_by, created_at=now)
        )
        record = await get_rule(work, pk=pk)
        assert record is not None
        return record, True
    current = await get_rule(work, rule_id=expected_id)
    if current is None:
        raise RuleNotFoundError(expected_id)
    if rule.id != expected_id:
        # Runs and versions cite the id: a new id is a new rule, not an edit of this one.
        raise RuleFileError(
            [RuleError("rule", "rules[0].id", f"the id cannot change (this rule is {expected_id!r})")]
        )
    if _body(current.rule) == body:
        return current, False
    version = current.version + 1
    await work.execute(
        _rule.update()
        .where(_rule.c.id == current.pk)
        .values(version=version, body=body, enabled=rule.enabled, priority=rule.priority, updated_at=now)
    )
    await work.execute(
        _version.insert().values(
            rule_pk=current.pk, version=version, body=body, saved_by=saved_by, created_at=now
        )
    )
    return msgspec.structs.replace(current, rule=rule, version=version, updated_at=now), True


async def list_versions(work: Work, pk: int) -> list[VersionRecord]:
    """Every saved version of the rule, newest first."""
    rows = await work.execute(
        sa.select(_version.c.version, _version.c.body, _version.c.saved_by, _version.c.created_at)
        .where(_version.c.rule_pk == pk)
        .order_by(_version.c.version.desc())
    )
    return [
        VersionRecord(
            version=row.version,
            rule=msgspec.convert(row.body, Rule),
            saved_by=row.saved_by,
            created_at=row.created_at,
        )
        for row in rows
    ]


def diff_versions(versions: list[VersionRecord], version: int) -> list[str]:
    """The unified diff (lines, unescaped: templates escape them) from the version before to ``version``."""
    by_number = {v.version: v for v in versions}
    after = by_number.get(version)
    if after is None:
        return []
    earlier = [v for v in versions if v.version < version]
    before_text = to_toml(max(earlier, key=lambda v: v.version).rule) if earlier else ""
    return list(
        difflib.unified_diff(
            before_text.splitlines(),
            to_toml(after.rule).splitlines(),
            fromfile=f"v{version - 1}" if earlier else "",
            tofile=f"v{version}",
            lineterm="",
        )
    )


async def roll_back(work: Work, record: RuleRecord, version: int, *, saved_by: str) -> RuleRecord | None:
    """Save version ``version`` of the rule again, as a new version; None when there is no such version."""
    old = next((v for v in await list_versions(work, record.pk) if v.version == version), None)
    if old is None:
        return None
    saved, _ = await save_rule(work, old.rule, saved_by=saved_by, expected_id=record.rule.id)
    return saved
