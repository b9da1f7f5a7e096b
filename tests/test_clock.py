"""The runtime clock: tests move time instead of waiting for it."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from desk.clock import ManualClock, SystemClock


async def test_sleepers_wake_in_order_when_the_clock_passes_their_time() -> None:
    clock = ManualClock()
    start = clock.now()
    woke: list[str] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(name)

    tasks = [asyncio.create_task(sleeper("three minutes", 180)), asyncio.create_task(sleeper("a minute", 60))]
    await asyncio.sleep(0)
    clock.advance(59)
    await asyncio.sleep(0)
    assert woke == []
    clock.advance(1)
    await asyncio.sleep(0)
    assert woke == ["a minute"]
    clock.advance(120)
    await asyncio.gather(*tasks)
    assert woke == ["a minute", "three minutes"]
    assert clock.now() - start == dt.timedelta(seconds=180)


async def test_a_manual_clock_never_goes_backwards_and_wants_aware_instants() -> None:
    clock = ManualClock()
    now = clock.now()
    clock.set(now - dt.timedelta(hours=1))
    assert clock.now() == now
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set(dt.datetime(2026, 1, 1))


async def test_the_system_clock_is_utc() -> None:
    assert SystemClock().now().utcoffset() == dt.timedelta(0)
