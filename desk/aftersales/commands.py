"""After-sale decisions as outbound commands: approve, confirm receipt, reject, negotiate.

The platform's calls for these move money and are not idempotent, so each run looks before it
acts: it re-reads the after-sale, and acts only if it is still in the status the decision was
taken in. If it is not:

* on a retry (``attempts > 1``) a status the decision leads to means an earlier try worked
  without our hearing of it — the command succeeded, nothing is sent twice;
* otherwise the after-sale changed on the platform meanwhile (the buyer cancelled, someone decided
  in the platform's own backend): the command fails with :data:`CHANGED`, and the agent sees the
  new status.

After acting, the after-sale is read again and stored with the command's outcome, so the sidebar
shows the new status at once; the audit entry of the decision is completed either way.
"""

from __future__ import annotations

import abc
import datetime as dt
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from desk.aftersales.services import save_aftersale
from desk.audit.service import close_for_command
from desk.commands.kinds import ClaimedCommand, CommandContext, CommandFailedError, Outcome
from desk.commands.models import CommandState
from desk.db import utcnow
from desk.platform.channels_types import ChannelsAfterSale

__all__ = ["CHANGED", "KINDS", "DecisionPayload"]

CHANGED = -3
"""``error_code`` of a decision refused because the after-sale changed on the platform meanwhile."""

# What each step leads to: seen on a retry, they mean our earlier try went through.
_AFTER_REFUND = frozenset(
    {"PLATFORM_REFUNDING", "MERCHANT_REFUND_SUCCESS", "MERCHANT_RETURN_SUCCESS", "USER_WAIT_CONFIRM"}
)
_AFTER_AGREE = frozenset({"USER_WAIT_RETURN", "MERCHANT_WAIT_RECEIPT", *_AFTER_REFUND})
_AFTER_REJECT = frozenset({"MERCHANT_REJECT_REFUND", "MERCHANT_REJECT_RETURN", "MERCHANT_FAIL"})
_AFTER_NEGOTIATE = frozenset({"USER_WAIT_CONFIRM_UPDATE", "USER_WAIT_HANDLE_MERCHANT_AFTER_SALE"})


class DecisionPayload(msgspec.Struct, frozen=True, kw_only=True):
    """What a decision needs, stored as its command's payload."""

    after_sale_order_id: str
    expect_status: str
    """The status the decision was taken in: acted on only while the after-sale is still in it."""
    accept_type: int | None = None
    address_id: str | None = None
    reject_reason_type: int | None = None
    reject_reason: str | None = None
    merchant_update_type: int | None = None
    update_reason_type: int | None = None
    merchant_update_desc: str = ""
    negotiate_type: int | None = None
    amount: int | None = None
    conversation_id: int | None = None


class _Decision(abc.ABC):
    """Look, act, look again (see the module docstring); subclasses say how to act."""

    name = ""
    leads_to: frozenset[str] = frozenset()

    @abc.abstractmethod
    async def act(self, client: Any, payload: DecisionPayload) -> None:
        """Make the platform call of this decision."""

    async def run(self, ctx: CommandContext, command: ClaimedCommand) -> dict[str, Any]:
        payload = msgspec.convert(command.payload, DecisionPayload)
        client = await ctx.clients.channels(command.store_id)
        current: ChannelsAfterSale = await client.get_aftersale(payload.after_sale_order_id)
        if current.status != payload.expect_status:
            if command.attempts > 1 and current.status in self.leads_to:
                return _answer(current, already=True)
            raise CommandFailedError(
                f"the after-sale is now {current.status} on the platform (it was {payload.expect_status})",
                error_code=CHANGED,
            )
        await self.act(client, payload)
        return _answer(await client.get_aftersale(payload.after_sale_order_id))

    async def settle(self, conn: AsyncConnection, command: ClaimedCommand, outcome: Outcome) -> None:
        succeeded = outcome.state is CommandState.SUCCEEDED
        if succeeded and "aftersale" in outcome.result:
            answer = msgspec.convert(outcome.result["aftersale"], ChannelsAfterSale)
            fetched_at = dt.datetime.fromisoformat(outcome.result["fetched_at"])
            await save_aftersale(conn, command.store_id, answer, fetched_at, origin=command.origin)
        await close_for_command(
            conn, command.id, succeeded=succeeded, error_code=outcome.error_code, error=outcome.error
        )


def _answer(aftersale: ChannelsAfterSale, *, already: bool = False) -> dict[str, Any]:
    return {
        "status": aftersale.status,
        "already": already,
        "aftersale": msgspec.to_builtins(aftersale),
        "fetched_at": utcnow().isoformat(),
    }


class Approve(_Decision):
    """Agree: refund a refund-only request; agree to a return or exchange (goods come back to
    ``address_id``); after receipt, refund (``accept_type`` says which step)."""

    name = "aftersale.accept"
    leads_to = _AFTER_AGREE

    async def act(self, client: Any, payload: DecisionPayload) -> None:
        await client.accept_aftersale(
            payload.after_sale_order_id, address_id=payload.address_id, accept_type=payload.accept_type
        )


class Reject(_Decision):
    name = "aftersale.reject"
    leads_to = _AFTER_REJECT

    async def act(self, client: Any, payload: DecisionPayload) -> None:
        if payload.reject_reason_type is None:
            raise CommandFailedError("a reject needs a reason")
        await client.reject_aftersale(
            payload.after_sale_order_id,
            reject_reason_type=payload.reject_reason_type,
            reject_reason=payload.reject_reason,
        )


class Negotiate(_Decision):
    name = "aftersale.negotiate"
    leads_to = _AFTER_NEGOTIATE

    async def act(self, client: Any, payload: DecisionPayload) -> None:
        if payload.merchant_update_type is None or payload.update_reason_type is None:
            raise CommandFailedError("a negotiation needs its kind and reason")
        await client.negotiate_aftersale(
            payload.after_sale_order_id,
            merchant_update_type=payload.merchant_update_type,
            update_reason_type=payload.update_reason_type,
            merchant_update_desc=payload.merchant_update_desc,
            type=payload.negotiate_type,
            amount=payload.amount,
        )


KINDS = {kind.name: kind for kind in (Approve(), Reject(), Negotiate())}
