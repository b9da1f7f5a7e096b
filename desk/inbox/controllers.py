"""The agent's workbench (工作台): the queue, a conversation, the composer, and actions on it.

Every page is whole when loaded directly and a partial when htmx asks (``HX-Request``), so links
work with and without JavaScript. Actions are POSTs with the CSRF header htmx sends; each calls
one service and answers with the parts of the page it changed. Refused input comes back inline
with status 422 (htmx is configured to swap 4xx answers) and loses nothing the agent typed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, cast

import msgspec
from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.auth import requires_role
from desk.accounts.models import Role, User
from desk.errors import Invalid
from desk.i18n import Message as Text
from desk.inbox import replies, workflow
from desk.inbox.assignment import set_presence
from desk.inbox.colleagues import colleagues_for
from desk.inbox.models import ConversationStatus, Presence
from desk.inbox.presence import presence_of
from desk.inbox.queue import QueueFilter, Whose, queue_page, waiting_counts
from desk.inbox.thread import read_thread
from desk.runtime import Runtime
from desk.stores.services import stores_visible_to

__all__ = ["ROUTES", "InboxController"]

Form = Body(media_type=RequestEncodingType.URL_ENCODED)


class ReplyForm(msgspec.Struct, kw_only=True):
    text: str = ""
    request_id: str = ""
    take_over: str = ""
    note: str = ""
    """Non-empty: an internal note, not sent to the buyer."""


class TransferForm(msgspec.Struct, kw_only=True):
    to: str = ""


class PresenceForm(msgspec.Struct, kw_only=True):
    status: str = ""


def _runtime(state: State) -> Runtime:
    return cast(Runtime, state.runtime)


def _filter(whose: str, store: str, status: str, tag: str) -> QueueFilter:
    """The queue filter from query parameters; anything unrecognised falls back to the default."""
    try:
        whose_value = Whose(whose) if whose else Whose.ALL
    except ValueError:
        whose_value = Whose.ALL
    try:
        status_value = ConversationStatus(status) if status else ConversationStatus.OPEN
    except ValueError:
        status_value = ConversationStatus.OPEN
    store_id = int(store) if store.isascii() and store.isdigit() and len(store) < 18 else None
    return QueueFilter(whose=whose_value, store_id=store_id, status=status_value, tag=tag.strip()[:32])


def _new_request_id() -> str:
    return uuid.uuid4().hex


async def _queue_context(
    session: AsyncSession, user: User, filt: QueueFilter, now: dt.datetime, cursor: str = ""
) -> dict[str, Any]:
    page = await queue_page(session, user, filt, now=now, cursor=cursor)
    return {"page": page, "filter": filt, "now": now}


class InboxController(Controller):
    path = "/inbox"
    guards = [requires_role(Role.AGENT)]  # noqa: RUF012 - Litestar reads this class attribute
    include_in_schema = False

    # -- pages ---------------------------------------------------------------------------------------

    @get("/", name="inbox:index")
    async def index(
        self,
        *,
        request: HTMXRequest,
        state: State,
        db_session: NamedDependency[AsyncSession],
        whose: FromQuery[str] = "",
        store: FromQuery[str] = "",
        status: FromQuery[str] = "",
        tag: FromQuery[str] = "",
    ) -> Template:
        """The workbench with no conversation open."""
        return await self._page(request, state, db_session, _filter(whose, store, status, tag), None)

    @get("/c/{conversation_id:int}", name="inbox:conversation")
    async def conversation(
        self,
        *,
        request: HTMXRequest,
        state: State,
        db_session: NamedDependency[AsyncSession],
        conversation_id: FromPath[int],
        whose: FromQuery[str] = "",
        store: FromQuery[str] = "",
        status: FromQuery[str] = "",
        tag: FromQuery[str] = "",
    ) -> Template:
        """A conversation: the whole workbench, or (htmx) just its pane."""
        filt = _filter(whose, store, status, tag)
        if request.htmx and request.htmx.target == "thread-pane":
            return await self._thread(request, state, db_session, conversation_id)
        return await self._page(request, state, db_session, filt, conversation_id)

    async def _page(
        self,
        request: HTMXRequest,
        state: State,
        session: AsyncSession,
        filt: QueueFilter,
        conversation_id: int | None,
    ) -> Template:
        runtime = _runtime(state)
        user: User = request.user
        now = runtime.clock.now()
        context = await _queue_context(session, user, filt, now)
        thread = (
            await read_thread(session, user, conversation_id, now=now)
            if conversation_id is not None
            else None
        )
        return Template(
            "inbox/index.html",
            context={
                **context,
                "thread": thread,
                "counts": await waiting_counts(session, user),
                "stores": await stores_visible_to(session, user),
                "presence": await presence_of(session, user.id),
                "colleagues": await colleagues_for(session, thread.conversation.store_id) if thread else [],
                "request_id": _new_request_id(),
            },
        )

    async def _thread(
        self, request: HTMXRequest, state: State, session: AsyncSession, conversation_id: int
    ) -> Template:
        runtime = _runtime(state)
        thread = await read_thread(session, request.user, conversation_id, now=runtime.clock.now())
        return Template(
            "inbox/_thread.html",
            context={
                "thread": thread,
                "now": runtime.clock.now(),
                "colleagues": await colleagues_for(session, thread.conversation.store_id),
                "request_id": _new_request_id(),
            },
        )

    @get("/queue", name="inbox:queue")
    async def queue(
        self,
        *,
        request: HTMXRequest,
        state: State,
        db_session: NamedDependency[AsyncSession],
        whose: FromQuery[str] = "",
        store: FromQuery[str] = "",
        status: FromQuery[str] = "",
        tag: FromQuery[str] = "",
        cursor: FromQuery[str] = "",
        selected: FromQuery[int | None] = None,
    ) -> Template:
        """The queue list (refreshed live), or with ``cursor`` the next rows to append."""
        runtime = _runtime(state)
        filt = _filter(whose, store, status, tag)
        now = runtime.clock.now()
        context = await _queue_context(db_session, request.user, filt, now, cursor)
        template = "inbox/_queue_rows.html" if cursor else "inbox/_queue.html"
        counts = await waiting_counts(db_session, request.user) if not cursor else {}
        return Template(template, context={**context, "counts": counts, "selected": selected})

    @get("/c/{conversation_id:int}/head", name="inbox:head")
    async def head(
        self,
        request: HTMXRequest,
        state: State,
        db_session: NamedDependency[AsyncSession],
        conversation_id: FromPath[int],
    ) -> Template:
        """The conversation's header (refreshed live: holder, status, countdown)."""
        runtime = _runtime(state)
        now = runtime.clock.now()
        thread = await read_thread(db_session, request.user, conversation_id, now=now, limit=0)
        colleagues = await colleagues_for(db_session, thread.conversation.store_id)
        return Template(
            "inbox/_thread_head.html", context={"thread": thread, "now": now, "colleagues": colleagues}
        )

    @get("/c/{conversation_id:int}/messages", name="inbox:messages")
    async def messages(
        self,
        request: HTMXRequest,
        state: State,
        db_session: NamedDependency[AsyncSession],
        conversation_id: FromPath[int],
        before: FromQuery[int | None] = None,
    ) -> Template:
        """The thread's messages (refreshed live), or with ``before`` an earlier page."""
        runtime = _runtime(state)
        thread = await read_thread(
            db_session, request.user, conversation_id, now=runtime.clock.now(), before=before
        )
        template = "inbox/_earlier.html" if before else "inbox/_messages.html"
        return Template(template, context={"thread": thread, "now": runtime.clock.now()})

    # -- actions -------------------------------------------------------------------------------------

    @post("/c/{conversation_id:int}/reply", name="inbox:reply", status_code=200)
    async def reply(
        self,
        request: HTMXRequest,
        state: State,
        db_session: NamedDependency[AsyncSession],
        conversation_id: FromPath[int],
        data: Annotated[ReplyForm, Form],
    ) -> Template | Redirect:
        """Send a reply (or save a note); answers with the composer, ready for the next one."""
        runtime = _runtime(state)
        user: User = request.user
        now = runtime.clock.now()
        if data.note:
            result: Any = await replies.add_note(
                db_session, user=user, conversation_id=conversation_id, text=data.text, now=now
            )
        else:
            result = await replies.send_reply(
                db_session,
                runtime.wakeup,
                user=user,
                conversation_id=conversation_id,
                text=data.text,
                request_id=data.request_id,
                take_over=bool(data.take_over),
                now=now,
            )
        if not request.htmx:
            return Redirect(f"/inbox/c/{conversation_id}")
        thread = await read_thread(db_session, user, conversation_id, now=now)
        if isinstance(result, Invalid):
            return Template(
                "inbox/_composer.html",
                context={
                    "thread": thread,
                    "now": now,
                    "errors": result.errors,
                    "text": data.text,
                    "note": data.note,
                    "request_id": data.request_id or _new_request_id(),
                },
                status_code=422,
            )
        return Template(
            "inbox/_after_reply.html",
            context={
                "thread": thread,
                "now": now,
                "errors": {},
                "text": "",
                "request_id": _new_request_id(),
                "colleagues": await colleagues_for(db_session, thread.conversation.store_id),
            },
        )

    @post("/c/{conversation_id:int}/claim", name="inbox:claim", status_code=200)
    async def claim(
        self,
        request: HTMXRequest,
        state: State,
        db_session: NamedDependency[AsyncSession],
        conversation_id: FromPath[int],
    ) -> Template:
        runtime = _runtime(state)
        result = await workflow.claim(
            db_session, user=request.user, conversation_id=conversation_id, now=runtime.clock.now()
        )
        return await self._after_action(request, state, db_session, conversation_id, result)

    @post("/c/{conversation_id:int}/transfer", name="inbox:transfer", status_code=200)
    async def transfer(
        self,
        request: HTMXRequest,
        state: State,
        db_session: NamedDependency[AsyncSession],
        conversation_id: FromPath[int],
        data: Annotated[TransferForm, Form],
    ) -> Template:
        runtime = _runtime(state)
        to = int(data.to) if data.to.isascii() and data.to.isdigit() and len(data.to) < 18 else -1
        result = await workflow.transfer(
            db_session,
            user=request.user,
            conversation_id=conversation_id,
            to_user_id=to,
            now=runtime.clock.now(),
        )
        return await self._after_action(request, state, db_session, conversation_id, result)

    @post("/c/{conversation_id:int}/status/{status:str}", name="inbox:status", status_code=200)
    async def set_status(
        self,
        request: HTMXRequest,
        state: State,
        db_session: NamedDependency[AsyncSession],
        conversation_id: FromPath[int],
        status: FromPath[str],
    ) -> Template:
        """Resolve, reopen (``open``) or put on hold (``pending``)."""
        runtime = _runtime(state)
        try:
            target = ConversationStatus(status)
        except ValueError:
            return await self._after_action(
                request,
                state,
                db_session,
                conversation_id,
                Invalid({"status": Text("inbox.error.unknown_status")}),
            )
        await workflow.set_status(
            db_session,
            user=request.user,
            conversation_id=conversation_id,
            status=target,
            now=runtime.clock.now(),
        )
        return await self._after_action(request, state, db_session, conversation_id, None)

    @post("/messages/{message_id:int}/retry", name="inbox:retry", status_code=200)
    async def retry(
        self,
        request: HTMXRequest,
        state: State,
        db_session: NamedDependency[AsyncSession],
        message_id: FromPath[int],
    ) -> Template:
        """Send a failed reply again."""
        runtime = _runtime(state)
        result = await replies.retry_reply(
            db_session, runtime.wakeup, user=request.user, message_id=message_id, now=runtime.clock.now()
        )
        if isinstance(result, Invalid):
            return Template("inbox/_flash.html", context={"errors": result.errors}, status_code=422)
        return await self._after_action(request, state, db_session, result.conversation_id, None)

    async def _after_action(
        self, request: HTMXRequest, state: State, session: AsyncSession, conversation_id: int, result: object
    ) -> Template:
        template = await self._thread(request, state, session, conversation_id)
        if isinstance(result, Invalid):
            template.context["errors"] = result.errors
            template.status_code = 422
        return template

    @get("/{rest:path}", name="inbox:not-found")
    async def not_found(self, rest: FromPath[str]) -> None:
        """Any other address under /inbox: the friendly 404 page, with the agent's navigation (the
        router's own 404 would come before the session is read)."""
        raise NotFoundException(f"no page at /inbox/{rest}")

    @post("/presence", name="inbox:presence", status_code=200)
    async def presence(
        self,
        request: HTMXRequest,
        state: State,
        db_session: NamedDependency[AsyncSession],
        data: Annotated[PresenceForm, Form],
    ) -> Template | Response[Any]:
        """Go online, away or offline."""
        runtime = _runtime(state)
        try:
            status = Presence(data.status)
        except ValueError:
            return Response({"detail": "unknown status"}, status_code=400)
        await set_presence(db_session, request.user.id, status, now=runtime.clock.now())
        return Template(
            "inbox/_presence.html", context={"presence": await presence_of(db_session, request.user.id)}
        )


ROUTES = [InboxController]
