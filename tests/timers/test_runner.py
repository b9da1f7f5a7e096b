"""The timer runner: a timer fires once when due, survives a runner that dies, and a failing
handler is retried, then parked. Due-ness follows a ManualClock; nothing sleeps."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from desk.changes.events import ConversationChanged
from desk.changes.record import record
from desk.clock import ManualClock
from desk.runtime import Runtime
from desk.timers.models import Timer, TimerState
from desk.timers.runner import TimerRunner
from desk.timers.service import schedule
from tests.inbox.support import T0, change_events

LEASE = dt.timedelta(seconds=60)


class Calls:
    """A handler that leaves a trace in the database (rolled back with its transaction) and
    fails while told to."""

    def __init__(self) -> None:
        self.failing = 0

    async def __call__(
        self, conn: Any, payload: dict[str, Any], store_id: int | None, now: dt.datetime
    ) -> None:
        await record(
            conn,
            ConversationChanged(store_id=store_id, conversation_id=int(payload["n"]), what=f"fired {now}"),
        )
        if self.failing:
            self.failing -= 1
            raise RuntimeError("the handler failed")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def calls() -> Calls:
    return Calls()


def make_runner(runtime: Runtime, clock: ManualClock, calls: Calls, name: str = "runner-1") -> TimerRunner:
    return TimerRunner(runtime.db, clock, {"test.fire": calls}, name=name)


async def fired(runtime: Runtime) -> list[tuple[int, str]]:
    return [(e["conversation_id"], e["what"]) for e in await change_events(runtime, "conversation.changed")]


async def add(runtime: Runtime, key: str, due: dt.datetime, n: int = 1, kind: str = "test.fire") -> None:
    async with runtime.db.transaction() as conn:
        await schedule(conn, key=key, kind=kind, due_at=due, payload={"n": n})


async def timer(runtime: Runtime, key: str) -> Any:
    async with runtime.db.engine.connect() as conn:
        return (await conn.execute(sa.select(Timer.__table__).where(Timer.key == key))).one()


async def test_a_timer_fires_once_when_due(runtime: Runtime, clock: ManualClock, calls: Calls) -> None:
    runner = make_runner(runtime, clock, calls)
    await add(runtime, "t1", T0 + dt.timedelta(seconds=10))
    clock.advance(9.999)
    assert await runner.fire_due() == 0
    clock.advance(0.001)
    assert await runner.fire_due() == 1
    assert await fired(runtime) == [(1, f"fired {T0 + dt.timedelta(seconds=10)}")]
    clock.advance(3600)
    assert await runner.fire_due() == 0
    assert len(await fired(runtime)) == 1
    assert (await timer(runtime, "t1")).state == TimerState.DONE


async def test_every_due_timer_fires_across_claim_batches_and_no_other(
    runtime: Runtime, clock: ManualClock, calls: Calls
) -> None:
    for n in range(250):  # more than one claim batch
        await add(runtime, f"t{n}", T0 + dt.timedelta(seconds=n % 7), n)
    clock.advance(3)
    due = [n for n in range(250) if n % 7 <= 3]
    assert await make_runner(runtime, clock, calls).fire_due() == len(due)
    assert sorted(n for n, _ in await fired(runtime)) == due


async def test_two_runners_at_once_fire_each_timer_once(
    runtime: Runtime, clock: ManualClock, calls: Calls
) -> None:
    for n in range(60):
        await add(runtime, f"t{n}", T0, n)
    runners = [make_runner(runtime, clock, calls, name=f"runner-{n}") for n in range(2)]
    counts = await asyncio.gather(*(r.fire_due() for r in runners))
    assert sum(counts) == 60
    assert sorted(n for n, _ in await fired(runtime)) == list(range(60))


async def test_a_runner_that_dies_after_claiming_is_replaced_once_its_lease_runs_out(
    runtime: Runtime, clock: ManualClock, calls: Calls
) -> None:
    await add(runtime, "t1", T0)
    doomed = make_runner(runtime, clock, calls, name="doomed")
    async with runtime.db.engine.begin() as conn:  # it claims the timer, then dies before firing it
        [claimed] = await doomed.queue.claim(conn, 10)
    survivor = make_runner(runtime, clock, calls, name="survivor")
    clock.advance(LEASE.total_seconds() - 1)
    assert await survivor.fire_due() == 0  # still held by the doomed runner's lease
    clock.advance(2)
    assert await survivor.fire_due() == 1
    assert len(await fired(runtime)) == 1
    # Should the doomed runner wake up after all, it finds the timer taken over and does nothing.
    assert await doomed._fire(claimed) == 0
    assert len(await fired(runtime)) == 1


async def test_a_failing_handler_is_retried_with_its_effects_undone_then_parked(
    runtime: Runtime, clock: ManualClock, calls: Calls
) -> None:
    await add(runtime, "t1", T0)
    runner = make_runner(runtime, clock, calls)
    calls.failing = 2
    assert await runner.fire_due() == 0
    assert await fired(runtime) == []  # the failed try left nothing behind
    failed = await timer(runtime, "t1")
    assert (failed.state, failed.attempts, failed.last_error) == (
        TimerState.PENDING,
        1,
        "RuntimeError: the handler failed",
    )
    assert failed.next_attempt_at > T0  # later, not in a tight loop
    clock.advance(3600)
    assert await runner.fire_due() == 0
    clock.advance(3600)
    assert await runner.fire_due() == 1
    assert len(await fired(runtime)) == 1

    await add(runtime, "t2", clock.now(), n=2)
    calls.failing = 100
    for _ in range(10):
        await runner.fire_due()
        clock.advance(3600)
    given_up = await timer(runtime, "t2")
    assert (given_up.state, given_up.attempts) == (TimerState.PARKED, 6)


async def test_a_timer_of_an_unknown_kind_is_parked_not_lost(
    runtime: Runtime, clock: ManualClock, calls: Calls
) -> None:
    await add(runtime, "t1", T0, kind="no.such.kind")
    runner = make_runner(runtime, clock, calls)
    for _ in range(8):
        await runner.fire_due()
        clock.advance(3600)
    lost = await timer(runtime, "t1")
    assert lost.state == TimerState.PARKED
    assert "no.such.kind" in lost.last_error
