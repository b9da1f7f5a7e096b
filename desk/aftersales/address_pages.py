"""Settings → return addresses (一货一址), for admins: a store's merchant addresses and bindings.

- ``/settings/addresses?store=ID`` — the store's addresses (sync from the platform, add one),
  its bindings (bind a SKU, a product or the store default; remove), and "which address would
  a return use" for a SKU and product, with the reason it wins.
- ``…/{store}/import`` — a CSV file checked first, applied whole or (by choice) its valid rows;
  ``…/{store}/export?scope=sku|product`` — the bindings as CSV.

Syncing and adding are outbound commands run by the worker: the page shows the command's
progress (an htmx poll) and reloads when it is done.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State, UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.auth import requires_role
from desk.accounts.models import Role, User
from desk.accounts.scoping import get_scoped
from desk.aftersales.address_book import (
    ADD_KIND,
    SYNC_KIND,
    AddressForm,
    list_addresses,
    new_request_key,
    request_add,
    request_sync,
)
from desk.aftersales.addresses import return_address_for
from desk.aftersales.binding_csv import MAX_CSV_BYTES, CsvScope, export_csv
from desk.aftersales.binding_import import CheckedFile, PendingImports, apply_rows, check_file, recheck
from desk.aftersales.return_bindings import (
    BindingForm,
    BindingScope,
    bind,
    count_bindings,
    list_bindings,
    unbind,
)
from desk.audit.service import Actor
from desk.commands.errors import describe_error
from desk.commands.models import CommandState, OutboundCommand
from desk.commands.service import command_for
from desk.errors import Invalid
from desk.i18n import Message
from desk.runtime import Runtime
from desk.stores.models import Store
from desk.stores.services import stores_visible_to

__all__ = ["ROUTES", "AddressesAdminController", "CommandNotice"]

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
Upload = Body(media_type=RequestEncodingType.MULTI_PART)
PENDING_IMPORTS_KV = "address-binding-imports"
BINDINGS_SHOWN = 200
"""Bindings listed on the page; the export has them all."""
UPLOAD_BODY_LIMIT = 64 * 1024 * 1024
"""Bodies the import accepts: well over :data:`MAX_CSV_BYTES`, so that a file a few times too big
still reaches the form and gets its message there, not a bare 413."""
NOTICES = frozenset({"saved", "removed", "imported"})


class SyncForm(msgspec.Struct, kw_only=True):
    request_key: str = ""


class ImportUpload(msgspec.Struct, kw_only=True):
    file: UploadFile | None = None


class CommandNotice(msgspec.Struct, frozen=True, kw_only=True):
    """How a sync or add command is doing, as the page tells it."""

    id: int
    finished: bool
    ok: bool
    message: Message
    detail: Message | None = None
    """Why it failed: the platform's errcode in words (:func:`desk.commands.errors.describe_error`)."""


def _command_notice(command: OutboundCommand) -> CommandNotice:
    state = command.state
    finished = state in (CommandState.SUCCEEDED, CommandState.FAILED)
    detail = None
    if state is CommandState.FAILED:
        message = Message("addresses.command.failed")
        detail = describe_error(command.error_code, command.last_error or "")
    elif state is CommandState.SUCCEEDED and command.kind == SYNC_KIND:
        message = Message("addresses.command.sync_succeeded", {"count": int(command.result.get("count", 0))})
    elif state is CommandState.SUCCEEDED:
        address = command.result.get("address", {})
        key = "add_already" if command.result.get("already") else "add_succeeded"
        message = Message(f"addresses.command.{key}", {"address_id": str(address.get("address_id", ""))})
    else:
        message = Message(f"addresses.command.{state.value}")
    return CommandNotice(
        id=command.id, finished=finished, ok=state is CommandState.SUCCEEDED, message=message, detail=detail
    )


def _actor(user: User) -> Actor:
    return Actor.user(user.id, user.display_name or user.username)


def _runtime(state: State) -> Runtime:
    runtime: Runtime = state.runtime
    return runtime


def _pending(state: State) -> PendingImports:
    return PendingImports(_runtime(state).kv(PENDING_IMPORTS_KV))


async def _store(session: AsyncSession, user: User, store_id: int) -> Store:
    return await get_scoped(session, Store, user, Store.id == store_id, scope_column=Store.id)


async def _command(session: AsyncSession, store: Store, command_id: int) -> OutboundCommand:
    command = await command_for(session, command_id)
    if command is None or command.store_id != store.id or command.kind not in (SYNC_KIND, ADD_KIND):
        raise NotFoundException()
    return command


def _index_url(store_id: int, **query: str | int) -> str:
    extra = "".join(f"&{name}={quote(str(value))}" for name, value in query.items())
    return f"{AddressesAdminController.path}?store={store_id}{extra}"


