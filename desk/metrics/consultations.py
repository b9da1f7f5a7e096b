"""Consultations: the unit of the 3-minute human reply rate (design: reply-rate).

A consultation **opens** with a buyer message while none is open in that conversation, and
**closes** with the first human agent message after it; more buyer messages before that reply
belong to the same consultation. Automatic replies (rules, welcomes, bots), system messages and
internal notes neither open nor close one. It is **answered in time** when the closing human
reply comes within the store's reply deadline (180 s) of the opening message. It counts in the
store's local hour and day it *opened* in, also when the reply comes after midnight, and apart
when it opened outside the store's assessment window (:meth:`StoreCalendar.in_window`).

The inbox calls :func:`note_message` for every message it files or queues, in the same
transaction; the open consultation of each conversation is kept in ``metric_open_consultation``.
"""

from __future__ import annotations

import datetime as dt
import functools

import sqlalchemy as sa

from desk.db import Work, dialect_name, insert_for
from desk.inbox.models import Sender
from desk.metrics.facts import FactKind, make_fact
from desk.metrics.models import OpenConsultation
from desk.metrics.record import write_fact
from desk.metrics.window import StoreCalendar, calendar_of

__all__ = ["closes_consultation", "first_response_s", "note_message", "opens_consultation"]

_open = OpenConsultation.__table__


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
                },
            )
        ).scalar_one_or_none()
        if opened is not None:
            await _opened(work, calendar, store_id, message_id, sent_at)
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


async def _opened(
    work: Work, calendar: StoreCalendar, store_id: int, message_id: int, opened_at: dt.datetime
) -> None:
    fact = make_fact(
        calendar,
        key=f"opened:{message_id}",
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
