"""``/api/v1/conversations``: the inbox for integrations and tests (token auth, store-scoped).

The queue (deadline-first), a conversation's messages, replying (stored and sent by the worker:
the answer is 202 with the command), assigning and resolving. Conversations outside the token
user's stores are 404. Refusals are JSON: 422 for input the platform or the desk would not take
(an empty or over-long reply, a closed reply window), 409 when a colleague holds the conversation
or it changed meanwhile.
"""

from __future__ import annotations

from typing import Annotated, Any, cast

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_202_ACCEPTED,
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
)
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.models import User
from desk.api import ApiErrorOut, api_language, refusal
from desk.commands.errors import describe_error
from desk.errors import Invalid
from desk.i18n import Message as Text
from desk.inbox import workflow
from desk.inbox.access import conversation_for, may_see_store
from desk.inbox.history import HISTORY_PAGE_SIZE, history_page
from desk.inbox.models import ConversationStatus, Delivery
from desk.inbox.queue import PAGE_SIZE, QueueFilter, decode_cursor, queue_page
from desk.inbox.replies import send_reply
from desk.inbox.schemas import (
    AssigneeFilter,
    AssignIn,
    ConversationPageOut,
    ConversationStateOut,
    MessagePageOut,
    ReplyIn,
    ReplyOut,
)
from desk.runtime import Runtime

__all__ = ["ROUTES", "ConversationsApiController"]

MAX_PAGE = 200

# A refusal about who holds the conversation is a conflict; anything else is bad input.
_STATUS_BY_FIELD = {"assignee": HTTP_409_CONFLICT}

_NOT_FOUND = ResponseSpec(ApiErrorOut, description="Not a conversation of your stores.")
_CONFLICT = ResponseSpec(
    ApiErrorOut, description="A colleague holds the conversation, or it changed meanwhile."
)
_REFUSED = ResponseSpec(ApiErrorOut, description="Refused: the field and the reason are in `extra`.")
_BAD_REQUEST = ResponseSpec(ApiErrorOut, description="The request is malformed.")


def _runtime(request: Request[Any, Any, Any]) -> Runtime:
    return cast(Runtime, request.app.state.runtime)


def _bad_request(request: Request[Any, Any, Any], field: str, message: Text) -> HTTPException:
    return refusal(Invalid({field: message}), api_language(request), default=HTTP_400_BAD_REQUEST)


