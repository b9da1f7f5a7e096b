"""Merchant addresses as outbound commands: sync them from the platform, add one to it.

``merchant/address/add`` is not idempotent (each call makes a new address) and takes no request
id, so a retry looks first: when an earlier try may have reached the platform
(``attempts > 1``), an address with the same contents means it did, and that address is the
result — nothing is added twice. A sync only reads; it runs as a command so that its list + get
calls (one per address) happen in the worker, not in the admin's request.
"""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from desk.aftersales.address_book import ADD_KIND, SYNC_KIND, same_address, save_addresses
from desk.audit.service import close_for_command
from desk.commands.kinds import ClaimedCommand, CommandContext, Outcome
from desk.commands.models import CommandState
from desk.platform.channels_types import AddressDetail

__all__ = ["KINDS", "AddAddress", "SyncAddresses", "fetch_addresses"]

_PAGE = 100  # the platform's largest page of address ids


async def fetch_addresses(client: Any) -> list[AddressDetail]:
    """Every merchant address of the client's store (``list`` page by page, then ``get`` each)."""
    ids: list[str] = []
    while True:
        page = await client.list_address_ids(offset=len(ids), limit=_PAGE)
        ids.extend(page)
        if len(page) < _PAGE:
            break
    return [await client.get_address(address_id) for address_id in ids]


class _Details(msgspec.Struct, frozen=True):
    addresses: list[AddressDetail]


class SyncAddresses:
    name = SYNC_KIND

    async def run(self, ctx: CommandContext, command: ClaimedCommand) -> dict[str, Any]:
        client = await ctx.clients.channels(command.store_id)
        details = await fetch_addresses(client)
        return {"addresses": msgspec.to_builtins(details), "count": len(details)}

    async def settle(self, conn: AsyncConnection, command: ClaimedCommand, outcome: Outcome) -> None:
        if outcome.state is CommandState.SUCCEEDED:
            details = msgspec.convert(outcome.result, _Details).addresses
            await save_addresses(conn, command.store_id, details, complete=True)


class _AddPayload(msgspec.Struct, frozen=True):
    address_detail: AddressDetail


class AddAddress:
    name = ADD_KIND

    async def run(self, ctx: CommandContext, command: ClaimedCommand) -> dict[str, Any]:
        wanted = msgspec.convert(command.payload, _AddPayload).address_detail
        client = await ctx.clients.channels(command.store_id)
        if command.attempts > 1:
            for existing in await fetch_addresses(client):
                if same_address(existing, wanted):
                    return {"address": msgspec.to_builtins(existing), "already": True}
        address_id = await client.add_address(wanted)
        return {"address": msgspec.to_builtins(await client.get_address(address_id)), "already": False}

    async def settle(self, conn: AsyncConnection, command: ClaimedCommand, outcome: Outcome) -> None:
        succeeded = outcome.state is CommandState.SUCCEEDED
        if succeeded and "address" in outcome.result:
            detail = msgspec.convert(outcome.result["address"], AddressDetail)
            await save_addresses(conn, command.store_id, [detail], complete=False)
        await close_for_command(
            conn, command.id, succeeded=succeeded, error_code=outcome.error_code, error=outcome.error
        )


KINDS = {kind.name: kind for kind in (SyncAddresses(), AddAddress())}