class AddressesAdminController(Controller):
    path = "/settings/addresses"
    guards = [requires_role(Role.ADMIN)]  # noqa: RUF012 - Litestar reads these class attributes
    include_in_schema = False

    @get("/", name="addresses-admin:index")
    async def index(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        *,
        store: FromQuery[int | None] = None,
        notice: FromQuery[str] = "",
        count: FromQuery[int] = 0,
        command: FromQuery[int | None] = None,
        sku: FromQuery[str] = "",
        product: FromQuery[str] = "",
    ) -> Template:
        """A store's addresses and bindings (the first store's when none is named)."""
        stores = await stores_visible_to(db_session, request.user)
        current = next((s for s in stores if s.id == store), None) if store is not None else None
        if store is not None and current is None:
            raise NotFoundException()
        current = current or (stores[0] if stores else None)
        if current is None:
            return Template("aftersales/addresses/index.html", context={"stores": [], "store": None})
        notice_command = (
            _command_notice(await _command(db_session, current, command)) if command is not None else None
        )
        return await _index_template(
            db_session,
            stores,
            current,
            notice=notice if notice in NOTICES else "",
            count=count,
            command=notice_command,
            sku=sku.strip()[:32],
            product=product.strip()[:32],
        )

    @post("/{store_id:int}/sync", name="addresses-admin:sync")
    async def sync(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        state: State,
        store_id: FromPath[int],
        data: Annotated[SyncForm, Form],
    ) -> Redirect:
        store = await _store(db_session, request.user, store_id)
        # The key drawn with the page: a double click is one sync; a page without one gets its own.
        key = data.request_key if 16 <= len(data.request_key) <= 43 else new_request_key()
        ref = await request_sync(
            db_session, _runtime(state).wakeup, store.id, request_key=key, user_id=request.user.id
        )
        return Redirect(_index_url(store.id, command=ref.id))

    @get("/{store_id:int}/commands/{command_id:int}", name="addresses-admin:command")
    async def command_progress(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        store_id: FromPath[int],
        command_id: FromPath[int],
    ) -> Template:
        """The command's progress (polled by htmx); once it is done the page reloads to show it."""
        store = await _store(db_session, request.user, store_id)
        notice = _command_notice(await _command(db_session, store, command_id))
        return Template(
            "aftersales/addresses/_command.html",
            context={"command": notice, "store": store},
            headers={"HX-Refresh": "true"} if notice.finished else None,
        )

    @get("/{store_id:int}/new", name="addresses-admin:new")
    async def new(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        store_id: FromPath[int],
    ) -> Template:
        store = await _store(db_session, request.user, store_id)
        return _address_form(store, AddressForm(request_key=new_request_key()))

    @post("/{store_id:int}/new", name="addresses-admin:create", status_code=200)
    async def create(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        state: State,
        store_id: FromPath[int],
        data: Annotated[AddressForm, Form],
    ) -> Template | Redirect:
        store = await _store(db_session, request.user, store_id)
        result = await request_add(
            db_session, _runtime(state).wakeup, store.id, data, actor=_actor(request.user)
        )
        if isinstance(result, Invalid):
            if "request_key" in result.errors:
                data = msgspec.structs.replace(data, request_key=new_request_key())
            return _address_form(store, data, errors=result)
        return Redirect(_index_url(store.id, command=result.id))

    @post("/{store_id:int}/bindings", name="addresses-admin:bind", status_code=200)
    async def bind(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        store_id: FromPath[int],
        data: Annotated[BindingForm, Form],
    ) -> Template | Redirect:
        store = await _store(db_session, request.user, store_id)
        result = await bind(db_session, store.id, data, actor=_actor(request.user))
        if isinstance(result, Invalid):
            stores = await stores_visible_to(db_session, request.user)
            return await _index_template(db_session, stores, store, bind_form=data, bind_errors=result)
        return Redirect(_index_url(store.id, notice="saved"))

    @post("/{store_id:int}/bindings/{binding_id:int}/delete", name="addresses-admin:unbind")
    async def unbind(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        store_id: FromPath[int],
        binding_id: FromPath[int],
    ) -> Redirect:
        store = await _store(db_session, request.user, store_id)
        if not await unbind(db_session, store.id, binding_id, actor=_actor(request.user)):
            raise NotFoundException()
        return Redirect(_index_url(store.id, notice="removed"))

    @get("/{store_id:int}/export", name="addresses-admin:export")
    async def export(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        store_id: FromPath[int],
        # ``scope`` names the ASGI scope for Litestar: the query parameter is read under another name.
        binds: Annotated[CsvScope, QueryParameter(name="scope")] = CsvScope.SKU,
    ) -> Response[bytes]:
        store = await _store(db_session, request.user, store_id)
        views = await list_bindings(db_session, store.id, scope=BindingScope(binds.value))
        body = export_csv(binds, ((v.ref, v.address_id) for v in views))
        name = f"一货一址-{store.name}-{binds.value}.csv"
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={
                # An ASCII fallback for old clients, the real (Chinese) name for everyone else.
                "content-disposition": (
                    f'attachment; filename="return-addresses-{store.id}-{binds.value}.csv"; '
                    f"filename*=UTF-8''{quote(name)}"
                ),
                "cache-control": "no-store",
            },
        )

    @get("/{store_id:int}/import", name="addresses-admin:import-form")
    async def import_form(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        store_id: FromPath[int],
    ) -> Template:
        return _import_template(await _store(db_session, request.user, store_id))

    @post(
        "/{store_id:int}/import",
        name="addresses-admin:import",
        status_code=200,
        request_max_body_size=UPLOAD_BODY_LIMIT,
    )
    async def upload(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        state: State,
        store_id: FromPath[int],
        data: Annotated[ImportUpload, Upload],
    ) -> Template | Redirect:
        store = await _store(db_session, request.user, store_id)
        upload = data.file
        if upload is None or not upload.filename:
            return _import_template(store, errors=Invalid({"file": Message("addresses.csv.choose")}))
        # One byte past the limit is enough to tell a file that is too big.
        checked = await check_file(db_session, store.id, await upload.read(MAX_CSV_BYTES + 1))
        if isinstance(checked, Invalid):
            return _import_template(store, errors=checked, filename=upload.filename)
        if checked.problems:
            token = await _pending(state).put(store.id, request.user.id, checked)
            return _import_template(store, checked=checked, token=token, filename=upload.filename)
        written = await apply_rows(
            db_session, store.id, checked.scope, checked.rows, actor=_actor(request.user)
        )
        return Redirect(_index_url(store.id, notice="imported", count=written))

    @post("/{store_id:int}/import/{token:str}", name="addresses-admin:apply", status_code=200)
    async def apply_valid(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        state: State,
        store_id: FromPath[int],
        token: FromPath[str],
    ) -> Template | Redirect:
        store = await _store(db_session, request.user, store_id)
        taken = await _pending(state).take(token, store.id, request.user.id)
        if taken is None:
            return _import_template(store, errors=Invalid({"file": Message("addresses.csv.expired")}))
        checked = await recheck(db_session, store.id, *taken)
        if checked.problems:  # changed since the upload: show what is left, to be chosen again
            token = await _pending(state).put(store.id, request.user.id, checked)
            return _import_template(store, checked=checked, token=token)
        written = await apply_rows(
            db_session, store.id, checked.scope, checked.rows, actor=_actor(request.user)
        )
        return Redirect(_index_url(store.id, notice="imported", count=written))


