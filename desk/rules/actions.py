"""The action registry: what each action of a matched rule does, through the domains' services.

One async function per action type, in an explicit table. Each runs inside the engine's
transaction (in its own savepoint, so one failure does not undo or stop the others) and returns
an :class:`ActionOutcome` for the rule run. After-sale decisions go through
:func:`desk.aftersales.actions.decide` — a stored command with an idempotency key, which the
command runner sends once after re-reading the after-sale on the platform. Approvals pass the
per-store hourly fuse first.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from desk.aftersales.actions import Decision, decide
from desk.aftersales.status import AfterSaleAction
from desk.audit.service import Actor, refused
from desk.db import insert_for, utcnow
from desk.errors import Invalid
from desk.inbox.replies import send_auto_reply
from desk.orders.models import BuyerTag
from desk.rules.gather import Gathered
from desk.rules.model import Approve, Reject, Reply, Rule, TagBuyer
from desk.rules.models import RuleRun
from desk.wakeup import Wakeup

__all__ = ["DEFAULT_FUSE_PER_HOUR", "EXECUTORS", "ActionContext", "ActionOutcome", "Executor"]

log = logging.getLogger(__name__)

DEFAULT_FUSE_PER_HOUR = 200
"""At most this many auto-approvals per rule and store within an hour; then the rule holds back."""

_run = RuleRun.__table__
_tag = BuyerTag.__table__


class ActionOutcome(msgspec.Struct, frozen=True, kw_only=True):
    index: int
    type: str
    status: str
    """``done``, ``failed``, ``skipped``, ``superseded`` or ``fuse``."""
    detail: str = ""
    approvals: int = 0


class ActionContext:
    """What an action needs: the transaction, the rule (with its row and version), the event."""

    __slots__ = (
        "approvals_so_far",
        "conn",
        "fuse_per_hour",
        "gathered",
        "now",
        "rule",
        "rule_pk",
        "trigger_pk",
        "version",
        "wakeup",
    )

    def __init__(
        self,
        *,
        conn: AsyncConnection,
        wakeup: Wakeup | None,
        rule: Rule,
        rule_pk: int,
        version: int,
        gathered: Gathered,
        now: dt.datetime,
        fuse_per_hour: int,
        trigger_pk: int,
    ) -> None:
        self.trigger_pk = trigger_pk
        self.conn, self.wakeup, self.rule, self.rule_pk, self.version = conn, wakeup, rule, rule_pk, version
        self.gathered, self.now, self.fuse_per_hour = gathered, now, fuse_per_hour
        self.approvals_so_far = 0

    @property
    def actor(self) -> Actor:
        return Actor.rule(self.rule_pk, f"{self.rule.name} (v{self.version})")


Executor = Callable[[ActionContext, Any, int], Awaitable[ActionOutcome]]


def _invalid(result: Invalid) -> str:
    return "; ".join(f"{field}: {message.key}" for field, message in result.errors.items())


async def _approvals_in_last_hour(ctx: ActionContext) -> int:
    since = ctx.now - dt.timedelta(hours=1)
    counted = (
        await ctx.conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(_run.c.approvals), 0)).where(
                _run.c.rule_id == ctx.rule.id,
                _run.c.store_id == ctx.gathered.event.store_id,
                _run.c.created_at >= since,
            )
        )
    ).scalar_one()
    return int(counted) + ctx.approvals_so_far


async def _decide(ctx: ActionContext, decision: Decision, index: int, kind: str) -> ActionOutcome:
    facts = ctx.gathered.facts.aftersale
    if facts is None:
        return ActionOutcome(index=index, type=kind, status="skipped", detail="no after-sale in this event")
    result = await decide(
        ctx.conn,
        ctx.wakeup,
        actor=ctx.actor,
        after_sale_order_id=facts.after_sale_order_id,
        decision=decision,
        store_id=ctx.gathered.event.store_id,
        now=ctx.now,
    )
    if isinstance(result, Invalid):
        return ActionOutcome(index=index, type=kind, status="skipped", detail=_invalid(result))
    if not result.created:
        return ActionOutcome(
            index=index, type=kind, status="skipped", detail=f"already decided by {result.handled_by}"
        )
    return ActionOutcome(index=index, type=kind, status="done", detail=f"command {result.command_id}")


async def _approve(ctx: ActionContext, action: Approve, index: int) -> ActionOutcome:
    if await _approvals_in_last_hour(ctx) >= ctx.fuse_per_hour:
        # The fuse: a rule gone wrong cannot refund a whole live burst. It holds back and the
        # refusal lands in the audit trail, where admins see it; it resumes as the hour rolls on.
        facts = ctx.gathered.facts.aftersale
        log.warning("rule %s: fuse blown in store %s", ctx.rule.id, ctx.gathered.event.store_id)
        await refused(
            ctx.conn,
            store_id=ctx.gathered.event.store_id,
            actor=ctx.actor,
            action="aftersale.approve",
            subject=ctx.gathered.subject,
            why="rules.outcome.fuse_blown",
            details={
                "limit": ctx.fuse_per_hour,
                "after_sale_order_id": facts.after_sale_order_id if facts else "",
            },
        )
        return ActionOutcome(
            index=index, type="approve", status="fuse", detail=f"limit {ctx.fuse_per_hour}/h"
        )
    why = f"rule {ctx.rule.id} v{ctx.version}"
    outcome = await _decide(ctx, Decision(action=AfterSaleAction.APPROVE, why=why), index, "approve")
    if outcome.status == "done":
        ctx.approvals_so_far += 1
        return msgspec.structs.replace(outcome, approvals=1)
    return outcome


async def _reject(ctx: ActionContext, action: Reject, index: int) -> ActionOutcome:
    decision = Decision(
        action=AfterSaleAction.REJECT,
        reject_reason_type=action.reason_type,
        reject_reason=action.reason,
        why=f"rule {ctx.rule.id} v{ctx.version}",
    )
    return await _decide(ctx, decision, index, "reject")


async def _tag_buyer(ctx: ActionContext, action: TagBuyer, index: int) -> ActionOutcome:
    if ctx.gathered.buyer_id is None:
        return ActionOutcome(index=index, type="tag_buyer", status="skipped", detail="no buyer in this event")
    insert = insert_for(ctx.conn.dialect.name, _tag)
    await ctx.conn.execute(
        insert.values(
            buyer_id=ctx.gathered.buyer_id,
            tag=action.tag,
            source=f"rule:{ctx.rule_pk}"[:40],
            created_at=utcnow(),
        ).on_conflict_do_nothing()
    )
    return ActionOutcome(index=index, type="tag_buyer", status="done", detail=action.tag)


class _Variables(dict[str, str]):
    # A variable the event has no value for is left empty rather than failing the reply.
    def __missing__(self, key: str) -> str:
        return ""


def reply_text(template: str, gathered: Gathered) -> str:
    """A reply's text with its ``{variables}`` filled from the event (see ``REPLY_VARIABLES``)."""
    facts = gathered.facts
    values = _Variables(
        buyer_nickname=facts.buyer.nickname if facts.buyer else "",
        store_name=facts.store_name,
        order_id=facts.order.order_id if facts.order else "",
        after_sale_order_id=facts.aftersale.after_sale_order_id if facts.aftersale else "",
        wait_seconds=str(gathered.event.wait_seconds or ""),
    )
    return template.format_map(values)


