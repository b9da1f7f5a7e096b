"""Quick replies (话术库): saved answers an agent inserts with ``/``, filled for the buyer at hand.

A reply belongs to one set: a store's shared set (its agents use it, admins manage it) or one
user's personal set. In a conversation a user may use the shared set of the conversation's store
and their own personal set — nothing of other stores, nothing of colleagues. The most used come
first. Texts may hold variables (``{订单号}`` …, see :mod:`desk.inbox.reply_variables`): a text
with an unknown variable is refused when saved, and a variable this buyer has no value for is
shown to the agent as missing instead of being sent as written.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from desk.accounts.models import User
from desk.accounts.scoping import store_ids_for
from desk.db import Work, rows_matched, utcnow
from desk.errors import Invalid
from desk.i18n import Message
from desk.inbox.access import conversation_for
from desk.inbox.models import QuickReply
from desk.inbox.placeholders import Piece, fill
from desk.inbox.replies import MAX_REPLY_LENGTH
from desk.inbox.reply_variables import VARIABLES, buyer_facts, unknown_variables, values_for

__all__ = [
    "MAX_QUERY_WORDS",
    "MAX_TEXT_LENGTH",
    "MAX_TITLE_LENGTH",
    "PICKER_LIMIT",
    "FilledReply",
    "QuickReplyForm",
    "QuickReplyView",
    "ReplySet",
    "check_reply",
    "create_reply",
    "delete_reply",
    "fill_reply",
    "get_reply",
    "list_replies",
    "normalised",
    "record_use",
    "replies_for_conversation",
    "update_reply",
]

MAX_TITLE_LENGTH = 40
MAX_TEXT_LENGTH = MAX_REPLY_LENGTH
"""A quick reply is sent as one message, so it may be as long as one and no longer."""
PICKER_LIMIT = 30
"""Replies the picker lists at once; typing narrows the list."""
MAX_QUERY_WORDS = 8
"""Words of a search that count (a pasted paragraph must not become hundreds of LIKEs)."""

_reply = QuickReply.__table__
_c = _reply.c
# Control characters only: full-width spaces (\u3000) and emoji joiners are ordinary text here.
_CONTROL_IN_TITLE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class ReplySet(msgspec.Struct, frozen=True):
    """Whose replies: a store's shared set or a user's personal one (exactly one id is set)."""

    store_id: int | None = None
    owner_id: int | None = None

    def __post_init__(self) -> None:
        # Neither id would select every shared reply (``owner_id IS NULL``): never allow it.
        if (self.store_id is None) == (self.owner_id is None):
            raise ValueError("a reply set is a store's or a user's: give exactly one id")

    @classmethod
    def shared(cls, store_id: int) -> ReplySet:
        return cls(store_id=store_id)

    @classmethod
    def personal(cls, user_id: int) -> ReplySet:
        return cls(owner_id=user_id)

    def clause(self) -> sa.ColumnElement[bool]:
        if self.store_id is not None:
            return _c.store_id == self.store_id
        return _c.owner_id == self.owner_id


class QuickReplyForm(msgspec.Struct, kw_only=True):
    """A quick reply as typed in a form or read from a CSV row."""

    title: str = ""
    text: str = ""


class QuickReplyView(msgspec.Struct, frozen=True, kw_only=True):
    """A stored quick reply."""

    id: int
    store_id: int | None
    owner_id: int | None
    title: str
    text: str
    uses: int
    updated_at: dt.datetime

    @property
    def shared(self) -> bool:
        return self.store_id is not None


class FilledReply(msgspec.Struct, frozen=True, kw_only=True):
    """A quick reply with its variables filled for one buyer: what inserting it would put in the
    composer, and what is missing."""

    reply: QuickReplyView
    text: str
    """The filled text; a variable without a value stays as written (``{订单号}``)."""
    pieces: list[Piece]
    missing: list[str]
    too_long: bool
    """The filled text is longer than one message may be."""

    @property
    def missing_placeholders(self) -> list[str]:
        """The missing variables as written in a text: ``{订单号}``."""
        return [f"{{{name}}}" for name in self.missing]


_COLUMNS = (_c.id, _c.store_id, _c.owner_id, _c.title, _c.text, _c.uses, _c.updated_at)
_MOST_USED_FIRST = (_c.uses.desc(), _c.title, _c.id)


def _view(row: Any) -> QuickReplyView:
    return QuickReplyView(**row._asdict())


def normalised(form: QuickReplyForm) -> QuickReplyForm:
    """``form`` without outer spaces, its line breaks all ``\\n`` (what is stored and checked)."""
    # Browsers post a textarea's line breaks as CRLF and Excel writes them so; keep one kind.
    text = form.text.replace("\r\n", "\n").replace("\r", "\n").strip()
    return QuickReplyForm(title=form.title.strip(), text=text)


def _matching(query: str) -> list[sa.ColumnElement[bool]]:
    """Each word of ``query`` in the title or the text, ignoring case (Chinese: as a substring)."""
    return [
        sa.or_(
            sa.func.lower(_c.title).contains(word, autoescape=True),
            sa.func.lower(_c.text).contains(word, autoescape=True),
        )
        for word in query.lower().split()[:MAX_QUERY_WORDS]
    ]


def check_reply(form: QuickReplyForm) -> dict[str, Message]:
    """The problems with a title and text, by field, before any look at what is stored.

    The title is one line of 1–:data:`MAX_TITLE_LENGTH` characters; the text 1–
    :data:`MAX_TEXT_LENGTH` characters whose ``{…}`` names are all known variables. Neither holds
    control characters (the text may hold line breaks and tabs). Expects a :func:`normalised`
    form.
    """
    errors: dict[str, Message] = {}
    if not form.title:
        errors["title"] = Message("form.required")
    elif len(form.title) > MAX_TITLE_LENGTH:
        errors["title"] = Message("form.too_long", {"max": MAX_TITLE_LENGTH})
    elif _CONTROL_IN_TITLE.search(form.title):
        errors["title"] = Message("quick_replies.error.title_one_line")
    if not form.text:
        errors["text"] = Message("form.required")
    elif _CONTROL_IN_TEXT.search(form.text):
        errors["text"] = Message("form.unprintable")
    elif len(form.text) > MAX_TEXT_LENGTH:
        errors["text"] = Message(
            "quick_replies.error.text_too_long", {"max": MAX_TEXT_LENGTH, "length": len(form.text)}
        )
    elif unknown := unknown_variables(form.text):
        errors["text"] = Message(
            "quick_replies.error.unknown_variable",
            {
                "names": "、".join(f"{{{name}}}" for name in unknown),
                "known": "、".join(f"{{{name}}}" for name in VARIABLES),
            },
        )
    return errors


async def _title_taken(work: Work, reply_set: ReplySet, title: str, current_id: int | None) -> bool:
    stmt = sa.select(_c.id).where(reply_set.clause(), _c.title == title)
    if current_id is not None:
        stmt = stmt.where(_c.id != current_id)
    return (await work.execute(stmt.limit(1))).first() is not None


async def list_replies(work: Work, reply_set: ReplySet, *, query: str = "") -> list[QuickReplyView]:
    """Every reply of ``reply_set`` matching ``query`` (all when empty), the most used first."""
    stmt = sa.select(*_COLUMNS).where(reply_set.clause(), *_matching(query)).order_by(*_MOST_USED_FIRST)
    return [_view(row) for row in await work.execute(stmt)]


async def get_reply(work: Work, reply_set: ReplySet, reply_id: int) -> QuickReplyView | None:
    """Reply ``reply_id`` if it belongs to ``reply_set`` (None otherwise, as if it did not exist)."""
    row = (await work.execute(sa.select(*_COLUMNS).where(_c.id == reply_id, reply_set.clause()))).first()
    return _view(row) if row else None


async def create_reply(work: Work, reply_set: ReplySet, form: QuickReplyForm) -> QuickReplyView | Invalid:
    """Add a reply to ``reply_set``. Refused when :func:`check_reply` finds a problem or the set
    already has a reply with this title (titles are what agents search and pick by)."""
    form = normalised(form)
    errors = check_reply(form)
    if "title" not in errors and await _title_taken(work, reply_set, form.title, None):
        errors["title"] = Message("quick_replies.error.title_taken", {"title": form.title})
    if errors:
        return Invalid(errors)
    now = utcnow()
    values = {
        "store_id": reply_set.store_id,
        "owner_id": reply_set.owner_id,
        "title": form.title,
        "text": form.text,
        "uses": 0,
        "created_at": now,
        "updated_at": now,
    }
    try:
        async with work.begin_nested():
            reply_id = (await work.execute(sa.insert(_reply).values(values).returning(_c.id))).scalar_one()
    except IntegrityError:  # a colleague saved the same title a moment ago
        return Invalid({"title": Message("quick_replies.error.title_taken", {"title": form.title})})
    return QuickReplyView(
        id=int(reply_id),
        store_id=reply_set.store_id,
        owner_id=reply_set.owner_id,
        title=form.title,
        text=form.text,
        uses=0,
        updated_at=now,
    )


async def update_reply(
    work: Work, reply_set: ReplySet, reply_id: int, form: QuickReplyForm
) -> QuickReplyView | Invalid | None:
    """Change the title and text of reply ``reply_id`` of ``reply_set`` (None if there is no such
    reply), under the same rules as :func:`create_reply`. Its use count stays."""
    current = await get_reply(work, reply_set, reply_id)
    if current is None:
        return None
    form = normalised(form)
    errors = check_reply(form)
    if "title" not in errors and await _title_taken(work, reply_set, form.title, reply_id):
        errors["title"] = Message("quick_replies.error.title_taken", {"title": form.title})
    if errors:
        return Invalid(errors)
    now = utcnow()
    try:
        async with work.begin_nested():
            await work.execute(
                sa.update(_reply)
                .where(_c.id == reply_id)
                .values(title=form.title, text=form.text, updated_at=now)
            )
    except IntegrityError:
        return Invalid({"title": Message("quick_replies.error.title_taken", {"title": form.title})})
    return msgspec.structs.replace(current, title=form.title, text=form.text, updated_at=now)


async def delete_reply(work: Work, reply_set: ReplySet, reply_id: int) -> bool:
    """Remove reply ``reply_id`` from ``reply_set``; False when it has no such reply."""
    result = await work.execute(sa.delete(_reply).where(_c.id == reply_id, reply_set.clause()))
    return bool(rows_matched(result))


def fill_reply(reply: QuickReplyView, values: dict[str, str]) -> FilledReply:
    """``reply`` as it would go to the buyer whose variable values are ``values``."""
    filled = fill(reply.text, values)
    return FilledReply(
        reply=reply,
        text=filled.text,
        pieces=filled.pieces,
        missing=filled.missing,
        too_long=len(filled.text) > MAX_TEXT_LENGTH,
    )


async def replies_for_conversation(
    work: Work, user: User, conversation_id: int, *, query: str = "", limit: int = PICKER_LIMIT
) -> list[FilledReply]:
    """The replies ``user`` may use in conversation ``conversation_id``, filled for its buyer.

    Those are the shared replies of the conversation's store and the user's personal ones,
    matching ``query`` (each word in the title or text, ignoring case), the most used first.

    Raises:
        NotFoundException: when the user may not see the conversation.
    """
    conversation = await conversation_for(work, user, conversation_id)
    usable = sa.or_(ReplySet.shared(conversation.store_id).clause(), ReplySet.personal(user.id).clause())
    stmt = sa.select(*_COLUMNS).where(usable, *_matching(query)).order_by(*_MOST_USED_FIRST).limit(limit)
    replies = [_view(row) for row in await work.execute(stmt)]
    if not replies:
        return []
    values = values_for(await buyer_facts(work, conversation))
    return [fill_reply(reply, values) for reply in replies]


async def record_use(work: Work, user: User, reply_id: int) -> bool:
    """Count one use of reply ``reply_id`` by ``user`` (what puts the most used first).

    Only a reply the user may use counts: a shared one of a store they work for, or their own.
    Returns False for any other reply, as if it did not exist.
    """
    allowed = store_ids_for(user)
    shared = _c.store_id.is_not(None) if allowed is None else _c.store_id.in_(allowed)
    result = await work.execute(
        sa.update(_reply)
        .where(_c.id == reply_id, sa.or_(shared, _c.owner_id == user.id))
        .values(uses=_c.uses + 1)
    )
    return bool(rows_matched(result))
