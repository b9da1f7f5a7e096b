"""Order changes as outbound commands: answering a buyer's address change, the merchant's note.

Answering an address change is not idempotent on the platform (a second answer fails with "no
change to review"), so the command looks first: if the order no longer has a change under review,
an earlier try of ours worked (on a retry) or someone answered it elsewhere (the command fails and
the agent sees the order as it is). Notes are simply set again. Either way the order is read
after the call and stored, so the sidebar shows the outcome at once.
"""

from __future__ import annotations

import abc
import datetime as dt
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from desk.audit.service import close_for_command
from desk.commands.kinds import ClaimedCommand, CommandContext, CommandFailedError, Outcome
from desk.commands.models import CommandState
from desk.db import utcnow
from desk.orders.services import save_order
from desk.platform.channels_types import ChannelsOrder

__all__ = ["ANSWERED_ELSEWHERE", "KINDS", "OrderPayload"]

ANSWERED_ELSEWHERE = -4
"""``error_code`` of an address-change answer whose request was answered or withdrawn meanwhile."""


class OrderPayload(msgspec.Struct, frozen=True, kw_only=True):
    order_id: str
    merchant_notes: str = ""
    conversation_id: int | None = None


class _OrderCommand(abc.ABC):
    name = ""

    @abc.abstractmethod
    async def act(
        self, client: Any, order: ChannelsOrder, command: ClaimedCommand, payload: OrderPayload
    ) -> None:
        """Check ``order`` as it is now and make the platform call."""

    async def run(self, ctx: CommandContext, command: ClaimedCommand) -> dict[str, Any]:
        payload = msgspec.convert(command.payload, OrderPayload)
        client = await ctx.clients.channels(command.store_id)
        await self.act(client, await client.get_order(payload.order_id), command, payload)
        after = await client.get_order(payload.order_id)
        return {"order": msgspec.to_builtins(after), "fetched_at": utcnow().isoformat()}

    async def settle(self, conn: AsyncConnection, command: ClaimedCommand, outcome: Outcome) -> None:
        succeeded = outcome.state is CommandState.SUCCEEDED
        if succeeded and "order" in outcome.result:
            order = msgspec.convert(outcome.result["order"], ChannelsOrder)
            fetched_at = dt.datetime.fromisoformat(outcome.result["fetched_at"])
            await save_order(conn, command.store_id, order, fetched_at, origin=command.origin)
        await close_for_command(
            conn, command.id, succeeded=succeeded, error_code=outcome.error_code, error=outcome.error
        )


class _AnswerAddressChange(_OrderCommand):
    accept = True

    async def act(
        self, client: Any, order: ChannelsOrder, command: ClaimedCommand, payload: OrderPayload
    ) -> None:
        if order.order_detail.delivery_info.address_under_review is None:
            # Nothing to answer: on a retry our first answer went through; otherwise the buyer
            # withdrew it or someone answered in the store backend.
            if command.attempts > 1:
                return
            raise CommandFailedError(
                "the address change was answered or withdrawn meanwhile", error_code=ANSWERED_ELSEWHERE
            )
        if self.accept:
            await client.accept_address_change(payload.order_id)
        else:
            await client.reject_address_change(payload.order_id)


class AcceptAddressChange(_AnswerAddressChange):
    name = "order.address_change.accept"
    accept = True


class RejectAddressChange(_AnswerAddressChange):
    name = "order.address_change.reject"
    accept = False


class UpdateMerchantNote(_OrderCommand):
    name = "order.merchant_note"

    async def act(
        self, client: Any, order: ChannelsOrder, command: ClaimedCommand, payload: OrderPayload
    ) -> None:
        await client.update_merchant_notes(payload.order_id, payload.merchant_notes)


KINDS = {kind.name: kind for kind in (AcceptAddressChange(), RejectAddressChange(), UpdateMerchantNote())}
