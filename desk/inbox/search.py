"""Searching the inbox by order id, buyer nickname and message text, in the stores a user may see.

A query finds, in this order:

1. **orders** — a query of digits is an order id, matched exactly or as its beginning (an agent
   pastes a whole id or types its first digits): the conversations of that order's buyer;
2. **buyers** — whose nickname contains the query: their conversations, latest activity first;
3. **messages** — whose text contains the query, newest first (in the order they arrived).

Matching is by substring, ignoring case, and literal: ``%``, ``_``, quotes, ``*`` or ``NEAR``
are searched as the characters they are, never as syntax. Orders and buyers, the precise
matches, come first and take at most a fifth of the hits each; messages fill the rest.

Speed at millions of messages comes from character-trigram indexes (Chinese has no spaces
between words, so word-based full-text search does not fit; migration ``4a1e0c9d2b7f``):

- PostgreSQL: ``pg_trgm`` GIN indexes on ``message.text`` and ``buyer.nickname`` answer
  ``ILIKE '%…%'``; pg_trgm builds trigrams from runs of letters and digits (Chinese characters
  count), so a query needs three of them in a row to use the index.
- SQLite: the FTS5 table ``message_fts`` (``trigram`` tokenizer, every character counts) is
  asked for the query as one quoted phrase, which matches exactly the texts that contain it.

A trigram index cannot find anything shorter than three characters, yet two-character Chinese
words (退款, 发货) are what agents type most. Such queries are matched with ``LIKE`` over the
latest :data:`RECENT_WINDOW` messages only: older messages are not found then, and
:func:`recent_only` tells the page to say so.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from typing import Any

import msgspec
import sqlalchemy as sa

from desk.accounts.models import User
from desk.accounts.scoping import store_ids_for
from desk.db import Work, dialect_name
from desk.errors import Invalid
from desk.i18n import Message as Text
from desk.inbox.models import Conversation, Message, Sender
from desk.inbox.queue import buyer_label
from desk.orders.models import Buyer, Order
from desk.stores.models import Store

__all__ = [
    "MAX_QUERY_LENGTH",
    "RECENT_WINDOW",
    "HitKind",
    "SearchHit",
    "Segment",
    "normalize_query",
    "recent_only",
    "search",
    "snippet_around",
]

MAX_QUERY_LENGTH = 100
"""Characters in one query; longer ones are refused (nobody searches a paragraph)."""

RECENT_WINDOW = 100_000
"""How many of the latest messages a query too short for the trigram index looks through.

A common word stops early, at the limit; a word found nowhere reads the whole window, the
slowest search there is: about 100 ms at the median on PostgreSQL and SQLite on a busy two-core
machine (``bench/search.py`` shows it apart). Some five weeks of a busy merchant's messages."""

SNIPPET_BEFORE = 16
"""Characters of context shown before the first match in a message snippet."""
SNIPPET_LENGTH = 80
"""Characters of a message snippet at most (the whole match is always kept)."""

_c = Conversation.__table__.c
_m = Message.__table__.c
_o = Order.__table__.c
_b = Buyer.__table__.c
_fts = sa.table("message_fts", sa.column("rowid", sa.Integer))
_ESCAPE = "\\"


class HitKind(enum.StrEnum):
    ORDER = "order"
    """The query is (the start of) the id of one of the buyer's orders."""
    BUYER = "buyer"
    """The buyer's nickname contains the query."""
    MESSAGE = "message"
    """A message of the conversation contains the query."""


class Segment(msgspec.Struct, frozen=True):
    """A piece of shown text; ``marked`` pieces are what matched the query.

    Pages render segments with autoescaping and wrap marked ones in ``<mark>``: the text is
    never turned into HTML here.
    """

    text: str
    marked: bool = False


