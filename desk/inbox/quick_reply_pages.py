"""Quick reply pages: a store's shared set (admins), one's own set (everyone), and the picker.

- ``/settings/quick-replies`` — admins pick a store, then list, add, edit, delete its shared
  replies, export them as CSV and import a CSV (checked first; see :mod:`desk.inbox.quick_reply_csv`).
- ``/inbox/quick-replies`` — each user's personal replies.
- ``/inbox/quick-replies/picker?conversation=ID&q=…`` — the partial the composer opens on ``/``:
  the replies usable in that conversation, filled for its buyer. Each option inserts its text and
  counts a use (``POST /inbox/quick-replies/{id}/use``).
"""

from __future__ import annotations

from typing import Annotated, Any, NamedTuple, TypeVar
from urllib.parse import quote

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State, UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.auth import requires_role
from desk.accounts.models import Role, User
from desk.errors import Invalid
from desk.i18n import Message
from desk.inbox.quick_replies import (
    MAX_TEXT_LENGTH,
    MAX_TITLE_LENGTH,
    QuickReplyForm,
    QuickReplyView,
    ReplySet,
    create_reply,
    delete_reply,
    get_reply,
    list_replies,
    record_use,
    replies_for_conversation,
    update_reply,
)
from desk.inbox.quick_reply_csv import (
    MAX_CSV_BYTES,
    CheckedImport,
    ImportResult,
    PendingImports,
    apply_pending,
    export_csv,
    import_file,
)
from desk.inbox.reply_variables import VARIABLES
from desk.runtime import Runtime
from desk.stores.models import Store
from desk.stores.services import all_stores

__all__ = ["ROUTES", "PersonalQuickRepliesController", "SharedQuickRepliesController"]

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
Upload = Body(media_type=RequestEncodingType.MULTI_PART)
RowT = TypeVar("RowT")
NOTICES = frozenset({"created", "saved", "deleted", "imported"})
PENDING_IMPORTS_KV = "quick-reply-imports"


class ImportUpload(msgspec.Struct, kw_only=True):
    """The import form: one CSV file (absent when the admin chose none)."""

    file: UploadFile | None = None


class Crumb(NamedTuple):
    """A breadcrumb link: its text (a message key, then ``label`` if any, e.g. a store's name)
    and where it goes."""

    key: str
    href: str
    label: str = ""


def _notice(value: str) -> str:
    return value if value in NOTICES else ""


def _form_template(
    *,
    form: QuickReplyForm,
    action: str,
    cancel: str,
    breadcrumb: list[Crumb],
    reply: QuickReplyView | None,
    delete_action: str = "",
    errors: Invalid | None = None,
    notice: str = "",
) -> Template:
    return Template(
        "inbox/quick_replies/form.html",
        context={
            "form": form,
            "action": action,
            "cancel": cancel,
            "breadcrumb": breadcrumb,
            "reply": reply,
            "delete_action": delete_action,
            "errors": errors.errors if errors else {},
            "notice": notice,
            "variables": list(VARIABLES.values()),
            "max_title": MAX_TITLE_LENGTH,
            "max_text": MAX_TEXT_LENGTH,
        },
        status_code=400 if errors else 200,
    )


def _as_form(reply: QuickReplyView) -> QuickReplyForm:
    return QuickReplyForm(title=reply.title, text=reply.text)


def _found(row: RowT | None) -> RowT:
    if row is None:
        raise NotFoundException()
    return row


def _imported(path: str, store_id: int, result: ImportResult) -> Redirect:
    counts = f"{result.created}-{result.updated}-{result.unchanged}"
    return Redirect(f"{path}?store={store_id}&notice=imported&counts={counts}")


def _read_counts(value: str) -> dict[str, int]:
    """What :func:`_imported` put in the URL, for the notice (zeros if it was tampered with)."""
    parts = value.split("-")
    numbers = [int(p) for p in parts if p.isascii() and p.isdigit() and len(p) < 10]
    if len(numbers) != len(parts) or len(numbers) != 3:
        numbers = [0, 0, 0]
    return dict(zip(("created", "updated", "unchanged"), numbers, strict=True))


