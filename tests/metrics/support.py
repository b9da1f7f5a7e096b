"""Hand-built timelines for the metrics tests: buyers write, agents and rules reply, at given instants.

Every step runs in its own unit of work through the owners' real save functions (the inbox's
filing and replies), as the worker and a web request would; instants are passed, never slept.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from desk.accounts.models import User
from desk.inbox.access import conversation_for
from desk.inbox.replies import ReplyResult, send_auto_reply, send_reply
from desk.metrics.applier import RollupApplier
from desk.metrics.figures import Period, Summary, summary
from desk.runtime import Runtime

__all__ = ["SHANGHAI", "auto_replies", "figures", "local", "replies", "settle"]

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(day: str, clock: str, zone: str = "Asia/Shanghai") -> dt.datetime:
    """The UTC instant of ``day`` ``clock`` (``"2026-12-01"``, ``"07:59:00"``) on a wall clock."""
    naive = dt.datetime.fromisoformat(f"{day}T{clock}")
    return naive.replace(tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)


async def replies(runtime: Runtime, agent: User, conversation_id: int, now: dt.datetime) -> ReplyResult:
    async with runtime.db.session() as session:
        result = await send_reply(
            session, runtime.wakeup, user=agent, conversation_id=conversation_id, text="您好", now=now
        )
    assert isinstance(result, ReplyResult), result
    return result


async def auto_replies(runtime: Runtime, agent: User, conversation_id: int, now: dt.datetime) -> None:
    async with runtime.db.session() as session:
        state = await conversation_for(session, agent, conversation_id)
        result = await send_auto_reply(
            session,
            runtime.wakeup,
            conversation=state,
            text="自动回复：稍等",
            key=f"auto-{conversation_id}-{now.timestamp()}",
            origin="rule:1",
            now=now,
        )
    assert isinstance(result, ReplyResult), result


async def settle(runtime: Runtime) -> None:
    """Add the pending facts to the rollups, as the worker's applier does a moment after."""
    await RollupApplier(runtime.db).drain()


async def figures(
    runtime: Runtime, store_ids: list[int], first: str, last: str | None = None, **kw: int
) -> Summary:
    await settle(runtime)
    period = Period(dt.date.fromisoformat(first), dt.date.fromisoformat(last or first))
    async with runtime.db.engine.connect() as conn:
        return await summary(conn, store_ids, period, **kw)