class SearchHit(msgspec.Struct, frozen=True, kw_only=True):
    """One thing found, and the conversation it leads to."""

    kind: HitKind
    conversation_id: int
    store_id: int
    store_name: str
    buyer: list[Segment]
    """The buyer's label (see :func:`desk.inbox.queue.buyer_label`), the query marked in it."""
    snippet: list[Segment]
    """What matched in context: the message text around the match, the order id, or (buyer
    hits) the conversation's latest message."""
    at: dt.datetime
    """When: the message was sent, the order placed, or the conversation last active."""
    message_id: int | None = None
    order_id: str | None = None
    sender: str | None = None
    """Who wrote the message (``buyer``, ``agent``, ``auto``, ``note`` …); message hits only."""

    @property
    def buyer_name(self) -> str:
        return "".join(segment.text for segment in self.buyer)


def normalize_query(q: str) -> str:
    """The query as searched: without surrounding white space and without NUL characters
    (which no stored text can hold on PostgreSQL)."""
    return q.replace("\x00", "").strip()


def _dialect(work: Work) -> str:
    return dialect_name(work)


def _trigram_indexable(q: str, dialect_name: str) -> bool:
    if dialect_name == "sqlite":
        return len(q) >= 3
    # pg_trgm only makes trigrams of letters and digits (punctuation and spaces split words).
    return re.search(r"[^\W_]{3}", q) is not None


def recent_only(q: str, dialect_name: str) -> bool:
    """Whether message text is searched for ``q`` in the latest :data:`RECENT_WINDOW` messages
    only (a query the trigram index cannot serve; see the module docstring)."""
    q = normalize_query(q)
    return bool(q) and not _trigram_indexable(q, dialect_name)


# -- matching ---------------------------------------------------------------------------------------


def _like_pattern(q: str) -> str:
    escaped = q.replace(_ESCAPE, _ESCAPE * 2).replace("%", _ESCAPE + "%").replace("_", _ESCAPE + "_")
    return f"%{escaped}%"


def _contains(column: Any, q: str, dialect_name: str) -> Any:
    # SQLite's LIKE already ignores (ASCII) case; SQLAlchemy's ilike() would wrap both sides in
    # lower(), which only costs time there. PostgreSQL's ILIKE lower-cases every text it reads,
    # which makes it two to three times slower than LIKE: a query without letters that have a
    # case (Chinese, digits) gets the same answer from LIKE. The trigram index serves both.
    if dialect_name == "sqlite" or q.lower() == q.upper():
        return column.like(_like_pattern(q), escape=_ESCAPE)
    return column.ilike(_like_pattern(q), escape=_ESCAPE)


def _fts_phrase(q: str) -> str:
    # One FTS5 string: inside double quotes everything is literal except '"', written twice.
    return '"' + q.replace('"', '""') + '"'


def _prefix_upper_bound(digits: str) -> str | None:
    """The smallest digit string greater than every string starting with ``digits``."""
    stripped = digits.rstrip("9")
    if not stripped:
        return None
    return stripped[:-1] + chr(ord(stripped[-1]) + 1)


def _mark(text: str, q: str) -> list[Segment]:
    """``text`` cut into segments, every occurrence of ``q`` (ignoring case) marked."""
    segments: list[Segment] = []
    at = 0
    for found in re.finditer(re.escape(q), text, re.IGNORECASE):
        if found.start() > at:
            segments.append(Segment(text[at : found.start()]))
        segments.append(Segment(found.group(), marked=True))
        at = found.end()
    if at < len(text) or not segments:
        segments.append(Segment(text[at:]))
    return segments


def snippet_around(text: str, q: str) -> list[Segment]:
    """The part of ``text`` around the first match of ``q``, matches marked, cuts shown as ``…``."""
    first = re.search(re.escape(q), text, re.IGNORECASE)
    start = 0 if first is None else max(0, first.start() - SNIPPET_BEFORE)
    end = min(len(text), start + SNIPPET_LENGTH)
    if first is not None:
        end = max(end, first.end())
    segments = _mark(text[start:end], q)
    if start > 0:
        segments.insert(0, Segment("…"))
    if end < len(text):
        segments.append(Segment("…"))
    return segments


# -- the three kinds of hit -------------------------------------------------------------------------


def _in_stores(column: Any, allowed: set[int] | None) -> list[Any]:
    return [] if allowed is None else [column.in_(allowed)]


