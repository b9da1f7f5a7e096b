"""Running the simulator on its own (``desk simulate``): serve, play a scenario, until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from desk.simulator.config import SimCorp, SimStore, demo_store
from desk.simulator.faults import Faults
from desk.simulator.simulator import Simulator

__all__ = ["run_simulator", "serve_until_stopped"]

log = logging.getLogger(__name__)


async def serve_until_stopped(
    sim: Simulator,
    *,
    host: str = "127.0.0.1",
    port: int = 8900,
    scenario: str | None = "quiet",
    orders_per_minute: float | None = None,
    duration_s: float | None = None,
    repeat: bool = True,
) -> None:
    """Serve ``sim`` and play ``scenario`` (again and again with ``repeat``) until cancelled."""
    async with sim.serving(host=host, port=port) as base_url:
        log.warning("WeChat platform simulator at %s (buyer page: %s/sim/buyer)", base_url, base_url)
        while scenario is not None:
            report = await sim.run_scenario(
                scenario, orders_per_minute=orders_per_minute, duration_s=duration_s
            )
            log.warning(
                "scenario %s: %d orders, %d after-sales, %d buyer messages",
                report.name,
                report.orders,
                report.aftersales,
                report.buyer_messages,
            )
            if not repeat:
                break
        await asyncio.Event().wait()  # until Ctrl+C / cancellation


def run_simulator(
    *,
    stores: Sequence[SimStore] | None = None,
    corps: Sequence[SimCorp] = (),
    store_count: int = 2,
    push_url: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8900,
    seed: int = 1,
    time_scale: float = 1.0,
    scenario: str | None = "quiet",
    orders_per_minute: float | None = None,
    duration_s: float | None = None,
    repeat: bool = True,
    faults: Faults | None = None,
) -> None:
    """Run a standalone simulator until interrupted (the ``desk simulate`` command calls this).

    Without ``stores``, ``store_count`` demo stores (:func:`demo_store`, stable credentials for
    ``seed``) push to ``push_url`` with ``{appid}`` replaced by each store's appid.
    """
    sim = Simulator(seed=seed, time_scale=time_scale, faults=faults)
    chosen = (
        list(stores)
        if stores is not None
        else [demo_store(n, seed=seed, push_url=None) for n in range(1, store_count + 1)]
    )
    for store in chosen:
        if stores is None and push_url:
            store.push_url = push_url.replace("{appid}", store.appid)
        sim.add_store(store)
    for corp in corps:
        sim.add_corp(corp)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            serve_until_stopped(
                sim,
                host=host,
                port=port,
                scenario=scenario,
                orders_per_minute=orders_per_minute,
                duration_s=duration_s,
                repeat=repeat,
            )
        )
