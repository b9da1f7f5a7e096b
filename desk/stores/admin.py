"""Settings → stores and WeCom corps (admins only): list, add, edit, (de)activate.

Secrets are never rendered back: lists show them masked, edit forms leave their inputs empty
(blank keeps the stored value), and a refused form asks for them again. Saving tests the
credentials against the platform first; when that fails the form comes back with the platform's
answer in words and a box to save anyway.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Controller, get, post
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.auth import requires_role
from desk.accounts.models import Role
from desk.errors import Invalid
from desk.runtime import Runtime
from desk.stores.connection import ConnectionChecker
from desk.stores.models import Store, WeComCorp
from desk.stores.services import (
    CheckFailed,
    CorpForm,
    CorpService,
    StoreForm,
    StoreService,
    all_stores,
    corp_push_url,
    push_url_warning,
    store_push_url,
)

__all__ = ["CorpsAdminController", "StoresAdminController", "provide_corp_service", "provide_store_service"]

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
NOTICES = frozenset({"created", "saved", "deactivated", "activated", "saved_unchecked"})


async def provide_store_service(db_session: NamedDependency[AsyncSession], state: State) -> StoreService:
    runtime: Runtime = state.runtime
    return StoreService(db_session, runtime.secrets, ConnectionChecker(runtime))


async def provide_corp_service(db_session: NamedDependency[AsyncSession], state: State) -> CorpService:
    runtime: Runtime = state.runtime
    return CorpService(db_session, runtime.secrets, ConnectionChecker(runtime))


def _saved(state: State, location: str, row: Store | WeComCorp, notice: str) -> Redirect:
    """The redirect after a save; once it is sent (the transaction committed), this process's
    cached credentials are dropped so that pushes and platform calls use the new ones at once."""
    runtime: Runtime = state.runtime
    if row.connection_error is not None and notice == "saved":
        notice = "saved_unchecked"
    return Redirect(f"{location}?notice={notice}", background=BackgroundTask(runtime.credentials_saved))


class Confirmation(msgspec.Struct, kw_only=True):
    """The confirmation page's answer (its button posts ``confirmed=true``)."""

    confirmed: bool = False


def _confirm_deactivate(kind: str, name: str, action: str, back: str) -> Template:
    return Template(
        "stores/admin/confirm_deactivate.html",
        context={"kind": kind, "name": name, "action": action, "back": back},
    )


def _notice(value: str) -> str:
    return value if value in NOTICES else ""


class StoresAdminController(Controller):
    path = "/settings/stores"
    guards = [requires_role(Role.ADMIN)]  # noqa: RUF012 - Litestar reads these class attributes
    dependencies = {"stores": Provide(provide_store_service)}  # noqa: RUF012
    include_in_schema = False

    @get("/", name="stores-admin:index")
    async def index(
        self, stores: NamedDependency[StoreService], state: State, notice: FromQuery[str] = ""
    ) -> Template:
        runtime: Runtime = state.runtime
        rows = [
            {"store": s, "push_url": store_push_url(runtime.settings, s), "masked": stores.masked(s)}
            for s in await stores.list_stores()
        ]
        return Template(
            "stores/admin/index.html",
            context={
                "rows": rows,
                "notice": _notice(notice),
                "push_url_warning": push_url_warning(runtime.settings),
            },
        )

    @get("/new", name="stores-admin:new")
    async def new(self) -> Template:
        return _store_form(StoreForm(), store=None)

    @post("/", name="stores-admin:create", status_code=200)
    async def create(
        self, stores: NamedDependency[StoreService], state: State, data: Annotated[StoreForm, Form]
    ) -> Template | Redirect:
        result = await stores.create(data)
        if isinstance(result, Invalid | CheckFailed):
            return _store_form(data, store=None, refused=result)
        return _saved(state, self.path, result, "created")

    @get("/{store_id:int}", name="stores-admin:edit")
    async def edit(
        self, stores: NamedDependency[StoreService], store_id: FromPath[int], notice: FromQuery[str] = ""
    ) -> Template:
        store = _found(await stores.get(store_id))
        form = StoreForm(name=store.name, appid=store.appid, token_api=store.token_api)
        return _store_form(form, store=store, masked=stores.masked(store), notice=_notice(notice))

    @post("/{store_id:int}", name="stores-admin:update", status_code=200)
    async def update(
        self,
        stores: NamedDependency[StoreService],
        state: State,
        store_id: FromPath[int],
        data: Annotated[StoreForm, Form],
    ) -> Template | Redirect:
        store = _found(await stores.get(store_id))
        result = await stores.update(store, data)
        if isinstance(result, Invalid | CheckFailed):
            return _store_form(data, store=store, masked=stores.masked(store), refused=result)
        return _saved(state, f"{self.path}/{store_id}", result, "saved")

    @get("/{store_id:int}/deactivate", name="stores-admin:confirm-deactivate")
    async def confirm_deactivate(
        self, stores: NamedDependency[StoreService], store_id: FromPath[int]
    ) -> Template:
        store = _found(await stores.get(store_id))
        return _confirm_deactivate("store", store.name, f"{self.path}/{store.id}/deactivate", self.path)

    @post("/{store_id:int}/deactivate", name="stores-admin:deactivate")
    async def deactivate(
        self,
        stores: NamedDependency[StoreService],
        store_id: FromPath[int],
        data: Annotated[Confirmation, Form],
    ) -> Redirect:
        """Deactivate once the admin confirmed on the confirmation page; else show that page."""
        store = _found(await stores.get(store_id))
        if not data.confirmed:
            return Redirect(f"{self.path}/{store.id}/deactivate")
        await stores.set_active(store, active=False)
        return Redirect(f"{self.path}?notice=deactivated")

    @post("/{store_id:int}/activate", name="stores-admin:activate")
    async def activate(self, stores: NamedDependency[StoreService], store_id: FromPath[int]) -> Redirect:
        await stores.set_active(_found(await stores.get(store_id)), active=True)
        return Redirect(f"{self.path}?notice=activated")