async def _order_hits(work: Work, q: str, allowed: set[int] | None, limit: int) -> list[Any]:
    """Orders whose id is ``q`` or starts with it, each joined to its buyer's conversations."""
    where = _in_stores(_o.store_id, allowed)
    columns = (_o.order_id, _o.store_id, _o.buyer_id, _o.openid, _o.create_time)
    exact = sa.select(*columns).where(*where, _o.order_id == q).limit(limit)
    # A range the order-id index can walk, in every collation digit strings sort alike in;
    # LIKE then keeps exactly the ids that start with the digits.
    prefix = sa.select(*columns).where(*where, _o.order_id > q, _o.order_id.startswith(q, autoescape=True))
    upper = _prefix_upper_bound(q)
    if upper is not None:
        prefix = prefix.where(_o.order_id < upper)
    # Order ids grow with time: the highest ids are the newest orders.
    prefix = prefix.order_by(_o.order_id.desc()).limit(limit)
    orders = [*(await work.execute(exact)).all(), *(await work.execute(prefix)).all()][:limit]
    hits: list[Any] = []
    seen: set[int] = set()
    for order in orders:
        # The buyer's conversations: linked to the buyer, or (not yet linked) by the openid the
        # store's own customer-service channel uses as its peer id.
        of_buyer = _c.peer_id == order.openid if order.openid else sa.false()
        if order.buyer_id is not None:
            of_buyer = sa.or_(_c.buyer_id == order.buyer_id, of_buyer)
        stmt = (
            sa.select(_c.id)
            .where(_c.store_id == order.store_id, of_buyer)
            .order_by(_c.last_message_at.desc(), _c.id.desc())
        )
        for conversation_id in (await work.execute(stmt)).scalars():
            if conversation_id not in seen:
                seen.add(conversation_id)
                hits.append((conversation_id, order))
    return hits[:limit]


async def _buyer_hits(
    work: Work, q: str, allowed: set[int] | None, limit: int, dialect_name: str
) -> list[Any]:
    """Conversations of buyers whose nickname contains ``q``, latest activity first."""
    stmt = (
        sa.select(_c.id, _c.last_message_at)
        .join(Buyer.__table__, _b.id == _c.buyer_id)
        # Scoped by the buyer's store (a conversation's buyer is one of its store's): a condition on
        # the conversation's would make SQLite walk every conversation of those stores instead.
        .where(*_in_stores(_b.store_id, allowed), _contains(_b.nickname, q, dialect_name))
        .order_by(_c.last_message_at.desc(), _c.id.desc())
        .limit(limit)
    )
    return list((await work.execute(stmt)).all())


async def _message_hits(
    work: Work, q: str, allowed: set[int] | None, limit: int, dialect_name: str
) -> list[Any]:
    """Messages whose text contains ``q``, newest first (highest id first)."""
    columns = (_m.id, _m.conversation_id, _m.store_id, _m.text, _m.sent_at, _m.sender)
    where = _in_stores(_m.store_id, allowed)
    if not _trigram_indexable(q, dialect_name):
        newest = sa.select(sa.func.max(_m.id)).scalar_subquery()
        stmt = sa.select(*columns).where(
            *where, _m.id > newest - RECENT_WINDOW, _contains(_m.text, q, dialect_name)
        )
    elif dialect_name == "sqlite":
        # Ordered by the FTS table's rowid, FTS5 walks its index newest first and stops at the
        # limit; ordered by message.id, SQLite would collect and sort every match first.
        stmt = (
            sa.select(*columns)
            .select_from(_fts.join(Message.__table__, _m.id == _fts.c.rowid))
            .where(*where, sa.text("message_fts MATCH :phrase").bindparams(phrase=_fts_phrase(q)))
            .order_by(_fts.c.rowid.desc())
        )
        return list((await work.execute(stmt.limit(limit))).all())
    else:
        stmt = sa.select(*columns).where(*where, _contains(_m.text, q, dialect_name))
    return list((await work.execute(stmt.order_by(_m.id.desc()).limit(limit))).all())


# -- what each hit shows ----------------------------------------------------------------------------