class SharedQuickRepliesController(Controller):
    """A store's shared replies, managed by admins (who see every store)."""

    path = "/settings/quick-replies"
    guards = [requires_role(Role.ADMIN)]  # noqa: RUF012 - Litestar reads these class attributes
    include_in_schema = False

    @get("/", name="quick-replies-admin:index")
    async def index(
        self,
        db_session: NamedDependency[AsyncSession],
        store: FromQuery[int | None] = None,
        q: FromQuery[str] = "",
        notice: FromQuery[str] = "",
        counts: FromQuery[str] = "",
    ) -> Template:
        """A store's shared replies (the first store's when none is named)."""
        stores = await all_stores(db_session)
        current = next((s for s in stores if s.id == store), None) if store is not None else None
        if store is not None and current is None:
            raise NotFoundException()
        current = current or (stores[0] if stores else None)
        replies = await list_replies(db_session, ReplySet.shared(current.id), query=q) if current else []
        return Template(
            "inbox/quick_replies/shared.html",
            context={
                "stores": stores,
                "store": current,
                "replies": replies,
                "query": q.strip(),
                "notice": _notice(notice),
                "counts": _read_counts(counts),
            },
        )

    @get("/{store_id:int}/new", name="quick-replies-admin:new")
    async def new(self, db_session: NamedDependency[AsyncSession], store_id: FromPath[int]) -> Template:
        store = _found(await db_session.get(Store, store_id))
        return self._form(store, QuickReplyForm(), reply=None)

    @post("/{store_id:int}", name="quick-replies-admin:create", status_code=200)
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        store_id: FromPath[int],
        data: Annotated[QuickReplyForm, Form],
    ) -> Template | Redirect:
        store = _found(await db_session.get(Store, store_id))
        result = await create_reply(db_session, ReplySet.shared(store.id), data)
        if isinstance(result, Invalid):
            return self._form(store, data, reply=None, errors=result)
        return Redirect(f"{self.path}?store={store.id}&notice=created")

    @get("/{store_id:int}/{reply_id:int}", name="quick-replies-admin:edit")
    async def edit(
        self,
        db_session: NamedDependency[AsyncSession],
        store_id: FromPath[int],
        reply_id: FromPath[int],
        notice: FromQuery[str] = "",
    ) -> Template:
        store = _found(await db_session.get(Store, store_id))
        reply = _found(await get_reply(db_session, ReplySet.shared(store.id), reply_id))
        return self._form(store, _as_form(reply), reply=reply, notice=_notice(notice))

    @post("/{store_id:int}/{reply_id:int}", name="quick-replies-admin:update", status_code=200)
    async def update(
        self,
        db_session: NamedDependency[AsyncSession],
        store_id: FromPath[int],
        reply_id: FromPath[int],
        data: Annotated[QuickReplyForm, Form],
    ) -> Template | Redirect:
        store = _found(await db_session.get(Store, store_id))
        reply = _found(await get_reply(db_session, ReplySet.shared(store.id), reply_id))
        result = await update_reply(db_session, ReplySet.shared(store.id), reply_id, data)
        if isinstance(result, Invalid):
            return self._form(store, data, reply=reply, errors=result)
        return Redirect(f"{self.path}?store={store.id}&notice=saved")

    @post("/{store_id:int}/{reply_id:int}/delete", name="quick-replies-admin:delete")
    async def delete(
        self, db_session: NamedDependency[AsyncSession], store_id: FromPath[int], reply_id: FromPath[int]
    ) -> Redirect:
        if not await delete_reply(db_session, ReplySet.shared(store_id), reply_id):
            raise NotFoundException()
        return Redirect(f"{self.path}?store={store_id}&notice=deleted")

    @get("/{store_id:int}/export", name="quick-replies-admin:export")
    async def export(
        self, db_session: NamedDependency[AsyncSession], store_id: FromPath[int]
    ) -> Response[bytes]:
        store = _found(await db_session.get(Store, store_id))
        body = export_csv(await list_replies(db_session, ReplySet.shared(store.id)))
        name = f"话术库-{store.name}.csv"
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={
                # An ASCII fallback for old clients, the real (Chinese) name for everyone else.
                "content-disposition": (
                    f"attachment; filename=\"quick-replies-{store.id}.csv\"; filename*=UTF-8''{quote(name)}"
                ),
                "cache-control": "no-store",
            },
        )

    @get("/{store_id:int}/import", name="quick-replies-admin:import-form")
    async def import_form(
        self, db_session: NamedDependency[AsyncSession], store_id: FromPath[int]
    ) -> Template:
        store = _found(await db_session.get(Store, store_id))
        return _import_template(store)

    @post("/{store_id:int}/import", name="quick-replies-admin:import", status_code=200)
    async def upload(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        state: State,
        store_id: FromPath[int],
        data: Annotated[ImportUpload, Upload],
    ) -> Template | Redirect:
        store = _found(await db_session.get(Store, store_id))
        upload = data.file
        if upload is None or not upload.filename:
            return _import_template(store, errors=Invalid({"file": Message("quick_replies.csv.choose")}))
        # One byte past the limit is enough to tell a file that is too big.
        outcome = await import_file(
            db_session,
            _pending(state),
            store_id=store.id,
            user_id=request.user.id,
            data=await upload.read(MAX_CSV_BYTES + 1),
        )
        if isinstance(outcome, Invalid):
            return _import_template(store, errors=outcome, filename=upload.filename)
        if isinstance(outcome, CheckedImport):
            return _import_template(store, checked=outcome, filename=upload.filename)
        return _imported(self.path, store.id, outcome)

    @post("/{store_id:int}/import/{token:str}", name="quick-replies-admin:apply", status_code=200)
    async def apply_valid(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        state: State,
        store_id: FromPath[int],
        token: FromPath[str],
    ) -> Template | Redirect:
        store = _found(await db_session.get(Store, store_id))
        outcome = await apply_pending(
            db_session, _pending(state), token=token, store_id=store.id, user_id=request.user.id
        )
        if isinstance(outcome, Invalid):
            return _import_template(store, errors=outcome)
        return _imported(self.path, store.id, outcome)

    def _form(
        self,
        store: Store,
        form: QuickReplyForm,
        *,
        reply: QuickReplyView | None,
        errors: Invalid | None = None,
        notice: str = "",
    ) -> Template:
        base = f"{self.path}/{store.id}"
        return _form_template(
            form=form,
            action=f"{base}/{reply.id}" if reply else base,
            cancel=f"{self.path}?store={store.id}",
            breadcrumb=[
                Crumb("nav.settings", "/settings"),
                Crumb("quick_replies.shared_title", f"{self.path}?store={store.id}", store.name),
            ],
            reply=reply,
            delete_action=f"{base}/{reply.id}/delete" if reply else "",
            errors=errors,
            notice=notice,
        )


