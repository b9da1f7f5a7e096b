"""Rules in the database: import files (each changed rule a new version), export them back, list.

Import is all or nothing: every file is loaded and checked first (:func:`read_dir`), and only
when none has an error is anything written. A rule whose body is unchanged keeps its version, so
importing the same files twice changes nothing; export writes each rule back to the file it came
from, in the same order, in the canonical form — ``import`` then ``export`` gives the same files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

import msgspec
import sqlalchemy as sa

from desk.db import Work, utcnow
from desk.rules.files import RuleError, RuleFileError, dump, load
from desk.rules.model import Rule
from desk.rules.models import RuleRow, RuleVersion

__all__ = [
    "ImportReport",
    "StoredRule",
    "export_files",
    "import_rules",
    "load_defaults_if_new",
    "read_dir",
    "set_enabled",
    "stored_rules",
    "write_dir",
]

_rule = RuleRow.__table__
_version = RuleVersion.__table__


class StoredRule(msgspec.Struct, frozen=True, kw_only=True):
    rule: Rule
    version: int
    file: str
    position: int


class ImportReport(msgspec.Struct, frozen=True, kw_only=True):
    created: list[str]
    updated: list[str]
    unchanged: list[str]


def read_dir(directory: Path) -> dict[str, list[Rule]]:
    """Every ``*.toml`` file in ``directory`` loaded, by file name.

    Raises:
        RuleFileError: every problem in every file, and ids used in two files.
    """
    files = sorted(directory.glob("*.toml"))
    errors: list[RuleError] = []
    loaded: dict[str, list[Rule]] = {}
    where: dict[str, str] = {}
    for path in files:
        source = str(path)
        try:
            rules = load(path.read_text(encoding="utf-8"), source)
        except RuleFileError as exc:
            errors += exc.errors
            continue
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(RuleError(source, "", f"cannot read: {exc}"))
            continue
        for i, rule in enumerate(rules):
            if rule.id in where:
                errors.append(
                    RuleError(source, f"rules[{i}].id", f"id {rule.id!r} is also in {where[rule.id]}")
                )
            where.setdefault(rule.id, source)
        loaded[path.name] = rules
    if errors:
        raise RuleFileError(errors)
    return loaded


def write_dir(directory: Path, files: Mapping[str, Sequence[Rule]]) -> list[Path]:
    """Write each file's rules in the canonical form; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rules in files.items():
        path = directory / name
        path.write_text(dump(rules), encoding="utf-8")
        written.append(path)
    return written


def _body(rule: Rule) -> dict[str, object]:
    body = msgspec.to_builtins(rule)
    assert isinstance(body, dict)
    return body


async def import_rules(
    work: Work, files: Mapping[str, Sequence[Rule]], *, saved_by: str, now: dt.datetime | None = None
) -> ImportReport:
    """Save the rules of ``files`` (already checked): new ones created, changed ones a new version.

    Rules in the database that the files do not name are left as they are.
    """
    now = now or utcnow()
    existing = {
        row.rule_id: row
        for row in await work.execute(sa.select(_rule.c.id, _rule.c.rule_id, _rule.c.version, _rule.c.body))
    }
    created: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    for file, rules in files.items():
        for position, rule in enumerate(rules):
            body = _body(rule)
            columns = {"file": file, "position": position, "enabled": rule.enabled, "priority": rule.priority}
            row = existing.get(rule.id)
            if row is None:
                pk = (
                    await work.execute(
                        _rule.insert()
                        .values(
                            rule_id=rule.id, version=1, body=body, created_at=now, updated_at=now, **columns
                        )
                        .returning(_rule.c.id)
                    )
                ).scalar_one()
                version = 1
                created.append(rule.id)
            elif row.body != body:
                pk, version = row.id, row.version + 1
                await work.execute(
                    _rule.update()
                    .where(_rule.c.id == pk)
                    .values(version=version, body=body, updated_at=now, **columns)
                )
                updated.append(rule.id)
            else:
                # Same rule: only where it is kept may have changed (no new version for that).
                await work.execute(_rule.update().where(_rule.c.id == row.id).values(**columns))
                unchanged.append(rule.id)
                continue
            await work.execute(
                _version.insert().values(
                    rule_pk=pk, version=version, body=body, saved_by=saved_by, created_at=now
                )
            )
    return ImportReport(created=created, updated=updated, unchanged=unchanged)


async def set_enabled(
    work: Work, rule_id: str, enabled: bool, *, saved_by: str, now: dt.datetime | None = None
) -> int | None:
    """Switch a rule on or off (its kill switch), as a new version; None when there is no such rule.

    Returns the version now in force (unchanged when it already was as asked).
    """
    row = (
        await work.execute(
            sa.select(_rule.c.id, _rule.c.version, _rule.c.body).where(_rule.c.rule_id == rule_id)
        )
    ).first()
    if row is None:
        return None
    rule = msgspec.convert(row.body, Rule)
    if rule.enabled == enabled:
        return int(row.version)
    now = now or utcnow()
    body = _body(msgspec.structs.replace(rule, enabled=enabled))
    version = row.version + 1
    await work.execute(
        _rule.update()
        .where(_rule.c.id == row.id)
        .values(version=version, body=body, enabled=enabled, updated_at=now)
    )
    await work.execute(
        _version.insert().values(
            rule_pk=row.id, version=version, body=body, saved_by=saved_by, created_at=now
        )
    )
    return version


async def load_defaults_if_new(work: Work, directory: Path) -> ImportReport | None:
    """Import the shipped rules when the desk has never had any (its first start).

    "Never": no rule versions at all, so rules an admin deleted do not come back. None when
    nothing was loaded. Each default's own ``enabled`` holds: money-moving ones ship disabled.
    """
    if (await work.execute(sa.select(_version.c.id).limit(1))).first() is not None:
        return None
    return await import_rules(work, read_dir(directory), saved_by="defaults")


async def stored_rules(work: Work, *, enabled_only: bool = False) -> list[StoredRule]:
    """Every stored rule, in file order."""
    stmt = sa.select(_rule.c.body, _rule.c.version, _rule.c.file, _rule.c.position).order_by(
        _rule.c.file, _rule.c.position, _rule.c.rule_id
    )
    if enabled_only:
        stmt = stmt.where(_rule.c.enabled.is_(True))
    return [
        StoredRule(
            rule=msgspec.convert(row.body, Rule), version=row.version, file=row.file, position=row.position
        )
        for row in await work.execute(stmt)
    ]


async def export_files(work: Work) -> dict[str, list[Rule]]:
    """The stored rules grouped by the file they belong in, in their order."""
    files: dict[str, list[Rule]] = {}
    for stored in await stored_rules(work):
        files.setdefault(stored.file, []).append(stored.rule)
    return files
