"""The platform's reject reasons (``aftersale/rejectreason/get``), for the reject form's choices.

A reject needs one of the platform's own reason types; the list changes rarely, so each store's
is read once an hour (shared through the key-value store) rather than on every page view. When
the platform cannot be asked, the form falls back to typing the reason's number.
"""

from __future__ import annotations

import logging

import msgspec

from desk.platform.channels_types import RejectReason
from desk.platform.errors import PlatformError, PlatformUnavailableError
from desk.runtime import Runtime
from desk.stores.clients import PlatformClients, UnknownAccountError

__all__ = ["REASONS_TTL_S", "SCENES", "reject_reasons"]

log = logging.getLogger(__name__)

REASONS_TTL_S = 3600
SCENES = {"REFUND": 1, "RETURN": 4, "EXCHANGE": 5}
"""The ``reject_scene`` whose reasons fit each after-sale type."""


async def reject_reasons(runtime: Runtime, store_id: int) -> list[RejectReason]:
    """The store's reject reasons (every scene), from the cache or the platform; empty if unknown."""
    cache = runtime.kv("reject-reasons")
    cached = await cache.get(str(store_id))
    if cached is not None:
        return msgspec.json.decode(cached, type=list[RejectReason])
    clients = PlatformClients(runtime)
    try:
        reasons = await (await clients.channels(store_id)).get_reject_reasons()
    except (PlatformError, PlatformUnavailableError, UnknownAccountError) as exc:
        log.warning("reject reasons of store %s unavailable: %s", store_id, exc)
        return []
    finally:
        await clients.aclose()
    await cache.set(str(store_id), msgspec.json.encode(reasons), expires_in=REASONS_TTL_S)
    return reasons
