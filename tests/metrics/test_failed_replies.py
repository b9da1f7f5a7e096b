"""A human reply that never reached the buyer answered nothing (the platform refused it for good)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from desk.accounts.models import Role
from desk.metrics.window import DEFAULT_CALENDAR
from desk.stores.models import Store
from tests.inbox.support import buyer_writes, conversation
from tests.inbox.test_replies import fail_next_sends, reply, runner, simulated_buyer
from tests.ingest.conftest import Platform
from tests.metrics.support import figures


async def counted_all_day(platform: Platform) -> None:
    """Store 0 counts every hour: these tests run at the wall clock's time, whatever it is."""
    async with platform.runtime.db.engine.begin() as conn:
        await conn.execute(
            sa.update(Store).where(Store.id == platform.stores[0].id).values(assessment_start_min=0)
        )


async def day_of(platform: Platform, conversation_id: int) -> str:
    since = (await conversation(platform.runtime, conversation_id)).waiting_since
    assert since is not None
    return DEFAULT_CALENDAR.day_and_hour(since)[0].isoformat()


async def test_a_failed_reply_leaves_the_consultation_unanswered_until_a_reply_arrives(
    platform: Platform, make_user
) -> None:
    runtime, store = platform.runtime, platform.stores[0]
    agent = await make_user("xiaochen", Role.AGENT, [store])
    await counted_all_day(platform)
    _, conversation_id = await simulated_buyer(platform)
    day = await day_of(platform, conversation_id)
    opened = (await conversation(runtime, conversation_id)).waiting_since
    assert opened is not None
    await reply(runtime, agent, conversation_id, opened + dt.timedelta(seconds=30))
    assert (await figures(runtime, [store.id], day)).answered_in_time == 1
    await fail_next_sends(platform)

    failed = await figures(runtime, [store.id], day)
    assert (failed.consultations, failed.answered_in_time, failed.first_response_median_s) == (1, 0, None)

    await reply(runtime, agent, conversation_id, opened + dt.timedelta(seconds=200))
    await runner(platform).drain()
    again = await figures(runtime, [store.id], day)
    assert (again.consultations, again.answered_in_time, again.reply_rate) == (1, 0, 0.0)
    assert again.first_response_median_s == 200.0  # from the buyer's first message


async def test_a_question_asked_after_a_reply_that_failed_belongs_to_the_same_consultation(
    platform: Platform, make_user
) -> None:
    runtime, store = platform.runtime, platform.stores[0]
    agent = await make_user("xiaochen", Role.AGENT, [store])
    await counted_all_day(platform)
    openid, conversation_id = await simulated_buyer(platform)
    day = await day_of(platform, conversation_id)
    opened = (await conversation(runtime, conversation_id)).waiting_since
    assert opened is not None
    await reply(runtime, agent, conversation_id, opened + dt.timedelta(seconds=30))
    await buyer_writes(runtime, store, openid, opened + dt.timedelta(seconds=60), "有人吗？")
    assert (await figures(runtime, [store.id], day)).consultations == 2
    await fail_next_sends(platform)

    merged = await figures(runtime, [store.id], day)
    assert (merged.consultations, merged.answered_in_time) == (1, 0)
    await reply(runtime, agent, conversation_id, opened + dt.timedelta(seconds=170))
    answered = await figures(runtime, [store.id], day)
    assert (answered.consultations, answered.answered_in_time, answered.first_response_median_s) == (
        1,
        1,
        170.0,
    )