async def _index_template(
    session: AsyncSession,
    stores: list[Store],
    store: Store,
    *,
    notice: str = "",
    count: int = 0,
    command: CommandNotice | None = None,
    sku: str = "",
    product: str = "",
    bind_form: BindingForm | None = None,
    bind_errors: Invalid | None = None,
) -> Template:
    addresses = await list_addresses(session, store.id)
    chosen = (
        await return_address_for(session, store.id, sku_id=sku, product_id=product)
        if sku or product
        else None
    )
    counts = await count_bindings(session, store.id)
    return Template(
        "aftersales/addresses/index.html",
        context={
            "stores": stores,
            "store": store,
            "addresses": addresses,
            "return_addresses": [a for a in addresses if a.is_return],
            "bindings": await list_bindings(session, store.id, limit=BINDINGS_SHOWN),
            "counts": counts,
            "total_bindings": sum(counts.values()),
            "shown": BINDINGS_SHOWN,
            "notice": notice,
            "count": count,
            "command": command,
            "sync_key": new_request_key(),
            "which": {
                "sku": sku,
                "product": product,
                "asked": bool(sku or product),
                "chosen": chosen,
                # A binding to an address a sync no longer found: approving would be refused.
                "stale": chosen is not None and chosen.address_id not in {a.address_id for a in addresses},
            },
            "bind_form": bind_form or BindingForm(scope="sku"),
            "errors": bind_errors.errors if bind_errors else {},
        },
        status_code=400 if bind_errors else 200,
    )


def _address_form(store: Store, form: AddressForm, *, errors: Invalid | None = None) -> Template:
    return Template(
        "aftersales/addresses/form.html",
        context={"store": store, "form": form, "errors": errors.errors if errors else {}},
        status_code=400 if errors else 200,
    )


def _import_template(
    store: Store,
    *,
    errors: Invalid | None = None,
    checked: CheckedFile | None = None,
    token: str = "",
    filename: str = "",
) -> Template:
    return Template(
        "aftersales/addresses/import.html",
        context={
            "store": store,
            "errors": errors.errors if errors else {},
            "checked": checked,
            "token": token,
            "filename": filename,
            "max_mb": MAX_CSV_BYTES // (1024 * 1024),
        },
        status_code=400 if errors or checked else 200,
    )


ROUTES = [AddressesAdminController]
