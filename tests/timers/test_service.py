"""Scheduling and cancelling timers: a key names one timer, scheduling it again moves it."""

from __future__ import annotations

import datetime as dt

import pytest

from desk.clock import ManualClock
from desk.runtime import Runtime
from desk.timers.runner import TimerRunner
from desk.timers.service import cancel, schedule
from tests.inbox.support import T0
from tests.timers.test_runner import Calls, add, fired, make_runner


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def runner(runtime: Runtime, clock: ManualClock) -> TimerRunner:
    return make_runner(runtime, clock, Calls())


async def test_scheduling_a_key_again_moves_the_timer(runtime: Runtime, clock: ManualClock, runner) -> None:
    await add(runtime, "t1", T0 + dt.timedelta(seconds=10), n=1)
    await add(runtime, "t1", T0 + dt.timedelta(seconds=100), n=2)
    clock.advance(10)
    assert await runner.fire_due() == 0
    clock.advance(90)
    assert await runner.fire_due() == 1
    assert [n for n, _ in await fired(runtime)] == [2]  # once, with the newer payload


async def test_scheduling_a_fired_key_again_arms_it_again(
    runtime: Runtime, clock: ManualClock, runner
) -> None:
    await add(runtime, "t1", T0)
    assert await runner.fire_due() == 1
    await add(runtime, "t1", T0 + dt.timedelta(seconds=60), n=2)
    clock.advance(60)
    assert await runner.fire_due() == 1
    assert [n for n, _ in await fired(runtime)] == [1, 2]


async def test_a_cancelled_timer_never_fires(runtime: Runtime, clock: ManualClock, runner) -> None:
    await add(runtime, "t1", T0 + dt.timedelta(seconds=10))
    await add(runtime, "t2", T0 + dt.timedelta(seconds=10), n=2)
    async with runtime.db.transaction() as conn:
        assert await cancel(conn, "t1")
        assert not await cancel(conn, "t1")  # already gone
        assert not await cancel(conn, "never-scheduled")
    clock.advance(3600)
    assert await runner.fire_due() == 1
    assert [n for n, _ in await fired(runtime)] == [2]


async def test_a_timer_scheduled_in_a_transaction_that_rolls_back_does_not_exist(
    runtime: Runtime, clock: ManualClock, runner
) -> None:
    async def schedule_then_fail() -> None:
        async with runtime.db.transaction() as conn:
            await schedule(conn, key="t1", kind="test.fire", due_at=T0, payload={"n": 1})
            raise RuntimeError("the caller's change failed")

    with pytest.raises(RuntimeError):
        await schedule_then_fail()
    assert await runner.fire_due() == 0