async def _reply(ctx: ActionContext, action: Reply, index: int) -> ActionOutcome:
    conversation = ctx.gathered.conversation
    if conversation is None:
        return ActionOutcome(
            index=index, type="reply", status="skipped", detail="no conversation in this event"
        )
    result = await send_auto_reply(
        ctx.conn,
        ctx.wakeup,
        conversation=conversation,
        text=reply_text(action.text, ctx.gathered),
        # One reply per trigger and action, however often the trigger is evaluated.
        key=f"rule:{ctx.trigger_pk}:{index}",
        origin=ctx.actor.key,
        now=ctx.now,
    )
    if isinstance(result, Invalid):
        return ActionOutcome(index=index, type="reply", status="skipped", detail=_invalid(result))
    return ActionOutcome(index=index, type="reply", status="done", detail=f"message {result.message_id}")


async def _handover(ctx: ActionContext, action: Any, index: int) -> ActionOutcome:
    return ActionOutcome(
        index=index, type="handover_wecom", status="skipped", detail="rules.outcome.not_connected"
    )


async def _stop(ctx: ActionContext, action: Any, index: int) -> ActionOutcome:
    return ActionOutcome(index=index, type="stop", status="done")


def _not_wired(kind: str) -> Executor:
    async def run(ctx: ActionContext, action: Any, index: int) -> ActionOutcome:
        # Recorded, not dropped silently: the run shows the action was due and why it did not happen.
        return ActionOutcome(
            index=index, type=kind, status="skipped", detail="not available in the engine yet"
        )

    return run


EXECUTORS: dict[str, Executor] = {
    "approve": _approve,
    "reject": _reject,
    "tag_buyer": _tag_buyer,
    "handover_wecom": _handover,
    "stop": _stop,
    "reply": _reply,
    "assign": _not_wired("assign"),
    "send_wecom_card": _not_wired("send_wecom_card"),
    "notify_agents": _not_wired("notify_agents"),
}
"""Every action type's executor, by the name a rule file uses (the same set as ``model.ACTION_TYPES``)."""
