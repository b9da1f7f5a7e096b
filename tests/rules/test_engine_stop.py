"""Stopping the rule engine and the rollup applier while a round is under way.

Cancelled mid-statement, SQLAlchemy's clean-up can raise its own error in place of the
cancellation; a loop that took it for a failed round went on, and `desk serve` ignored SIGTERM.
"""

from __future__ import annotations

import asyncio

from desk.metrics.applier import RollupApplier
from desk.rules.engine import RuleEngine
from desk.runtime import Runtime


async def _round_whose_cancellation_turns_into_another_error() -> int:
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        raise RuntimeError("greenlet_spawn has not been called; can't call await_() here") from None
    return 0


async def test_the_rule_engine_stops_even_when_a_cancelled_round_raises_another_error(
    runtime: Runtime,
) -> None:
    engine = RuleEngine(runtime.db, runtime.clock, name="stopping", load_defaults=False)
    engine.run_due = _round_whose_cancellation_turns_into_another_error  # type: ignore[method-assign]
    await engine.start()
    await asyncio.sleep(0.05)  # inside the round
    async with asyncio.timeout(5):
        await engine.stop()


async def test_the_rollup_applier_stops_even_when_a_cancelled_round_raises_another_error(
    runtime: Runtime,
) -> None:
    applier = RollupApplier(runtime.db, interval_s=0.01)
    applier.drain = _round_whose_cancellation_turns_into_another_error  # type: ignore[method-assign]
    await applier.start()
    await asyncio.sleep(0.05)
    async with asyncio.timeout(5):
        await applier.stop()
