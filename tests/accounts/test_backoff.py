"""Back-off counters: the schedule, and the same behaviour on every backend, under concurrency too."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from desk.accounts.backoff import FORGET_AFTER_S, Backoff
from desk.accounts.backoff_sql import SqlBackoffCounters
from desk.accounts.models import BackoffCounter

FIVE_FREE = Backoff(free=5, max_s=300)


def test_the_wait_starts_after_the_free_tries_doubles_and_stops_at_the_cap() -> None:
    assert [FIVE_FREE.delay(n) for n in range(1, 16)] == [
        0,
        0,
        0,
        0,
        1,
        2,
        4,
        8,
        16,
        32,
        64,
        128,
        256,
        300,
        300,
    ]
    assert FIVE_FREE.delay(10_000) == 300


@given(
    free=st.integers(min_value=1, max_value=50),
    max_s=st.integers(min_value=1, max_value=100_000),
    first_s=st.integers(min_value=1, max_value=100),
    tries=st.integers(min_value=1, max_value=500),
)
def test_the_schedule_the_sql_backend_uses_agrees_with_delay(
    free: int, max_s: int, first_s: int, tries: int
) -> None:
    backoff = Backoff(free=free, max_s=max_s, first_s=first_s)
    steps = backoff.schedule()
    expected = backoff.delay(tries)
    # What the SQL CASE computes: 0 before the free tries run out, a listed step, else the cap.
    assert (0 if tries < free else steps.get(tries, max_s)) == expected
    assert 0 <= expected <= max_s
    assert all(wait < max_s for wait in steps.values())


async def test_free_tries_then_doubling_waits_and_refused_tries_do_not_count(counters, clock) -> None:
    key = "account:alice"
    assert [(await counters.claim(key, FIVE_FREE, clock())).admitted for _ in range(5)] == [True] * 5
    waits = []
    for _ in range(10):
        refused = await counters.claim(key, FIVE_FREE, clock())
        assert not refused.admitted
        # Hammering during the wait changes nothing: the wait is the same on every refused try.
        assert (await counters.claim(key, FIVE_FREE, clock())).retry_after == refused.retry_after
        waits.append(refused.retry_after)
        clock.advance(refused.retry_after)
        assert (await counters.claim(key, FIVE_FREE, clock())).admitted
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]


async def test_counters_are_apart_per_key(counters, clock) -> None:
    for _ in range(5):
        await counters.claim("account:alice", FIVE_FREE, clock())
    assert not (await counters.claim("account:alice", FIVE_FREE, clock())).admitted
    assert (await counters.claim("account:bob", FIVE_FREE, clock())).admitted


async def test_forget_starts_again_and_refund_gives_back_exactly_one_try(counters, clock) -> None:
    for _ in range(5):
        await counters.claim("k", FIVE_FREE, clock())
    await counters.forget("k")
    for _ in range(4):
        assert (await counters.claim("k", FIVE_FREE, clock())).admitted
    await counters.refund("k", FIVE_FREE)  # 3 counted now: two more free tries, then the wait
    assert (await counters.claim("k", FIVE_FREE, clock())).admitted
    assert (await counters.claim("k", FIVE_FREE, clock())).admitted
    assert not (await counters.claim("k", FIVE_FREE, clock())).admitted
    # Refunding a counter that does not exist, or past zero, does nothing.
    two_free = Backoff(free=2, max_s=9)
    await counters.refund("other", two_free)
    assert (await counters.claim("other", two_free, clock())).admitted
    await counters.refund("other", two_free)
    await counters.refund("other", two_free)
    assert [(await counters.claim("other", two_free, clock())).admitted for _ in range(3)] == [
        True,
        True,
        False,
    ]


async def test_a_counter_is_forgotten_a_while_after_its_wait_ends(counters, clock) -> None:
    for _ in range(7):
        claim = await counters.claim("k", FIVE_FREE, clock())
        clock.advance(claim.retry_after or 4)  # the third wait runs 4 s after the 7th try
    clock.advance(FORGET_AFTER_S - 1)
    assert (await counters.claim("k", FIVE_FREE, clock())).admitted
    assert not (await counters.claim("k", FIVE_FREE, clock())).admitted  # still remembered: 8 tries
    clock.advance(8 + FORGET_AFTER_S)
    for _ in range(5):
        assert (await counters.claim("k", FIVE_FREE, clock())).admitted  # forgotten: free again


async def test_fifty_parallel_tries_admit_exactly_the_free_ones(counters, clock) -> None:
    claims = await asyncio.gather(*(counters.claim("account:alice", FIVE_FREE, clock()) for _ in range(50)))
    assert sum(c.admitted for c in claims) == 5
    assert {c.retry_after for c in claims if not c.admitted} == {1}


async def test_purge_deletes_only_forgotten_counters_from_the_database(runtime, clock) -> None:
    counters = SqlBackoffCounters(runtime.db)
    await counters.claim("old", FIVE_FREE, clock())
    clock.advance(FORGET_AFTER_S + 1)
    await counters.claim("new", FIVE_FREE, clock())
    await counters.purge(clock())
    async with runtime.db.session() as session:
        assert set(await session.scalars(sa.select(BackoffCounter.key))) == {"new"}


async def test_a_refund_lifts_the_wait_that_tries_since_refunded_had_started(counters, clock) -> None:
    # Five sign-ins from one office address in flight at once: the fifth claim starts a wait,
    # but all five turn out right. Once refunded, the address is not kept waiting for them.
    for _ in range(5):
        assert (await counters.claim("address:office", FIVE_FREE, clock())).admitted
    assert not (await counters.claim("address:office", FIVE_FREE, clock())).admitted
    for _ in range(5):
        await counters.refund("address:office", FIVE_FREE)
    assert (await counters.claim("address:office", FIVE_FREE, clock())).admitted
    # Failures that were not refunded keep their wait.
    for _ in range(4):
        await counters.claim("address:office", FIVE_FREE, clock())
    await counters.refund("address:office", FIVE_FREE)  # 4 counted: still within the free ones
    assert (await counters.claim("address:office", FIVE_FREE, clock())).admitted  # the 5th: a wait starts
    assert not (await counters.claim("address:office", FIVE_FREE, clock())).admitted


async def test_a_try_stamped_earlier_but_counted_later_is_not_refused(counters, clock) -> None:
    # Two sign-ins from one address read the clock, then reach the counter in the other order:
    # the later-stamped one is counted first. The earlier-stamped one is still a free try.
    stamped_first = clock()
    clock.advance(0.3)
    assert (await counters.claim("address:office", FIVE_FREE, clock())).admitted
    assert (await counters.claim("address:office", FIVE_FREE, stamped_first)).admitted
