"""Consultations: the unit of the 3-minute human reply rate (design: reply-rate).

A consultation **opens** with a buyer message while none is open in that conversation, and
**closes** with the first human agent message after it; more buyer messages before that reply
belong to the same consultation. Automatic replies (rules, welcomes, bots), system messages and
internal notes neither open nor close one. It is **answered in time** when the closing human
reply comes within the store's reply deadline (180 s) of the opening message. It counts in the
store's local hour and day it *opened* in, also when the reply comes after midnight, and apart
when it opened outside the store's assessment window (:meth:`StoreCalendar.in_window`).

Pushes arrive out of order: a buyer message delivered late, sent before the open consultation's
opening but after the last human reply, is its real opening — the consultation moves back to it.

A human reply whose send fails for good reached nobody: it answered nothing
(:func:`note_reply_failed`). Its answer is withdrawn and the consultation is open again from when
it opened; one the buyer opened meanwhile (thinking nobody answered) is the same consultation.

The inbox calls :func:`note_message` for every message it files or queues, in the same
transaction; the open consultation of each conversation is kept in ``metric_open_consultation``.
"""

from __future__ import annotations

import datetime as dt
import functools

import sqlalchemy as sa

from desk.db import Work, dialect_name, insert_for
from desk.inbox.models import Delivery, Message, Sender
from desk.metrics.facts import Fact, FactKind, make_fact
from desk.metrics.models import MetricFact, OpenConsultation
from desk.metrics.record import write_fact
from desk.metrics.window import StoreCalendar, calendar_of

__all__ = [
    "closes_consultation",
    "first_response_s",
    "note_message",
    "note_reply_failed",
    "opens_consultation",
]

_open = OpenConsultation.__table__
_fact = MetricFact.__table__


def opens_consultation(sender: Sender) -> bool:
    """Only a buyer's message opens a consultation (when none is open)."""
    return sender == Sender.BUYER


def closes_consultation(sender: Sender) -> bool:
    """Only a human agent's message closes one: automatic replies never count."""
    return sender == Sender.AGENT


def first_response_s(opened_at: dt.datetime, replied_at: dt.datetime) -> float:
    """Seconds from the opening buyer message to the first human reply (never negative)."""
    return max(0.0, (replied_at - opened_at).total_seconds())


@functools.cache
def _open_insert(dialect: str) -> sa.Insert:
    return (
        insert_for(dialect, _open)
        .on_conflict_do_nothing(index_elements=[_open.c.conversation_id])
        .returning(_open.c.conversation_id)
    )


_close = (
    sa.delete(_open)
    .where(_open.c.conversation_id == sa.bindparam("conversation_id"))
    .returning(_open.c.opened_at, _open.c.in_window)
)


async def note_message(
    work: Work,
    *,
    store_id: int,
    conversation_id: int,
    message_id: int,
    sender: Sender,
    author_id: int | None,
    sent_at: dt.datetime,
) -> None:
    """Record what a message does to its conversation's consultation (see the module docstring)."""
    if opens_consultation(sender):
        calendar = await calendar_of(work, store_id)
        opened = (
            await work.execute(
                _open_insert(dialect_name(work)),
                {
                    "conversation_id": conversation_id,
                    "store_id": store_id,
                    "opened_at": sent_at,
                    "in_window": calendar.in_window(sent_at),
                    "opening_key": _opening_key(message_id),
                },
            )
        ).scalar_one_or_none()
        if opened is not None:
            await _opened(work, calendar, store_id, message_id, sent_at)
        else:
            await _maybe_earlier_opening(work, calendar, store_id, conversation_id, message_id, sent_at)
    elif closes_consultation(sender):
        row = (await work.execute(_close, {"conversation_id": conversation_id})).one_or_none()
        if row is not None:
            calendar = await calendar_of(work, store_id)
            await _answered(
                work,
                calendar,
                store_id=store_id,
                message_id=message_id,
                agent_id=author_id,
                opened_at=row.opened_at,
                in_window=bool(row.in_window),
                replied_at=sent_at,
            )


def _opening_key(message_id: int) -> str:
    return f"opened:{message_id}"


async def _opened(
    work: Work, calendar: StoreCalendar, store_id: int, message_id: int, opened_at: dt.datetime
) -> None:
    fact = make_fact(
        calendar,
        key=_opening_key(message_id),
        store_id=store_id,
        kind=FactKind.CONSULTATION_OPENED,
        at=opened_at,
        in_window=calendar.in_window(opened_at),
    )
    await write_fact(work, fact)


async def _answered(
    work: Work,
    calendar: StoreCalendar,
    *,
    store_id: int,
    message_id: int,
    agent_id: int | None,
    opened_at: dt.datetime,
    in_window: bool,
    replied_at: dt.datetime,
) -> None:
    waited = first_response_s(opened_at, replied_at)
    fact = make_fact(
        calendar,
        key=f"answered:{message_id}",
        store_id=store_id,
        kind=FactKind.CONSULTATION_ANSWERED,
        at=opened_at,  # it counts where it opened, as the opening fact does
        agent_id=agent_id,
        seconds=int(waited),
        in_window=in_window,  # as decided when it opened, whatever the settings say since
        in_time=calendar.in_time(waited),
    )
    await write_fact(work, fact)


