"""The receiver's full address, for the roles that need it (manager and up), each look audited.

The platform sends addresses masked (``林**``, ``183****2807``, ``****``) and the desk stores
them so. Sometimes a manager needs the real one (a parcel to re-send, a courier to call): it is
read from the platform on demand (``order/sensitiveinfo/decode``, a read — nothing changes
there), shown once and never stored; the audit trail records who looked, and when.
"""

from __future__ import annotations

import datetime as dt

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from desk.accounts.models import Role, User
from desk.audit.models import Outcome
from desk.audit.service import Actor, open_entry
from desk.commands.errors import describe_error
from desk.errors import Invalid
from desk.i18n import Message as Text
from desk.orders.services import order_with_buyer
from desk.platform.errors import PlatformError, PlatformUnavailableError
from desk.stores.clients import PlatformClients

__all__ = ["REVEAL_ROLE", "FullAddress", "reveal_full_address"]

REVEAL_ROLE = Role.MANAGER
"""The lowest role that may see a receiver's full address and phone."""


class FullAddress(msgspec.Struct, frozen=True, kw_only=True):
    user_name: str
    tel_number: str
    region: str
    detail: str
    virtual_number: str
    """``number-extension`` when the buyer hides behind a virtual number (call this one)."""


async def reveal_full_address(
    session: AsyncSession,
    clients: PlatformClients,
    *,
    user: User,
    order_id: str,
    now: dt.datetime | None = None,
) -> FullAddress | Invalid:
    """The order's unmasked address for ``user`` (manager and up), recorded in the audit trail.

    Raises:
        NotFoundException: when the order is not in a store ``user`` may see.
    """
    order, _ = await order_with_buyer(session, user, order_id)
    actor = Actor.user(user.id, user.display_name or user.username)
    subject = f"order:{order_id}"
    if not user.role.at_least(REVEAL_ROLE):
        return Invalid({"order": Text("orders.page.error.reveal_role")})
    try:
        client = await clients.channels(order.store_id)
        info = await client.decode_sensitive_info(order_id)
    except PlatformError as exc:
        await open_entry(
            session,
            store_id=order.store_id,
            actor=actor,
            action="order.address.reveal",
            subject=subject,
            outcome=Outcome.FAILED,
            details={"error_code": exc.errcode},
            now=now,
        )
        return Invalid({"order": describe_error(exc.errcode, exc.errmsg)})
    except PlatformUnavailableError:
        return Invalid({"order": Text("orders.page.error.platform_unavailable")})
    await open_entry(
        session,
        store_id=order.store_id,
        actor=actor,
        action="order.address.reveal",
        subject=subject,
        outcome=Outcome.SUCCEEDED,
        now=now,
    )
    address = info.address_info
    virtual = info.virtual_number_info
    return FullAddress(
        user_name=address.user_name,
        tel_number=address.tel_number,
        region=" ".join(p for p in (address.province_name, address.city_name, address.county_name) if p),
        detail=address.detail_info,
        virtual_number=f"{virtual.virtual_number}-{virtual.extension}"
        if virtual and virtual.virtual_number
        else "",
    )
