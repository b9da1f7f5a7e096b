"""Facts for what happened before the desk wrote them (a desk upgraded to this version, a restore).

Writes the facts the live path would have written, with the same keys, from the stored messages,
orders and after-sales of a period — so running it twice, or over facts already written, adds
nothing. Consultations are folded from each conversation's messages in the order they were
sent, with the definitions of :mod:`desk.metrics.consultations`; only those opened before the
store's first live consultation fact are written (after it, the live path counted them).
After-sales seen for the first time are clocked from their stored state: the time a finished
one spent in negotiation is not stored anywhere, so it counts in full.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import msgspec
import sqlalchemy as sa

from desk.aftersales.models import AfterSale
from desk.db import Work, dialect_name, insert_for
from desk.inbox.models import Delivery, Message, Sender
from desk.metrics.aftersales import note_aftersale
from desk.metrics.consultations import closes_consultation, first_response_s, opens_consultation
from desk.metrics.facts import FactKind, make_fact
from desk.metrics.models import AfterSaleClock, MetricFact, OpenConsultation
from desk.metrics.orders import note_order
from desk.metrics.record import write_fact
from desk.metrics.window import StoreCalendar, calendar_of
from desk.orders.models import Order

__all__ = ["backfill", "backfill_size"]

_message = Message.__table__
_fact = MetricFact.__table__
_open = OpenConsultation.__table__
_order = Order.__table__
_aftersale = AfterSale.__table__
_clock = AfterSaleClock.__table__
_BATCH = 500


class _Opening(msgspec.Struct):
    message_id: int
    at: dt.datetime


async def _first_live_opening(work: Work, store_id: int) -> dt.datetime | None:
    stmt = sa.select(sa.func.min(_fact.c.at)).where(
        _fact.c.store_id == store_id, _fact.c.kind == FactKind.CONSULTATION_OPENED.value
    )
    value = (await work.execute(stmt)).scalar()
    if value is not None and value.tzinfo is None:  # an aggregate on SQLite: naive UTC
        value = value.replace(tzinfo=dt.UTC)
    return value


async def _consultations(
    work: Work,
    calendar: StoreCalendar,
    *,
    store_id: int,
    conversation_id: int,
    since: dt.datetime,
    until: dt.datetime,
) -> int:
    """Fold one conversation's messages into facts; returns how many were new."""
    rows = (
        await work.execute(
            sa.select(
                _message.c.id,
                _message.c.sender,
                _message.c.author_id,
                _message.c.sent_at,
                _message.c.delivery,
            )
            .where(_message.c.conversation_id == conversation_id, _message.c.sent_at >= since)
            .order_by(_message.c.sent_at, _message.c.id)
        )
    ).all()
    written = 0
    opening: _Opening | None = None
    for row in rows:
        sender = Sender(row.sender)
        if opens_consultation(sender) and opening is None:
            opening = _Opening(int(row.id), row.sent_at)
        elif closes_consultation(sender) and opening is not None and row.delivery != Delivery.FAILED:
            if opening.at < until:
                written += await _opened(work, calendar, store_id, opening)
                waited = first_response_s(opening.at, row.sent_at)
                answered = make_fact(
                    calendar,
                    key=f"answered:{row.id}",
                    store_id=store_id,
                    kind=FactKind.CONSULTATION_ANSWERED,
                    at=opening.at,
                    agent_id=row.author_id,
                    seconds=int(waited),
                    in_window=calendar.in_window(opening.at),
                    in_time=calendar.in_time(waited),
                )
                written += await write_fact(work, answered)
            opening = None
    if opening is not None and opening.at < until:
        written += await _opened(work, calendar, store_id, opening)
        # Still waiting for a human: the live path closes it when one answers.
        await work.execute(
            insert_for(dialect_name(work), _open)
            .values(
                conversation_id=conversation_id,
                store_id=store_id,
                opened_at=opening.at,
                in_window=calendar.in_window(opening.at),
                opening_key=f"opened:{opening.message_id}",
            )
            .on_conflict_do_nothing(index_elements=[_open.c.conversation_id])
        )
    return written


