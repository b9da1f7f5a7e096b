"""The 3-minute human reply rate on hand-built timelines, with exact expected figures.

Buyers write and agents reply through the inbox's own save functions; the figures are read back
from the rollups those saves keep.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from desk.accounts.models import Role
from desk.metrics.figures import Period, agent_table
from desk.metrics.models import MetricFact, MetricRollup
from desk.runtime import Runtime
from tests.inbox.support import buyer_writes
from tests.metrics.support import auto_replies, figures, local, replies, settle

DAY = "2026-12-01"


async def test_a_consultation_opened_at_0759_is_reported_apart_and_one_at_0800_counts(
    runtime: Runtime, make_store, make_user
) -> None:
    store = await make_store()
    agent = await make_user("agent", Role.AGENT, stores=[store])
    early = await buyer_writes(runtime, store, "early", local(DAY, "07:59:00"))
    on_time = await buyer_writes(runtime, store, "on-time", local(DAY, "08:00:00"))
    await replies(runtime, agent, early, local(DAY, "08:00:30"))
    await replies(runtime, agent, on_time, local(DAY, "08:04:00"))  # 240 s: late

    day = await figures(runtime, [store.id], DAY)
    assert (day.consultations, day.answered_in_time, day.reply_rate) == (1, 0, 0.0)
    assert (day.outside_consultations, day.outside_reply_rate) == (1, 1.0)
    assert (day.first_response_median_s, day.first_response_p90_s) == (240.0, 240)  # in the window only


async def test_an_automatic_reply_never_counts_and_the_human_one_at_179_s_does_but_not_at_181_s(
    runtime: Runtime, make_store, make_user
) -> None:
    store = await make_store()
    agent = await make_user("agent", Role.AGENT, stores=[store])
    start = local(DAY, "10:00:00")
    fast = await buyer_writes(runtime, store, "fast", start)
    slow = await buyer_writes(runtime, store, "slow", start)
    for conversation_id in (fast, slow):
        await auto_replies(runtime, agent, conversation_id, local(DAY, "10:00:05"))
    await replies(runtime, agent, fast, local(DAY, "10:02:59"))
    await replies(runtime, agent, slow, local(DAY, "10:03:01"))

    day = await figures(runtime, [store.id], DAY)
    assert (day.consultations, day.answered_in_time, day.reply_rate) == (2, 1, 0.5)
    assert (day.first_response_median_s, day.first_response_p90_s) == (180.0, 181)
    mine = await figures(runtime, [store.id], DAY, agent_id=agent.id)
    assert (mine.consultations, mine.answered_in_time) == (2, 1)


async def test_an_automatic_reply_alone_leaves_the_consultation_open_and_unanswered(
    runtime: Runtime, make_store, make_user
) -> None:
    store = await make_store()
    agent = await make_user("agent", Role.AGENT, stores=[store])
    waiting = await buyer_writes(runtime, store, "b", local(DAY, "10:00:00"))
    await auto_replies(runtime, agent, waiting, local(DAY, "10:00:01"))

    day = await figures(runtime, [store.id], DAY)
    assert (day.consultations, day.answered_in_time, day.reply_rate) == (1, 0, 0.0)
    assert day.first_response_median_s is None


async def test_two_buyer_messages_before_one_reply_are_one_consultation_timed_from_the_first(
    runtime: Runtime, make_store, make_user
) -> None:
    store = await make_store()
    agent = await make_user("agent", Role.AGENT, stores=[store])
    conversation = await buyer_writes(runtime, store, "b", local(DAY, "10:00:00"))
    await buyer_writes(runtime, store, "b", local(DAY, "10:02:00"))
    await replies(runtime, agent, conversation, local(DAY, "10:03:30"))  # 210 s after the first
    await buyer_writes(runtime, store, "b", local(DAY, "10:05:00"))  # a new consultation
    await replies(runtime, agent, conversation, local(DAY, "10:05:30"))
    await replies(runtime, agent, conversation, local(DAY, "10:06:00"))  # closes nothing more

    day = await figures(runtime, [store.id], DAY)
    assert (day.consultations, day.answered_in_time, day.reply_rate) == (2, 1, 0.5)
    assert (day.first_response_median_s, day.first_response_p90_s) == (120.0, 210)


async def test_a_reply_after_midnight_counts_on_the_day_and_hour_the_consultation_opened(
    runtime: Runtime, make_store, make_user
) -> None:
    store = await make_store()
    agent = await make_user("agent", Role.AGENT, stores=[store])
    conversation = await buyer_writes(runtime, store, "b", local(DAY, "23:59:00"))
    await replies(runtime, agent, conversation, local("2026-12-02", "00:01:30"))

    day = await figures(runtime, [store.id], DAY)
    assert (day.consultations, day.answered_in_time, day.reply_rate) == (1, 1, 1.0)
    after = await figures(runtime, [store.id], "2026-12-02")
    assert (after.consultations, after.reply_rate, after.first_response_median_s) == (0, None, None)
    async with runtime.db.engine.connect() as conn:
        hours = (await conn.execute(sa.select(MetricRollup.day, MetricRollup.hour).distinct())).all()
    assert [(str(day), hour) for day, hour in hours] == [(DAY, 23)]


async def test_a_store_in_another_time_zone_counts_its_own_window_days_and_hours(
    runtime: Runtime, make_store, make_user
) -> None:
    berlin = await make_store(timezone="Europe/Berlin")
    agent = await make_user("agent", Role.AGENT, stores=[berlin])
    # 07:59 and 08:30 in Berlin are 14:59 and 15:30 in Shanghai: Berlin's window decides.
    before = await buyer_writes(runtime, berlin, "a", local(DAY, "07:59:00", "Europe/Berlin"))
    inside = await buyer_writes(runtime, berlin, "b", local(DAY, "08:30:00", "Europe/Berlin"))
    late_night = await buyer_writes(runtime, berlin, "c", local(DAY, "23:30:00", "Europe/Berlin"))
    for conversation in (before, inside, late_night):
        await replies(runtime, agent, conversation, local("2026-12-02", "00:00:30", "Europe/Berlin"))

    day = await figures(runtime, [berlin.id], DAY)
    assert (day.consultations, day.answered_in_time, day.outside_consultations) == (2, 0, 1)
    # 23:30 in Berlin is 06:30 on 2 December in Shanghai, but it is Berlin's 1 December.
    assert (await figures(runtime, [berlin.id], "2026-12-02")).consultations == 0
    async with runtime.db.engine.connect() as conn:
        opened = (
            await conn.execute(
                sa.select(MetricFact.local_hour)
                .where(MetricFact.kind == "consultation.opened")
                .order_by(MetricFact.local_hour)
            )
        ).scalars()
        assert list(opened) == [7, 8, 23]


async def test_the_window_and_deadline_are_the_stores_own(runtime: Runtime, make_store, make_user) -> None:
    store = await make_store(assessment_start_min=8 * 60, assessment_end_min=23 * 60, reply_deadline_s=600)
    agent = await make_user("agent", Role.AGENT, stores=[store])
    evening = await buyer_writes(runtime, store, "a", local(DAY, "22:59:59"))
    night = await buyer_writes(runtime, store, "b", local(DAY, "23:00:00"))
    await replies(runtime, agent, evening, local(DAY, "23:08:00"))  # 481 s: within 10 minutes
    await replies(runtime, agent, night, local(DAY, "23:01:00"))

    day = await figures(runtime, [store.id], DAY)
    assert (day.consultations, day.answered_in_time) == (1, 1)
    assert (day.outside_consultations, day.outside_reply_rate) == (1, 1.0)


async def test_a_message_delivered_twice_opens_one_consultation(runtime: Runtime, make_store) -> None:
    store = await make_store()
    for _ in range(2):
        await buyer_writes(runtime, store, "b", local(DAY, "10:00:00"), msg_id="same")
    assert (await figures(runtime, [store.id], DAY)).consultations == 1


async def test_an_empty_store_has_zeros_and_no_rates(runtime: Runtime, make_store) -> None:
    store = await make_store()
    day = await figures(runtime, [store.id], DAY)
    assert (day.consultations, day.reply_rate, day.aftersale_rate, day.automatic_share) == (
        0,
        None,
        None,
        None,
    )
    assert (day.first_response_median_s, day.refund_only_mean_s) == (None, None)


async def test_a_buyer_message_delivered_late_moves_the_opening_back_to_when_it_was_sent(
    runtime: Runtime, make_store, make_user
) -> None:
    store = await make_store()
    agent = await make_user("agent", Role.AGENT, stores=[store])
    conversation = await buyer_writes(runtime, store, "b", local(DAY, "10:00:30"))  # arrives first
    await buyer_writes(runtime, store, "b", local(DAY, "09:59:50"))  # sent earlier, delivered late
    await replies(runtime, agent, conversation, local(DAY, "10:03:00"))  # 190 s after the first

    day = await figures(runtime, [store.id], DAY)
    assert (day.consultations, day.answered_in_time, day.first_response_median_s) == (1, 0, 190.0)


async def test_a_late_message_sent_before_the_last_reply_opens_nothing_earlier(
    runtime: Runtime, make_store, make_user
) -> None:
    store = await make_store()
    agent = await make_user("agent", Role.AGENT, stores=[store])
    conversation = await buyer_writes(runtime, store, "b", local(DAY, "10:00:00"))
    await replies(runtime, agent, conversation, local(DAY, "10:01:00"))
    await buyer_writes(runtime, store, "b", local(DAY, "10:05:00"))
    await buyer_writes(runtime, store, "b", local(DAY, "10:00:30"))  # belonged to the answered one
    await replies(runtime, agent, conversation, local(DAY, "10:06:00"))

    day = await figures(runtime, [store.id], DAY)
    assert (day.consultations, day.answered_in_time, day.first_response_median_s) == (2, 2, 60.0)


async def test_the_agent_table_has_each_agents_answers_in_two_reads(
    runtime: Runtime, make_store, make_user
) -> None:
    store = await make_store()
    chen = await make_user("chen", Role.AGENT, stores=[store])
    liu = await make_user("liu", Role.AGENT, stores=[store])
    for peer, agent, after in (("a", chen, "10:01:00"), ("b", chen, "10:05:00"), ("c", liu, "10:02:00")):
        conversation = await buyer_writes(runtime, store, peer, local(DAY, "10:00:00"))
        await replies(runtime, agent, conversation, local(DAY, after))
    await buyer_writes(runtime, store, "d", local(DAY, "10:00:00"))  # unanswered: the store's only

    await settle(runtime)
    async with runtime.db.engine.connect() as conn:
        table = await agent_table(conn, [store.id], Period.day(dt.date(2026, 12, 1)))
    assert [
        (r.agent_id, r.consultations, r.answered_in_time, r.reply_rate, r.first_response_median_s)
        for r in table
    ] == [
        (chen.id, 2, 1, 0.5, 180.0),
        (liu.id, 1, 1, 1.0, 120.0),
    ]
    assert (await figures(runtime, [store.id], DAY)).consultations == 4
