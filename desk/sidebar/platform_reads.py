"""What the sidebar reads from the platform while an agent waits: reject reasons, a full phone.

These are reads (nothing changes on the platform), so they are made in the request rather than as
outbound commands. Reject reasons change rarely: they are kept for an hour per store in the
runtime's key-value store (shared by every process through Redis when configured).
"""

from __future__ import annotations

import datetime as dt
import logging

import msgspec
import sqlalchemy as sa

from desk.accounts.models import Role, User
from desk.accounts.scoping import store_ids_for
from desk.audit.models import Outcome
from desk.audit.service import Actor, open_entry
from desk.db import Work
from desk.errors import Invalid
from desk.i18n import Message as Text
from desk.orders.models import Order
from desk.platform.channels_types import RejectReason
from desk.runtime import Runtime
from desk.stores.clients import PlatformClients

__all__ = ["REASONS_TTL_S", "Reason", "RevealedPhone", "reject_reasons", "reveal_phone"]

log = logging.getLogger(__name__)

REASONS_TTL_S = 3600
_SCENES = {"REFUND": 1, "RETURN": 4, "EXCHANGE": 5}
"""``reject_scene`` of each after-sale type (spec §3)."""


class Reason(msgspec.Struct, frozen=True, kw_only=True):
    type: int
    text: str
    detail: str
    scene: int


_reasons_decoder = msgspec.json.Decoder(list[Reason])


async def _fetch_reasons(runtime: Runtime, store_id: int) -> list[Reason]:
    clients = PlatformClients(runtime)
    try:
        client = await clients.channels(store_id)
        fetched: list[RejectReason] = await client.get_reject_reasons()
    finally:
        await clients.aclose()
    return [
        Reason(
            type=r.reject_reason_type,
            text=r.reject_reason_type_text,
            detail=r.reject_reason,
            scene=r.reject_scene,
        )
        for r in fetched
    ]


async def reject_reasons(runtime: Runtime, store_id: int, aftersale_type: str) -> list[Reason] | None:
    """The platform's reasons a merchant may give to reject this type of after-sale; None when the
    platform cannot be asked just now (the agent is told, and may try again)."""
    kv = runtime.kv("sidebar")
    key = f"reject-reasons:{store_id}"
    cached = await kv.get(key)
    if cached is not None:
        reasons = _reasons_decoder.decode(cached)
    else:
        try:
            reasons = await _fetch_reasons(runtime, store_id)
        except Exception:  # the platform unreachable or refusing: say so, do not fail the page
            log.warning("reject reasons of store %d could not be read", store_id, exc_info=True)
            return None
        await kv.set(key, msgspec.json.encode(reasons), expires_in=REASONS_TTL_S)
    scene = _SCENES.get(aftersale_type)
    # A reason without a scene (older answers) applies to every type.
    return [r for r in reasons if scene is None or r.scene in (0, scene)]


class RevealedPhone(msgspec.Struct, frozen=True, kw_only=True):
    number: str
    virtual: str
    """The virtual number (``number-extension``) to call when the buyer uses one, else empty."""


async def reveal_phone(
    work: Work, runtime: Runtime, *, user: User, order_id: str, now: dt.datetime | None = None
) -> RevealedPhone | Invalid:
    """The receiver's full phone of ``order_id``, for a manager or admin; every reveal is audited.

    Agents are refused (the masked number is enough to serve a buyer). The number is the one the
    platform decodes (``order/sensitiveinfo/decode``), with the virtual number and its extension
    when the buyer uses one.
    """
    if not user.role.at_least(Role.MANAGER):
        return Invalid({"phone": Text("sidebar.error.reveal_forbidden")})
    stmt = sa.select(Order.store_id).where(Order.order_id == order_id)
    allowed = store_ids_for(user)
    if allowed is not None:
        stmt = stmt.where(Order.store_id.in_(allowed))
    store_id = (await work.execute(stmt)).scalars().first()
    if store_id is None:
        return Invalid({"phone": Text("orders.error.not_found")})
    clients = PlatformClients(runtime)
    try:
        client = await clients.channels(store_id)
        info = await client.decode_sensitive_info(order_id)
    except Exception:
        log.warning("the phone of order %s could not be decoded", order_id, exc_info=True)
        return Invalid({"phone": Text("sidebar.error.reveal_failed")})
    finally:
        await clients.aclose()
    virtual = info.virtual_number_info
    phone = RevealedPhone(
        number=info.address_info.tel_number,
        virtual="-".join(p for p in (virtual.virtual_number, virtual.extension) if p) if virtual else "",
    )
    await open_entry(
        work,
        store_id=store_id,
        actor=Actor.user(user.id, user.display_name or user.username),
        action="order.phone.reveal",
        subject=f"order:{order_id}",
        outcome=Outcome.SUCCEEDED,
        now=now,
    )
    return phone
