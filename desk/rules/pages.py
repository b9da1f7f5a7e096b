"""The rules admin pages under ``/settings/rules`` (managers read, admins edit).

- ``/settings/rules`` — every rule with its on/off toggle (a toggle saves a new version, as
  ``desk rules`` does) and how often it matched in the last 24 hours and 7 days.
- ``/settings/rules/{pk}`` — the rule's TOML in an editor, errors inline with their paths and
  lines; its versions, each with the diff from the one before and "roll back to this version".
- ``/settings/rules/new`` — a new rule, starting from a template.
- ``/settings/rules/runs`` — the rule runs (what each matched, saw and did), filtered and paged.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import msgspec
import sqlalchemy as sa
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.auth import requires_role
from desk.accounts.models import Role, User
from desk.path_ids import MAX_ROW_ID
from desk.rules.editing import (
    NEW_RULE_TEMPLATE,
    RuleRecord,
    VersionRecord,
    diff_versions,
    get_rule,
    list_rules,
    list_versions,
    parse_one,
    roll_back,
    save_rule,
    to_toml,
)
from desk.rules.files import RuleError, RuleFileError
from desk.rules.runs import OUTCOMES, RunFilter, hit_counts, run_page
from desk.rules.storage import set_enabled
from desk.stores.services import stores_visible_to

__all__ = ["ROUTES"]

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
_MANAGERS = [requires_role(Role.MANAGER)]
_ADMINS = [requires_role(Role.ADMIN)]
NOTICES = frozenset({"saved", "created", "unchanged", "rolled_back", "enabled", "disabled"})
MAX_TOML_CHARS = 50_000


class TomlForm(msgspec.Struct, kw_only=True):
    toml: str = ""


class EnabledForm(msgspec.Struct, kw_only=True):
    enabled: str = ""


class RollbackForm(msgspec.Struct, kw_only=True):
    version: int = 0


def _saved_by(user: User) -> str:
    return f"user:{user.id}"


async def _savers(session: AsyncSession, versions: list[VersionRecord]) -> dict[str, str]:
    """Who saved each version, by name (``saved_by`` keeps the user's id, which never changes)."""
    ids = {
        int(v.saved_by[5:]) for v in versions if v.saved_by.startswith("user:") and v.saved_by[5:].isdigit()
    }
    if not ids:
        return {}
    rows = await session.execute(sa.select(User.id, User.display_name).where(User.id.in_(ids)))
    return {f"user:{pk}": name for pk, name in rows}


def _id(value: str) -> int | None:
    return int(value) if value.isdigit() and 0 < int(value) <= MAX_ROW_ID else None


async def _found(session: AsyncSession, pk: int) -> RuleRecord:
    record = await get_rule(session, pk=pk)
    if record is None:
        raise NotFoundException()
    return record


def _toml_errors(text: str) -> tuple[Any, list[RuleError]]:
    """The one rule in ``text``, or the problems (too long counts as one)."""
    if len(text) > MAX_TOML_CHARS:
        return None, [RuleError("rule", "", f"too long (at most {MAX_TOML_CHARS} characters)")]
    try:
        return parse_one(text), []
    except RuleFileError as exc:
        return None, exc.errors


@get("/settings/rules", name="rules:index", include_in_schema=False, guards=_MANAGERS)
async def rules_index(
    request: Request[User, Any, Any], db_session: NamedDependency[AsyncSession], notice: FromQuery[str] = ""
) -> Template:
    """Every rule, in file order, with its toggle and hit counts."""
    records = await list_rules(db_session)
    return Template(
        "rules/index.html",
        context={
            "records": records,
            "hits": await hit_counts(db_session, request.user),
            "can_edit": request.user.role is Role.ADMIN,
            "notice": notice if notice in NOTICES else "",
        },
    )


@post("/settings/rules/{pk:int}/enabled", name="rules:enabled", include_in_schema=False, guards=_ADMINS)
async def rules_toggle(
    request: Request[User, Any, Any],
    db_session: NamedDependency[AsyncSession],
    pk: FromPath[int],
    data: EnabledForm = Form,
) -> Redirect:
    """Switch a rule on or off: a new version when it changes."""
    record = await _found(db_session, pk)
    enabled = data.enabled == "true"
    await set_enabled(db_session, record.rule.id, enabled, saved_by=_saved_by(request.user))
    return Redirect(f"/settings/rules?notice={'enabled' if enabled else 'disabled'}")


def _editor(
    *,
    record: RuleRecord | None,
    text: str,
    errors: list[RuleError],
    can_edit: bool,
    versions: list[VersionRecord],
    shown: int | None,
    savers: dict[str, str] | None = None,
    notice: str = "",
) -> Template:
    return Template(
        "rules/rule.html",
        context={
            "record": record,
            "text": text,
            "errors": errors,
            "can_edit": can_edit,
            "versions": versions,
            "shown": shown,
            "savers": savers or {},
            "diff": diff_versions(versions, shown) if shown else [],
            "notice": notice if notice in NOTICES else "",
        },
        status_code=400 if errors else 200,
    )


@get("/settings/rules/new", name="rules:new", include_in_schema=False, guards=_ADMINS)
async def rules_new() -> Template:
    """A new rule, starting from the template."""
    return _editor(record=None, text=NEW_RULE_TEMPLATE, errors=[], can_edit=True, versions=[], shown=None)


@post("/settings/rules/new", name="rules:create", include_in_schema=False, guards=_ADMINS)
async def rules_create(
    request: Request[User, Any, Any], db_session: NamedDependency[AsyncSession], data: TomlForm = Form
) -> Template | Redirect:
    rule, errors = _toml_errors(data.toml)
    if rule is not None:
        try:
            record, _ = await save_rule(db_session, rule, saved_by=_saved_by(request.user))
        except RuleFileError as exc:
            errors = exc.errors
        else:
            return Redirect(f"/settings/rules/{record.pk}?notice=created")
    return _editor(record=None, text=data.toml, errors=errors, can_edit=True, versions=[], shown=None)


@get("/settings/rules/{pk:int}", name="rules:rule", include_in_schema=False, guards=_MANAGERS)
async def rules_rule(
    request: Request[User, Any, Any],
    db_session: NamedDependency[AsyncSession],
    pk: FromPath[int],
    version: FromQuery[str] = "",
    notice: FromQuery[str] = "",
) -> Template:
    """The rule's TOML, its versions, and the diff of one version (the current one by default)."""
    record = await _found(db_session, pk)
    versions = await list_versions(db_session, pk)
    shown = _id(version) or record.version
    return _editor(
        record=record,
        text=to_toml(record.rule),
        errors=[],
        can_edit=request.user.role is Role.ADMIN,
        versions=versions,
        shown=shown,
        savers=await _savers(db_session, versions),
        notice=notice,
    )


@post("/settings/rules/{pk:int}", name="rules:save", include_in_schema=False, guards=_ADMINS)
async def rules_save(
    request: Request[User, Any, Any],
    db_session: NamedDependency[AsyncSession],
    pk: FromPath[int],
    data: TomlForm = Form,
) -> Template | Redirect:
    """Save the edited TOML as a new version; errors are shown inline and nothing is saved."""
    record = await _found(db_session, pk)
    rule, errors = _toml_errors(data.toml)
    if rule is not None:
        try:
            _, changed = await save_rule(
                db_session, rule, saved_by=_saved_by(request.user), expected_id=record.rule.id
            )
        except RuleFileError as exc:
            errors = exc.errors
        else:
            return Redirect(f"/settings/rules/{pk}?notice={'saved' if changed else 'unchanged'}")
    versions = await list_versions(db_session, pk)
    return _editor(
        record=record,
        text=data.toml,
        errors=errors,
        can_edit=True,
        versions=versions,
        shown=record.version,
        savers=await _savers(db_session, versions),
    )


@post("/settings/rules/{pk:int}/rollback", name="rules:rollback", include_in_schema=False, guards=_ADMINS)
async def rules_rollback(
    request: Request[User, Any, Any],
    db_session: NamedDependency[AsyncSession],
    pk: FromPath[int],
    data: RollbackForm = Form,
) -> Redirect:
    """Save an old version again as the newest one."""
    record = await _found(db_session, pk)
    if await roll_back(db_session, record, data.version, saved_by=_saved_by(request.user)) is None:
        raise NotFoundException()
    return Redirect(f"/settings/rules/{pk}?notice=rolled_back")


@get("/settings/rules/runs", name="rules:runs", include_in_schema=False, guards=_MANAGERS)
async def rules_runs(  # noqa: PLR0917 - Litestar passes the query parameters by name
    request: Request[User, Any, Any],
    db_session: NamedDependency[AsyncSession],
    rule: FromQuery[str] = "",
    store: FromQuery[str] = "",
    outcome: FromQuery[str] = "",
    before: FromQuery[str] = "",
) -> Template:
    """One page of rule runs, newest first."""
    where = RunFilter(rule_id=rule[:64], store_id=_id(store), outcome=outcome if outcome in OUTCOMES else "")
    page = await run_page(db_session, request.user, where, before=_id(before))
    params = {"rule": where.rule_id, "store": where.store_id or "", "outcome": where.outcome}
    query = {k: v for k, v in params.items() if v}
    return Template(
        "rules/runs.html",
        context={
            "page": page,
            "where": where,
            "rules": [r.rule.id for r in await list_rules(db_session)],
            "stores": await stores_visible_to(db_session, request.user),
            "outcomes": OUTCOMES,
            "first_page": before == "",
            "newest_query": urlencode(query),
            "older_query": urlencode({**query, "before": page.older}) if page.older else "",
        },
    )


ROUTES = [
    rules_index,
    rules_toggle,
    rules_new,
    rules_create,
    rules_rule,
    rules_save,
    rules_rollback,
    rules_runs,
]