class PersonalQuickRepliesController(Controller):
    """Each user's own replies, and the picker that offers them with the store's shared ones."""

    path = "/inbox/quick-replies"
    guards = [requires_role(Role.AGENT)]  # noqa: RUF012 - Litestar reads these class attributes
    include_in_schema = False

    @get("/", name="quick-replies:index")
    async def index(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        q: FromQuery[str] = "",
        notice: FromQuery[str] = "",
    ) -> Template:
        replies = await list_replies(db_session, ReplySet.personal(request.user.id), query=q)
        return Template(
            "inbox/quick_replies/personal.html",
            context={"replies": replies, "query": q.strip(), "notice": _notice(notice)},
        )

    @get("/new", name="quick-replies:new")
    async def new(self) -> Template:
        return self._form(QuickReplyForm(), reply=None)

    @post("/", name="quick-replies:create", status_code=200)
    async def create(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        data: Annotated[QuickReplyForm, Form],
    ) -> Template | Redirect:
        result = await create_reply(db_session, ReplySet.personal(request.user.id), data)
        if isinstance(result, Invalid):
            return self._form(data, reply=None, errors=result)
        return Redirect(f"{self.path}?notice=created")

    @get("/{reply_id:int}", name="quick-replies:edit")
    async def edit(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reply_id: FromPath[int],
    ) -> Template:
        reply = _found(await get_reply(db_session, ReplySet.personal(request.user.id), reply_id))
        return self._form(_as_form(reply), reply=reply)

    @post("/{reply_id:int}", name="quick-replies:update", status_code=200)
    async def update(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reply_id: FromPath[int],
        data: Annotated[QuickReplyForm, Form],
    ) -> Template | Redirect:
        mine = ReplySet.personal(request.user.id)
        reply = _found(await get_reply(db_session, mine, reply_id))
        result = await update_reply(db_session, mine, reply_id, data)
        if isinstance(result, Invalid):
            return self._form(data, reply=reply, errors=result)
        return Redirect(f"{self.path}?notice=saved")

    @post("/{reply_id:int}/delete", name="quick-replies:delete")
    async def delete(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reply_id: FromPath[int],
    ) -> Redirect:
        if not await delete_reply(db_session, ReplySet.personal(request.user.id), reply_id):
            raise NotFoundException()
        return Redirect(f"{self.path}?notice=deleted")

    @get("/picker", name="quick-replies:picker")
    async def picker(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        conversation: FromQuery[int],
        q: FromQuery[str] = "",
    ) -> Template:
        """The replies usable in ``conversation``, filled for its buyer (404 outside one's stores)."""
        filled = await replies_for_conversation(db_session, request.user, conversation, query=q)
        return Template(
            "inbox/_quick_picker.html",
            context={"filled": filled, "query": q.strip(), "max_text": MAX_TEXT_LENGTH},
        )

    @post("/{reply_id:int}/use", name="quick-replies:use", status_code=204)
    async def use(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reply_id: FromPath[int],
    ) -> None:
        """Count one use of a reply the user chose in the picker."""
        if not await record_use(db_session, request.user, reply_id):
            raise NotFoundException()

    def _form(
        self,
        form: QuickReplyForm,
        *,
        reply: QuickReplyView | None,
        errors: Invalid | None = None,
    ) -> Template:
        return _form_template(
            form=form,
            action=f"{self.path}/{reply.id}" if reply else self.path,
            cancel=self.path,
            breadcrumb=[Crumb("nav.inbox", "/inbox"), Crumb("quick_replies.personal_title", self.path)],
            reply=reply,
            delete_action=f"{self.path}/{reply.id}/delete" if reply else "",
            errors=errors,
        )


def _pending(state: State) -> PendingImports:
    runtime: Runtime = state.runtime
    return PendingImports(runtime.kv(PENDING_IMPORTS_KV))


def _import_template(
    store: Store,
    *,
    errors: Invalid | None = None,
    checked: CheckedImport | None = None,
    filename: str = "",
) -> Template:
    return Template(
        "inbox/quick_replies/import.html",
        context={
            "store": store,
            "errors": errors.errors if errors else {},
            "reading": checked.reading if checked else None,
            "token": checked.token if checked else "",
            "filename": filename,
            "max_mb": MAX_CSV_BYTES // (1024 * 1024),
        },
        status_code=400 if errors or checked else 200,
    )


ROUTES = [SharedQuickRepliesController, PersonalQuickRepliesController]
