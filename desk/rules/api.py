"""``/api/v1/rules`` and ``/api/v1/rule-runs``: rules read by managers and admins, written by admins.

Writes take a rule as TOML or JSON (see :mod:`desk.rules.schemas`) and answer 422 with every
problem, path by path, when it is not a valid rule; each save that changes the rule is a new
version, as on the pages. Rule runs are scoped to the token owner's stores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, get, post, put
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotFoundException
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import FromPath, FromQuery
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.auth import requires_role
from desk.accounts.models import Role, User
from desk.path_ids import MAX_ROW_ID
from desk.rules.editing import RuleNotFoundError, get_rule, list_rules, list_versions, save_rule
from desk.rules.files import RuleFileError
from desk.rules.runs import OUTCOMES, RunFilter, run_page
from desk.rules.schemas import RuleErrorOut, RuleOut, RuleRunOut, rule_from_body

__all__ = ["ROUTES", "RuleRunsApiController", "RulesApiController"]

_MANAGERS = [requires_role(Role.MANAGER)]
_ADMINS = [requires_role(Role.ADMIN)]


@dataclass
class _RuleBodyOperation(Operation):
    """The handlers read the body themselves (TOML or JSON), so the schema is told what it takes."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description="One rule: TOML (a file holding one `[[rules]]` table) or the same table as JSON.",
            content={
                "application/toml": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING)),
                "application/json": OpenAPIMediaType(schema=Schema(type=OpenAPIType.OBJECT)),
            },
        )


def _unprocessable(exc: RuleFileError) -> HTTPException:
    return HTTPException(
        status_code=422,
        detail="the rule is not valid: "
        + "; ".join(f"{e.path}: {e.message}" if e.path else e.message for e in exc.errors),
        extra={"errors": [RuleErrorOut.of(e) for e in exc.errors]},
    )


async def _body_rule(request: Request[User, Any, Any]) -> Any:
    try:
        return rule_from_body(await request.body(), request.headers.get("content-type", ""))
    except RuleFileError as exc:
        raise _unprocessable(exc) from None


class RulesApiController(Controller):
    path = "/api/v1/rules"
    tags = ["rules"]  # noqa: RUF012 - Litestar reads this class attribute

    @get("/", name="api:rules:list", guards=_MANAGERS)
    async def list_all(self, db_session: NamedDependency[AsyncSession]) -> list[RuleOut]:
        """Every rule, in file order. Managers and admins."""
        return [RuleOut.of(r) for r in await list_rules(db_session)]

    @get("/{rule_id:str}", name="api:rules:get", guards=_MANAGERS)
    async def get_one(self, db_session: NamedDependency[AsyncSession], rule_id: FromPath[str]) -> RuleOut:
        """One rule with its versions (newest first)."""
        record = await get_rule(db_session, rule_id=rule_id)
        if record is None:
            raise NotFoundException(f"no rule {rule_id!r}")
        return RuleOut.of(record, await list_versions(db_session, record.pk))

    @post(
        "/",
        name="api:rules:create",
        guards=_ADMINS,
        status_code=201,
        operation_class=_RuleBodyOperation,
    )
    async def create(
        self, request: Request[User, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> RuleOut:
        """Create a rule from TOML (`Content-Type: application/toml`, one `[[rules]]` table) or
        JSON (the same table as an object). 422 lists every problem with its path. Admin tokens."""
        rule = await _body_rule(request)
        try:
            record, _ = await save_rule(db_session, rule, saved_by=f"user:{request.user.id}")
        except RuleFileError as exc:
            raise _unprocessable(exc) from None
        return RuleOut.of(record)

    @put("/{rule_id:str}", name="api:rules:update", guards=_ADMINS, operation_class=_RuleBodyOperation)
    async def update(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        rule_id: FromPath[str],
    ) -> RuleOut:
        """Replace the rule (TOML or JSON, as for create): a new version when anything changed.
        The id cannot change. 422 lists every problem with its path. Admin tokens."""
        rule = await _body_rule(request)
        try:
            record, _ = await save_rule(
                db_session, rule, saved_by=f"user:{request.user.id}", expected_id=rule_id
            )
        except RuleNotFoundError:
            raise NotFoundException(f"no rule {rule_id!r}") from None
        except RuleFileError as exc:
            raise _unprocessable(exc) from None
        return RuleOut.of(record)


class RuleRunsApiController(Controller):
    path = "/api/v1/rule-runs"
    tags = ["rules"]  # noqa: RUF012 - Litestar reads this class attribute

    @get("/", name="api:rule-runs:list", guards=_MANAGERS)
    async def list_runs(  # noqa: PLR0917 - Litestar passes the query parameters by name
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        rule: FromQuery[str] = "",
        store: FromQuery[int | None] = None,
        outcome: FromQuery[str] = "",
        before: FromQuery[int | None] = None,
    ) -> list[RuleRunOut]:
        """Rule runs in your stores, newest first, 50 at a time; `before` (a run id) pages back.
        `outcome` is one of done, partial, failed, fuse."""
        if outcome and outcome not in OUTCOMES:
            raise HTTPException(status_code=400, detail=f"outcome must be one of {', '.join(OUTCOMES)}")
        for value in (store, before):
            if value is not None and not 0 < value <= MAX_ROW_ID:
                raise HTTPException(status_code=400, detail="store and before are row ids")
        page = await run_page(
            db_session,
            request.user,
            RunFilter(rule_id=rule[:64], store_id=store, outcome=outcome),
            before=before,
        )
        return [RuleRunOut.of(r) for r in page.rows]


ROUTES = [RulesApiController, RuleRunsApiController]