async def _opened(work: Work, calendar: StoreCalendar, store_id: int, opening: _Opening) -> int:
    fact = make_fact(
        calendar,
        key=f"opened:{opening.message_id}",
        store_id=store_id,
        kind=FactKind.CONSULTATION_OPENED,
        at=opening.at,
        in_window=calendar.in_window(opening.at),
    )
    return int(await write_fact(work, fact))


async def backfill(
    work: Work, since: dt.datetime, *, on_progress: Callable[[int], None] | None = None
) -> int:
    """Write the missing facts of everything sent, paid or requested from ``since`` on; returns
    how many facts were new. ``on_progress`` hears of each batch of conversations, orders and
    after-sales gone through."""
    written = 0
    conversations = (
        await work.execute(
            sa.select(_message.c.store_id, _message.c.conversation_id)
            .where(_message.c.sent_at >= since)
            .group_by(_message.c.store_id, _message.c.conversation_id)
            .order_by(_message.c.store_id, _message.c.conversation_id)
        )
    ).all()
    calendars: dict[int, tuple[StoreCalendar, dt.datetime]] = {}
    far_future = dt.datetime.max.replace(tzinfo=dt.UTC)
    for n, (store_id, conversation_id) in enumerate(conversations, 1):
        if store_id not in calendars:
            calendars[store_id] = (
                await calendar_of(work, store_id),
                await _first_live_opening(work, store_id) or far_future,
            )
        calendar, until = calendars[store_id]
        written += await _consultations(
            work, calendar, store_id=store_id, conversation_id=conversation_id, since=since, until=until
        )
        if on_progress is not None and n % _BATCH == 0:
            on_progress(_BATCH)
    if on_progress is not None:
        on_progress(len(conversations) % _BATCH)
    orders = (
        await work.execute(
            sa.select(_order.c.id, _order.c.store_id, _order.c.buyer_id, _order.c.pay_time).where(
                _order.c.pay_time >= since
            )
        )
    ).all()
    before = await _count(work)
    for order in orders:
        await note_order(
            work, store_id=order.store_id, order_pk=order.id, buyer_id=order.buyer_id, pay_time=order.pay_time
        )
    aftersales = (
        await work.execute(
            sa.select(_aftersale)
            .where(_aftersale.c.create_time >= since)
            .where(~sa.exists().where(_clock.c.aftersale_pk == _aftersale.c.id))
        )
    ).all()
    for aftersale in aftersales:
        await note_aftersale(
            work,
            store_id=aftersale.store_id,
            aftersale_pk=aftersale.id,
            kind=aftersale.type,
            status=aftersale.status,
            requested_at=aftersale.create_time,
            updated_at=aftersale.update_time,
            origin="platform",
        )
    if on_progress is not None:
        on_progress(len(orders) + len(aftersales))
    return written + await _count(work) - before


async def backfill_size(work: Work, since: dt.datetime) -> int:
    """How many conversations, orders and after-sales :func:`backfill` goes through (its progress)."""
    conversations = (
        sa.select(_message.c.conversation_id).where(_message.c.sent_at >= since).distinct().subquery()
    )
    counts = [
        sa.select(sa.func.count()).select_from(conversations),
        sa.select(sa.func.count()).where(_order.c.pay_time >= since),
        sa.select(sa.func.count())
        .where(_aftersale.c.create_time >= since)
        .where(~sa.exists().where(_clock.c.aftersale_pk == _aftersale.c.id)),
    ]
    return sum([int((await work.execute(stmt)).scalar_one()) for stmt in counts])


async def _count(work: Work) -> int:
    return int((await work.execute(sa.select(sa.func.count()).select_from(_fact))).scalar_one())