class CorpsAdminController(Controller):
    path = "/settings/wecom"
    guards = [requires_role(Role.ADMIN)]  # noqa: RUF012 - Litestar reads these class attributes
    dependencies = {"corps": Provide(provide_corp_service)}  # noqa: RUF012
    include_in_schema = False

    @get("/", name="wecom-admin:index")
    async def index(
        self, corps: NamedDependency[CorpService], state: State, notice: FromQuery[str] = ""
    ) -> Template:
        runtime: Runtime = state.runtime
        rows = [
            {"corp": c, "push_url": corp_push_url(runtime.settings, c), "masked": corps.masked(c)}
            for c in await corps.list_corps()
        ]
        stores = {s.id: s for s in await all_stores(corps.session)}
        return Template(
            "stores/wecom/index.html",
            context={
                "rows": rows,
                "stores": stores,
                "notice": _notice(notice),
                "push_url_warning": push_url_warning(runtime.settings),
            },
        )

    @get("/new", name="wecom-admin:new")
    async def new(self, corps: NamedDependency[CorpService]) -> Template:
        return await _corp_form(corps, CorpForm(), corp=None)

    @post("/", name="wecom-admin:create", status_code=200)
    async def create(
        self, corps: NamedDependency[CorpService], state: State, data: Annotated[CorpForm, Form]
    ) -> Template | Redirect:
        result = await corps.create(data)
        if isinstance(result, Invalid | CheckFailed):
            return await _corp_form(corps, data, corp=None, refused=result)
        return _saved(state, self.path, result, "created")

    @get("/{corp_id:int}", name="wecom-admin:edit")
    async def edit(
        self, corps: NamedDependency[CorpService], corp_id: FromPath[int], notice: FromQuery[str] = ""
    ) -> Template:
        corp = _found(await corps.get(corp_id))
        form = CorpForm(
            name=corp.name,
            corpid=corp.corpid,
            default_store_id=str(corp.default_store_id) if corp.default_store_id else "",
        )
        return await _corp_form(corps, form, corp=corp, notice=_notice(notice))

    @post("/{corp_id:int}", name="wecom-admin:update", status_code=200)
    async def update(
        self,
        corps: NamedDependency[CorpService],
        state: State,
        corp_id: FromPath[int],
        data: Annotated[CorpForm, Form],
    ) -> Template | Redirect:
        corp = _found(await corps.get(corp_id))
        result = await corps.update(corp, data)
        if isinstance(result, Invalid | CheckFailed):
            return await _corp_form(corps, data, corp=corp, refused=result)
        return _saved(state, f"{self.path}/{corp_id}", result, "saved")

    @get("/{corp_id:int}/deactivate", name="wecom-admin:confirm-deactivate")
    async def confirm_deactivate(
        self, corps: NamedDependency[CorpService], corp_id: FromPath[int]
    ) -> Template:
        corp = _found(await corps.get(corp_id))
        return _confirm_deactivate("corp", corp.name, f"{self.path}/{corp.id}/deactivate", self.path)

    @post("/{corp_id:int}/deactivate", name="wecom-admin:deactivate")
    async def deactivate(
        self, corps: NamedDependency[CorpService], corp_id: FromPath[int], data: Annotated[Confirmation, Form]
    ) -> Redirect:
        """Deactivate once the admin confirmed on the confirmation page; else show that page."""
        corp = _found(await corps.get(corp_id))
        if not data.confirmed:
            return Redirect(f"{self.path}/{corp.id}/deactivate")
        await corps.set_active(corp, active=False)
        return Redirect(f"{self.path}?notice=deactivated")

    @post("/{corp_id:int}/activate", name="wecom-admin:activate")
    async def activate(self, corps: NamedDependency[CorpService], corp_id: FromPath[int]) -> Redirect:
        await corps.set_active(_found(await corps.get(corp_id)), active=True)
        return Redirect(f"{self.path}?notice=activated")


RowT = TypeVar("RowT", Store, WeComCorp)


def _found(row: RowT | None) -> RowT:
    if row is None:
        raise NotFoundException()
    return row


def _refusal(refused: Invalid | CheckFailed | None) -> dict[str, Any]:
    """What a refused form shows: the field errors, or the failed connection test."""
    return {
        "errors": refused.errors if isinstance(refused, Invalid) else {},
        "check_failed": refused.problem if isinstance(refused, CheckFailed) else None,
    }


def _store_form(
    form: StoreForm,
    *,
    store: Store | None,
    masked: Any = None,
    refused: Invalid | CheckFailed | None = None,
    notice: str = "",
) -> Template:
    return Template(
        "stores/admin/form.html",
        context={"form": form, "store": store, "masked": masked, "notice": notice, **_refusal(refused)},
        status_code=400 if refused else 200,
    )


async def _corp_form(
    corps: CorpService,
    form: CorpForm,
    *,
    corp: WeComCorp | None,
    refused: Invalid | CheckFailed | None = None,
    notice: str = "",
) -> Template:
    return Template(
        "stores/wecom/form.html",
        context={
            "form": form,
            "corp": corp,
            "masked": corps.masked(corp) if corp else None,
            "stores": await all_stores(corps.session),
            "notice": notice,
            **_refusal(refused),
        },
        status_code=400 if refused else 200,
    )
