"""Everything a worker process runs: applying events, running commands, reconciling, purging.

``desk worker`` runs a :class:`Background`; so does ``desk serve`` itself when
``DESK_WORKER=embedded`` (the demo and small shops). This is the one place that knows every
domain's outbound command kinds, as :mod:`desk.app` is for routes.
"""

from __future__ import annotations

from desk.aftersales import address_commands, interception
from desk.aftersales import commands as aftersale_commands
from desk.commands.kinds import CommandKind
from desk.commands.runner import CommandRunner
from desk.inbox import commands as inbox_commands
from desk.inbox import sweep as inbox_sweep
from desk.ingest.install import EventProcessing
from desk.metrics.applier import RollupApplier
from desk.orders import commands as order_commands
from desk.rules.engine import RuleEngine
from desk.runtime import Runtime
from desk.timers.runner import TimerHandler, TimerRunner

__all__ = ["COMMAND_KINDS", "TIMER_HANDLERS", "Background"]

COMMAND_KINDS: dict[str, CommandKind] = {
    **inbox_commands.KINDS,
    **aftersale_commands.KINDS,
    **order_commands.KINDS,
    **interception.KINDS,
    **address_commands.KINDS,
}
"""Every kind of outbound command, by name."""

TIMER_HANDLERS: dict[str, TimerHandler] = {
    **inbox_sweep.TIMER_HANDLERS,
}
"""Every kind of timer, by name."""


class Background:
    """The background services of one process, sharing its platform clients."""

    def __init__(self, runtime: Runtime, *, loops: int = 1, reconcile: bool = True) -> None:
        self.runtime = runtime
        self.processing = EventProcessing(
            runtime, loops=loops, wake=runtime.wakeup.waiter("events"), reconcile=reconcile
        )
        self.commands = CommandRunner(
            runtime.db,
            runtime.settings,
            self.processing.clients,
            COMMAND_KINDS,
            wakeup=runtime.wakeup,
            name=self.processing.worker.name,
        )
        self.timers = TimerRunner(
            runtime.db, runtime.clock, TIMER_HANDLERS, name=self.processing.worker.name, wakeup=runtime.wakeup
        )
        self.rules = RuleEngine(
            runtime.db,
            runtime.clock,
            name=self.processing.worker.name,
            wakeup=runtime.wakeup,
            enabled=runtime.settings.rules_enabled,
            load_defaults=runtime.settings.rules_load_defaults,
            fuse_per_hour=runtime.settings.rules_fuse_per_hour,
        )
        self.sweeper = inbox_sweep.InboxSweeper(
            runtime.db, runtime.clock, auto_resolve_hours=runtime.settings.auto_resolve_hours
        )
        self.rollups = RollupApplier(runtime.db)

    @property
    def name(self) -> str:
        return self.processing.worker.name

    async def start(self) -> None:
        await self.processing.start()
        await self.commands.start()
        await self.timers.start()
        await self.rules.start()
        await self.sweeper.start()
        await self.rollups.start()

    async def stop(self) -> None:
        await self.rollups.stop()
        await self.sweeper.stop()
        await self.rules.stop()
        await self.timers.stop()
        await self.commands.stop()
        await self.processing.stop()  # closes the shared clients last
