"""The rule engine: evaluates queued triggers, exactly once, and carries out what the rules decide.

Triggers are claimed like timers and commands (:class:`desk.leases.LeaseQueue`). Each is handled in
one transaction: the lease is re-asserted, the facts read, the enabled rules evaluated
(:func:`desk.rules.evaluate.evaluate`), each planned action run in its own savepoint, a rule run
written for every rule that matched, and the trigger marked done. A worker killed half-way commits
nothing, and the trigger is claimed again when its lease runs out; one that finished cannot run
again. Platform calls are not made here: approvals and rejections become stored commands.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from desk.clock import Clock
from desk.db import Database, log_round_failure
from desk.leases import LeaseQueue, QueueStates, RetryPolicy
from desk.paths import RULES_DIR
from desk.rules.actions import DEFAULT_FUSE_PER_HOUR, EXECUTORS, ActionContext, ActionOutcome
from desk.rules.evaluate import Compiled, RuleOutcome, evaluate
from desk.rules.files import RuleFileError
from desk.rules.gather import Gathered, gather
from desk.rules.model import Rule, TriggerEvent
from desk.rules.models import RuleRow, RuleRun, RuleTrigger, TriggerState
from desk.rules.storage import load_defaults_if_new
from desk.wakeup import Wakeup

__all__ = ["RuleEngine"]

log = logging.getLogger(__name__)

_trigger = RuleTrigger.__table__
_rule = RuleRow.__table__
_run = RuleRun.__table__


_ORDER_WAIT_ATTEMPTS = 3


class _OrderNotYetStoredError(Exception):
    pass


class _Loaded:
    __slots__ = ("compiled", "pk", "version")

    def __init__(self, pk: int, version: int, compiled: Compiled) -> None:
        self.pk, self.version, self.compiled = pk, version, compiled

    @property
    def rule(self) -> Rule:
        return self.compiled.rule


class _RuleCache:
    """Enabled rules, compiled once per version: each trigger reads only ids and versions."""

    def __init__(self) -> None:
        self._by_version: dict[tuple[int, int], _Loaded] = {}

    async def enabled(self, conn: AsyncConnection) -> dict[str, _Loaded]:
        current = (
            await conn.execute(sa.select(_rule.c.id, _rule.c.version).where(_rule.c.enabled.is_(True)))
        ).all()
        wanted = {(row.id, row.version) for row in current}
        missing = wanted - self._by_version.keys()
        if missing:
            rows = await conn.execute(
                sa.select(_rule.c.id, _rule.c.version, _rule.c.body).where(
                    _rule.c.id.in_([pk for pk, _ in missing])
                )
            )
            for row in rows:
                self._by_version[(row.id, row.version)] = _Loaded(
                    row.id, row.version, Compiled(msgspec.convert(row.body, Rule))
                )
        # Old versions go: the cache holds what is enabled now, nothing more.
        self._by_version = {key: value for key, value in self._by_version.items() if key in wanted}
        return {loaded.rule.id: loaded for loaded in self._by_version.values()}


def _run_outcome(results: list[ActionOutcome]) -> str:
    statuses = {r.status for r in results}
    if "fuse" in statuses:
        return "fuse"
    if statuses <= {"done"}:
        return "done"
    if "done" in statuses:
        return "partial"
    return "failed" if "failed" in statuses else "skipped"


def _reraise_if_cancelled() -> None:
    """Stop when asked to, even if the cancellation surfaced as another error.

    Cancelled mid-statement, SQLAlchemy's clean-up can raise its own error (``greenlet_spawn has
    not been called``) in place of :class:`asyncio.CancelledError`; caught as a failed round, the
    loop would go on and ``stop()`` would wait for it forever (a server that ignores SIGTERM).
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class RuleEngine:
    """A background service; :meth:`run_due` handles every queued trigger (tests call it directly)."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        name: str,
        wakeup: Wakeup | None = None,
        poll_s: float = 0.5,
        fuse_per_hour: int = DEFAULT_FUSE_PER_HOUR,
        lease_s: float = 60.0,
        enabled: bool = True,
        load_defaults: bool = True,
    ) -> None:
        self.load_defaults_on_start = load_defaults
        self.enabled = enabled
        """The global kill switch (``DESK_RULES_ENABLED``): off closes triggers unevaluated."""
        self.db = db
        self.clock = clock
        self.wakeup = wakeup
        self.poll_s = poll_s
        self.fuse_per_hour = fuse_per_hour
        self.queue = LeaseQueue(
            _trigger,
            name,
            states=QueueStates(
                TriggerState.PENDING, TriggerState.PROCESSING, TriggerState.DONE, TriggerState.PARKED
            ),
            lease_s=lease_s,
            retry=RetryPolicy(max_attempts=6, base_delay_s=1.0, max_delay_s=120.0),
            skip_locked=not db.is_sqlite,
            returning=[
                _trigger.c.id,
                _trigger.c.store_id,
                _trigger.c.event,
                _trigger.c.payload,
                _trigger.c.attempts,
            ],
            now=clock.now,
        )
        self._rules = _RuleCache()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.load_defaults_on_start:
            await self.load_defaults()
        self._task = asyncio.create_task(self._loop(), name="rule-engine")

    async def load_defaults(self) -> None:
        """Load the shipped rules on the desk's first start (see :func:`load_defaults_if_new`)."""
        try:
            async with self.db.transaction() as conn:
                report = await load_defaults_if_new(conn, RULES_DIR)
        except sa.exc.IntegrityError:
            return  # another worker starting at the same moment loaded them
        except RuleFileError as exc:  # a broken install: say so, run without defaults
            log.error("the shipped rules in %s do not load:\n%s", RULES_DIR, exc)
            return
        if report is not None:
            log.info("loaded %d default rules from %s", len(report.created), RULES_DIR)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_due()
            except Exception as exc:  # the database went away, say: try again next round
                _reraise_if_cancelled()
                log_round_failure(log, "rule engine", exc)
            await asyncio.sleep(self.poll_s)

    async def run_due(self) -> int:
        """Evaluate every queued trigger; returns how many were handled."""
        handled = 0
        while True:
            async with self.db.engine.begin() as conn:
                rows = await self.queue.claim(conn, 100)
            if not rows:
                return handled
            for row in rows:
                handled += await self._handle(row)

    async def _handle(self, row: Any) -> int:
        try:
            async with self.db.transaction() as conn:
                if not await self.queue.hold(conn, [row.id]):
                    return 0  # another worker took it over after our lease ran out
                await self._evaluate(conn, row)
                await self.queue.finish(conn, [row.id])
        except Exception as exc:  # one trigger's failure must not stop the others
            _reraise_if_cancelled()
            log.warning("rule trigger %d (%s) failed: %s", row.id, row.event, exc)
            async with self.db.engine.begin() as conn:
                await self.queue.fail(conn, row.id, row.attempts, f"{type(exc).__name__}: {exc}")
            return 0
        return 1

    async def _evaluate(self, conn: AsyncConnection, row: Any) -> None:
        if not self.enabled:
            return  # switched off: closed without a run, and not replayed when switched back on
        now = self.clock.now()
        gathered = await gather(
            conn,
            store_id=row.store_id,
            event=TriggerEvent(row.event),
            payload=dict(row.payload or {}),
            now=now,
        )
        if gathered is None:
            return
        if (
            gathered.facts.aftersale is not None
            and gathered.facts.order is None
            and row.attempts < _ORDER_WAIT_ATTEMPTS
        ):
            # The after-sale's push can beat its order's: wait a little for the order rather than
            # evaluate without it (conditions over it would be unknown, and nothing approved).
            raise _OrderNotYetStoredError(gathered.facts.aftersale.after_sale_order_id)
        rules = await self._rules.enabled(conn)
        evaluation = evaluate([r.compiled for r in rules.values()], gathered.event, gathered.facts)
        for outcome in evaluation.outcomes:
            if outcome.matched:
                await self._carry_out(
                    conn,
                    trigger_pk=row.id,
                    loaded=rules[outcome.rule_id],
                    outcome=outcome,
                    gathered=gathered,
                    now=now,
                )

    async def _carry_out(
        self,
        conn: AsyncConnection,
        *,
        trigger_pk: int,
        loaded: _Loaded,
        outcome: RuleOutcome,
        gathered: Gathered,
        now: dt.datetime,
    ) -> None:
        ctx = ActionContext(
            conn=conn,
            wakeup=self.wakeup,
            rule=loaded.rule,
            rule_pk=loaded.pk,
            version=loaded.version,
            gathered=gathered,
            now=now,
            fuse_per_hour=self.fuse_per_hour,
            trigger_pk=trigger_pk,
        )
        results: list[ActionOutcome] = []
        for planned in outcome.actions:
            kind = planned.action.__struct_config__.tag
            assert isinstance(kind, str)
            try:
                # Each action in its own savepoint: a failing one is undone alone, the rest go on.
                async with conn.begin_nested():
                    results.append(await EXECUTORS[kind](ctx, planned.action, planned.index))
            except Exception as exc:
                log.warning("rule %s action %d (%s) failed: %s", loaded.rule.id, planned.index, kind, exc)
                results.append(
                    ActionOutcome(
                        index=planned.index, type=kind, status="failed", detail=f"{type(exc).__name__}: {exc}"
                    )
                )
        for planned in outcome.superseded:
            kind = str(planned.action.__struct_config__.tag)
            results.append(ActionOutcome(index=planned.index, type=kind, status="superseded"))
        results.sort(key=lambda r: r.index)
        await conn.execute(
            _run.insert().values(
                trigger_pk=trigger_pk,
                store_id=gathered.event.store_id,
                rule_id=loaded.rule.id,
                rule_version=loaded.version,
                event=gathered.event.trigger.value,
                subject=gathered.subject[:80],
                conditions=msgspec.to_builtins(outcome.seen),
                actions=msgspec.to_builtins(results),
                outcome=_run_outcome(results),
                approvals=sum(r.approvals for r in results),
                created_at=now,
            )
        )
