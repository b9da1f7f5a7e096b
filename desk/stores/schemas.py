"""What the JSON API says about a store: identity and push URL, never a credential."""

from __future__ import annotations

import msgspec

from desk.settings import Settings
from desk.stores.models import Store
from desk.stores.services import store_push_url

__all__ = ["StoreOut"]


class StoreOut(msgspec.Struct, kw_only=True):
    """A store as ``/api/v1/stores`` returns it. Secrets are deliberately not fields here."""

    id: int
    key: str
    name: str
    appid: str
    push_url: str
    is_active: bool
    timezone: str

    @classmethod
    def of(cls, store: Store, settings: Settings) -> StoreOut:
        return cls(
            id=store.id,
            key=store.key,
            name=store.name,
            appid=store.appid,
            push_url=store_push_url(settings, store),
            is_active=store.is_active,
            timezone=store.timezone,
        )