async def _conversations(work: Work, ids: set[int], allowed: set[int] | None) -> dict[int, Any]:
    """Store, buyer label parts and latest message of each conversation in ``ids`` that is in
    the ``allowed`` stores (a last guard: every hit is shown through its conversation)."""
    if not ids:
        return {}
    receiver = (
        sa.select(_o.receiver_name)
        .where(_o.buyer_id == _c.buyer_id)
        .order_by(_o.create_time.desc())
        .limit(1)
        .correlate(Conversation.__table__)
        .scalar_subquery()
    )
    last_text = (
        sa.select(_m.text)
        .where(_m.conversation_id == _c.id, _m.sender != Sender.NOTE)
        .order_by(_m.sent_at.desc(), _m.id.desc())
        .limit(1)
        .correlate(Conversation.__table__)
        .scalar_subquery()
    )
    stmt = (
        sa.select(
            _c.id,
            _c.store_id,
            _c.peer_id,
            _c.last_message_at,
            Store.name.label("store_name"),
            _b.nickname,
            receiver.label("receiver_name"),
            last_text.label("last_text"),
        )
        .join(Store, Store.id == _c.store_id)
        .outerjoin(Buyer.__table__, _b.id == _c.buyer_id)
        .where(_c.id.in_(ids))
    )
    # Filtered here rather than in SQL, where SQLite would then walk the stores' conversations.
    rows = (await work.execute(stmt)).all()
    return {row.id: row for row in rows if allowed is None or row.store_id in allowed}


def _hit(
    kind: HitKind, conversation: Any, q: str, *, shown: list[Segment], at: dt.datetime, **extra: Any
) -> SearchHit:
    label = buyer_label(conversation.nickname, conversation.receiver_name, conversation.peer_id)
    return SearchHit(
        kind=kind,
        conversation_id=conversation.id,
        store_id=conversation.store_id,
        store_name=conversation.store_name,
        buyer=_mark(label, q),
        snippet=shown,
        at=at,
        **extra,
    )


async def search(work: Work, user: User, q: str, *, limit: int = 50) -> list[SearchHit] | Invalid:
    """What ``user`` finds for ``q`` in the stores they may see (see the module docstring).

    An empty (or all white space) query finds nothing; one longer than
    :data:`MAX_QUERY_LENGTH` characters is refused with :class:`~desk.errors.Invalid`.
    """
    q = normalize_query(q)
    if not q:
        return []
    if len(q) > MAX_QUERY_LENGTH:
        return Invalid({"q": Text("search.too_long", {"max": MAX_QUERY_LENGTH})})
    allowed = store_ids_for(user)
    if allowed is not None and not allowed:
        return []
    dialect_name = _dialect(work)
    share = max(1, limit // 5)
    orders = await _order_hits(work, q, allowed, share) if q.isascii() and q.isdigit() else []
    buyers = await _buyer_hits(work, q, allowed, share, dialect_name)
    room = limit - len(orders) - len(buyers)
    messages = await _message_hits(work, q, allowed, room, dialect_name) if room > 0 else []
    ids = {cid for cid, _ in orders} | {row.id for row in buyers} | {row.conversation_id for row in messages}
    conversations = await _conversations(work, ids, allowed)

    hits: list[SearchHit] = []
    for conversation_id, order in orders:
        if (conversation := conversations.get(conversation_id)) is None:
            continue
        hits.append(
            _hit(
                HitKind.ORDER,
                conversation,
                q,
                shown=_mark(order.order_id, q),
                at=order.create_time,
                order_id=order.order_id,
            )
        )
    for row in buyers:
        if (conversation := conversations.get(row.id)) is None:
            continue
        text = conversation.last_text or ""
        hits.append(
            _hit(HitKind.BUYER, conversation, q, shown=snippet_around(text, q), at=row.last_message_at)
        )
    for row in messages:
        if (conversation := conversations.get(row.conversation_id)) is None:
            continue
        hits.append(
            _hit(
                HitKind.MESSAGE,
                conversation,
                q,
                shown=snippet_around(row.text, q),
                at=row.sent_at,
                message_id=row.id,
                sender=str(row.sender),
            )
        )
    return hits[:limit]