_message = Message.__table__
_later_reply = sa.select(_message.c.id).where(
    _message.c.conversation_id == sa.bindparam("conversation_id"),
    _message.c.sender == Sender.AGENT,
    _message.c.id > sa.bindparam("message_id"),
    sa.or_(_message.c.delivery.is_(None), _message.c.delivery != Delivery.FAILED),
)
_fact_by_key = sa.select(_fact).where(_fact.c.key == sa.bindparam("key"))
_open_row = (
    sa.select(_open.c.opened_at, _open.c.in_window, _open.c.opening_key)
    .where(_open.c.conversation_id == sa.bindparam("conversation_id"))
    .with_for_update()
)


def _withdrawal(row: sa.Row[tuple[object, ...]], *, kind: FactKind, key: str) -> Fact:
    """A fact taking back the fact ``row``: the same fields, another kind and key."""
    m = row._mapping
    return Fact(
        key=key,
        store_id=m["store_id"],
        kind=kind,
        at=m["at"],
        local_day=m["local_day"],
        local_hour=m["local_hour"],
        agent_id=m["agent_id"],
        buyer_id=m["buyer_id"],
        seconds=m["seconds"],
        in_window=bool(m["in_window"]),
        in_time=bool(m["in_time"]),
        automatic=bool(m["automatic"]),
        detail=m["detail"],
    )


async def note_reply_failed(work: Work, *, conversation_id: int, message_id: int) -> None:
    """A human reply (``message_id``) never reached the buyer: take its answer back, if it gave one.

    The consultation it closed is open again from its opening. When the buyer has opened another
    since, that one is merged into it: its opening is taken back and the open consultation moves
    back to the earlier opening (the buyer has been waiting since then).
    """
    answer = (await work.execute(_fact_by_key, {"key": f"answered:{message_id}"})).one_or_none()
    if answer is None:
        return  # it answered nothing (the consultation was answered before it)
    if (
        await work.execute(_later_reply, {"conversation_id": conversation_id, "message_id": message_id})
    ).first():
        # Another human reply followed, still on its way or arrived. Counting it instead would
        # move facts already counted for it; the consultation keeps the failed reply's time.
        return
    withdrawn = _withdrawal(answer, kind=FactKind.ANSWER_WITHDRAWN, key=f"unanswered:{message_id}")
    if not await write_fact(work, withdrawn):
        return  # taken back already
    reopened = {"opened_at": answer.at, "in_window": answer.in_window, "opening_key": None}
    current = (await work.execute(_open_row, {"conversation_id": conversation_id})).one_or_none()
    if current is None:
        values = {"conversation_id": conversation_id, "store_id": answer.store_id, **reopened}
        await work.execute(sa.insert(_open).values(**values))
        return
    if current.opened_at < answer.at:
        return  # cannot be (it opened before the consultation this reply closed); keep it
    if current.opening_key is not None:
        opening = (await work.execute(_fact_by_key, {"key": current.opening_key})).one_or_none()
        if opening is not None:
            merged = _withdrawal(opening, kind=FactKind.OPENING_MERGED, key=f"merged:{current.opening_key}")
            await write_fact(work, merged)
    await work.execute(sa.update(_open).where(_open.c.conversation_id == conversation_id).values(**reopened))


_last_human_reply = sa.select(sa.func.max(_message.c.sent_at)).where(
    _message.c.conversation_id == sa.bindparam("conversation_id"),
    _message.c.sender == Sender.AGENT,
    sa.or_(_message.c.delivery.is_(None), _message.c.delivery != Delivery.FAILED),
)


async def _maybe_earlier_opening(  # noqa: PLR0917 - one caller, all needed
    work: Work,
    calendar: StoreCalendar,
    store_id: int,
    conversation_id: int,
    message_id: int,
    sent_at: dt.datetime,
) -> None:
    """A buyer message that came while a consultation was open: is it that consultation's real,
    earlier opening (delivered late)? Then the opening moves back to it."""
    current = (await work.execute(_open_row, {"conversation_id": conversation_id})).one_or_none()
    if current is None or current.opening_key is None or sent_at >= current.opened_at:
        return  # (a reopened consultation's opening was counted by an older fact: left as it is)
    last_reply = (await work.execute(_last_human_reply, {"conversation_id": conversation_id})).scalar()
    if last_reply is not None and _aware(last_reply) >= sent_at:
        return  # it was sent before a human answered: it belonged to an answered consultation
    opening = (await work.execute(_fact_by_key, {"key": current.opening_key})).one_or_none()
    if opening is not None:
        await write_fact(
            work, _withdrawal(opening, kind=FactKind.OPENING_MERGED, key=f"merged:{current.opening_key}")
        )
    await _opened(work, calendar, store_id, message_id, sent_at)
    await work.execute(
        sa.update(_open)
        .where(_open.c.conversation_id == conversation_id)
        .values(
            opened_at=sent_at, in_window=calendar.in_window(sent_at), opening_key=_opening_key(message_id)
        )
    )


def _aware(value: dt.datetime) -> dt.datetime:
    # An aggregate's result skips the column type: SQLite hands back a naive (UTC) value.
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