class ConversationsApiController(Controller):
    path = "/api/v1/conversations"
    tags = ["inbox"]  # noqa: RUF012 - Litestar reads this class attribute

    @get(
        "/",
        name="api:conversations:list",
        responses={HTTP_400_BAD_REQUEST: _BAD_REQUEST, HTTP_404_NOT_FOUND: _NOT_FOUND},
    )
    async def list_conversations(
        self,
        *,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        conversation_status: Annotated[
            ConversationStatus, QueryParameter(name="status", description="Default: open.")
        ] = ConversationStatus.OPEN,
        assignee: Annotated[
            AssigneeFilter, QueryParameter(description="Yours (me), nobody's (none) or all (any).")
        ] = AssigneeFilter.ANY,
        store: Annotated[int | None, QueryParameter(description="Only this store's.")] = None,
        tag: Annotated[str, QueryParameter(description="Only buyers with this tag.")] = "",
        cursor: Annotated[str, QueryParameter(description="`next_cursor` of the previous page.")] = "",
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)] = PAGE_SIZE,
    ) -> ConversationPageOut:
        """The queue across your stores, deadline-first: buyers waiting for a human by the time
        left to their 3-minute reply deadline (the longest overdue first), then the rest by
        latest activity. Follow `next_cursor` until it is empty to see every conversation."""
        if store is not None and not may_see_store(request.user, store):
            raise NotFoundException(f"no store {store} among yours")
        if cursor and decode_cursor(cursor) is None:
            raise _bad_request(request, "cursor", Text("api.error.cursor"))
        page = await queue_page(
            db_session,
            request.user,
            QueueFilter(whose=assignee.whose(), store_id=store, status=conversation_status, tag=tag.strip()),
            now=_runtime(request).clock.now(),
            cursor=cursor,
            limit=limit,
        )
        return ConversationPageOut.of(page)

    @get(
        "/{conversation_id:int}/messages",
        name="api:conversations:messages",
        responses={HTTP_400_BAD_REQUEST: _BAD_REQUEST, HTTP_404_NOT_FOUND: _NOT_FOUND},
    )
    async def list_messages(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        conversation_id: FromPath[int],
        before: Annotated[
            int | None, QueryParameter(description="`next_before` of the previous page: older messages.")
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)] = HISTORY_PAGE_SIZE,
    ) -> MessagePageOut:
        """The conversation's messages, newest last, a page at a time going back with `before`.
        Failed replies carry the platform's `error_code` and what it means."""
        language = api_language(request)
        page = await history_page(db_session, request.user, conversation_id, before=before, limit=limit)
        if isinstance(page, Invalid):
            raise refusal(page, language, default=HTTP_400_BAD_REQUEST)
        errors = [
            describe_error(m.error_code, m.error_detail).render(language)
            if m.delivery is Delivery.FAILED
            else ""
            for m in page.messages
        ]
        return MessagePageOut.of(page, errors)

    @post(
        "/{conversation_id:int}/messages",
        name="api:conversations:reply",
        status_code=HTTP_202_ACCEPTED,
        responses={
            HTTP_400_BAD_REQUEST: _BAD_REQUEST,
            HTTP_404_NOT_FOUND: _NOT_FOUND,
            HTTP_409_CONFLICT: _CONFLICT,
            HTTP_422_UNPROCESSABLE_ENTITY: _REFUSED,
        },
    )
    async def reply(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        conversation_id: FromPath[int],
        data: JSONBody[ReplyIn],
    ) -> ReplyOut:
        """Answer the buyer. The reply is stored and queued at once (202); a worker sends it —
        follow `command_id` to see it sent or failed. The same `request_id` again returns the
        first reply: one message, one platform call. Refused with 422 when the text is empty or
        too long or the platform's reply window is closed (48 h after the buyer's last message,
        5 replies), 409 when a colleague holds the conversation (send `take_over` to reply anyway).
        """
        runtime = _runtime(request)
        result = await send_reply(
            db_session,
            runtime.wakeup,
            user=request.user,
            conversation_id=conversation_id,
            text=data.text,
            request_id=data.request_id,
            take_over=data.take_over,
            now=runtime.clock.now(),
        )
        if isinstance(result, Invalid):
            raise refusal(result, api_language(request), _STATUS_BY_FIELD)
        if result.conversation_id != conversation_id:
            # request_id is unique per store: this one already answered another buyer.
            raise refusal(
                Invalid({"request_id": Text("api.error.request_id_used", {"id": result.conversation_id})}),
                api_language(request),
                default=HTTP_409_CONFLICT,
            )
        return ReplyOut(
            command_id=result.command_id,
            state=result.state,
            message_id=result.message_id,
            created=result.created,
        )

    @post(
        "/{conversation_id:int}/assign",
        name="api:conversations:assign",
        status_code=HTTP_200_OK,
        responses={
            HTTP_400_BAD_REQUEST: _BAD_REQUEST,
            HTTP_404_NOT_FOUND: _NOT_FOUND,
            HTTP_409_CONFLICT: _CONFLICT,
            HTTP_422_UNPROCESSABLE_ENTITY: _REFUSED,
        },
    )
    async def assign(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        conversation_id: FromPath[int],
        data: JSONBody[AssignIn],
    ) -> ConversationStateOut:
        """Take the conversation (`{"to": "me"}`) or hand it to a colleague of its store
        (`{"to": user_id}`). Agents take conversations nobody holds and pass on their own;
        managers and admins may reassign any (409 otherwise); 422 when the colleague does not
        work for the conversation's store."""
        user = request.user
        now = _runtime(request).clock.now()
        if isinstance(data.to, str) or data.to == user.id:  # the only string accepted is "me"
            result = await workflow.claim(db_session, user=user, conversation_id=conversation_id, now=now)
        else:
            to_user_id = data.to
            result = await workflow.transfer(
                db_session, user=user, conversation_id=conversation_id, to_user_id=to_user_id, now=now
            )
        if isinstance(result, Invalid):
            raise refusal(result, api_language(request), _STATUS_BY_FIELD)
        return await _state_of(db_session, user, conversation_id)

    @post(
        "/{conversation_id:int}/resolve",
        name="api:conversations:resolve",
        status_code=HTTP_200_OK,
        responses={HTTP_404_NOT_FOUND: _NOT_FOUND},
    )
    async def resolve(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        conversation_id: FromPath[int],
    ) -> ConversationStateOut:
        """Mark the conversation done. A buyer still waiting counts as missed; a new buyer
        message reopens it."""
        await workflow.resolve(
            db_session, user=request.user, conversation_id=conversation_id, now=_runtime(request).clock.now()
        )
        return await _state_of(db_session, request.user, conversation_id)


async def _state_of(session: AsyncSession, user: User, conversation_id: int) -> ConversationStateOut:
    state = await conversation_for(session, user, conversation_id)
    return ConversationStateOut(
        id=state.id,
        store_id=state.store_id,
        status=state.status,
        assignee_id=state.assignee_id,
        waiting_since=state.waiting_since,
        deadline_at=state.deadline_at,
    )


ROUTES = [ConversationsApiController]
