"""Push-verification credentials per store / corp, decrypted once and kept in memory briefly.

Every push needs its store's push token, EncodingAESKey and appid (or the corp's corpid). Reading
and decrypting them per push would put a database round-trip and a Fernet decryption on the hot
path, so they are cached by the public ``key`` of the push URL. Entries live ``ttl`` seconds:
long enough that a burst of pushes costs one lookup, short enough that an admin's edit (a new AES
key, a deactivated store) reaches every process within seconds without any cross-process signal.
Unknown keys are cached too (as ``None``), so a stream of pushes to a wrong URL cannot turn into a
stream of queries.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import sqlalchemy as sa

from desk.db import Database
from desk.platform.crypto import CryptoError, MsgCrypt
from desk.secret_box import SecretBox
from desk.stores.models import Store, WeComCorp

__all__ = ["CorpCredentials", "CredentialCache", "StoreCredentials"]

T = TypeVar("T")

log = logging.getLogger(__name__)

# Wrong keys are cached as misses; past this many the misses are dropped so junk cannot grow memory.
_MAX_MISSES = 10_000


@dataclass(frozen=True, slots=True)
class StoreCredentials:
    """What verifying a Channels push needs: the store row's id and a ready ``MsgCrypt``."""

    store_id: int
    appid: str
    crypt: MsgCrypt


@dataclass(frozen=True, slots=True)
class CorpCredentials:
    """What verifying a WeCom callback needs: the corp row's id and a ready ``MsgCrypt``."""

    corp_id: int
    corpid: str
    crypt: MsgCrypt


class _TtlCache(Generic[T]):
    """``key → value | None`` for ``ttl`` seconds, with one load in flight per key."""

    def __init__(self, ttl: float, load: Callable[[str], Awaitable[T | None]]) -> None:
        self._ttl = ttl
        self._load = load
        self._entries: dict[str, tuple[float, T | None]] = {}
        self._loading: dict[str, asyncio.Future[T | None]] = {}

    async def get(self, key: str) -> T | None:
        entry = self._entries.get(key)
        now = time.monotonic()
        if entry is not None and entry[0] > now:
            return entry[1]
        pending = self._loading.get(key)
        if pending is not None:
            # Concurrent pushes for a cold key share one query instead of each running their own.
            return await asyncio.shield(pending)
        future: asyncio.Future[T | None] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value = await self._load(key)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so a future nobody else awaited does not warn
            raise
        finally:
            del self._loading[key]
        if value is None and len(self._entries) >= _MAX_MISSES:
            self._entries = {k: v for k, v in self._entries.items() if v[1] is not None}
        self._entries[key] = (now + self._ttl, value)
        future.set_result(value)
        return value

    def clear(self) -> None:
        self._entries.clear()


class CredentialCache:
    """Decrypted push credentials by push-URL key, for the webhook hot path."""

    def __init__(self, db: Database, secrets: SecretBox, *, ttl: float = 5.0) -> None:
        self._db = db
        self._secrets = secrets
        self._stores: _TtlCache[StoreCredentials] = _TtlCache(ttl, self._load_store)
        self._corps: _TtlCache[CorpCredentials] = _TtlCache(ttl, self._load_corp)

    async def store(self, key: str) -> StoreCredentials | None:
        """The store whose push URL ends in ``key``, or None when there is no such store."""
        return await self._stores.get(key)

    async def corp(self, key: str) -> CorpCredentials | None:
        """The WeCom corp whose callback URL ends in ``key``, or None."""
        return await self._corps.get(key)

    def clear(self) -> None:
        """Forget everything (an admin saved new credentials in this process)."""
        self._stores.clear()
        self._corps.clear()

    async def _load_store(self, key: str) -> StoreCredentials | None:
        columns = (Store.id, Store.appid, Store.token_enc, Store.aes_key_enc)
        async with self._db.engine.connect() as conn:
            # A deactivated store is disconnected: its pushes are refused like an unknown URL's.
            row = (await conn.execute(sa.select(*columns).where(Store.key == key, Store.is_active))).first()
        if row is None:
            return None
        crypt = self._crypt(row.token_enc, row.aes_key_enc, row.appid)
        return None if crypt is None else StoreCredentials(row.id, row.appid, crypt)

    async def _load_corp(self, key: str) -> CorpCredentials | None:
        columns = (WeComCorp.id, WeComCorp.corpid, WeComCorp.token_enc, WeComCorp.aes_key_enc)
        async with self._db.engine.connect() as conn:
            row = (
                await conn.execute(sa.select(*columns).where(WeComCorp.key == key, WeComCorp.is_active))
            ).first()
        if row is None:
            return None
        crypt = self._crypt(row.token_enc, row.aes_key_enc, row.corpid)
        return None if crypt is None else CorpCredentials(row.id, row.corpid, crypt)

    def _crypt(self, token_enc: str, aes_key_enc: str, receive_id: str) -> MsgCrypt | None:
        # SecretError (the secret key changed) propagates: that is the operator's problem, not
        # the platform's, and must not look like "no such store".
        token = self._secrets.decrypt(token_enc)
        aes_key = self._secrets.decrypt(aes_key_enc)
        try:
            return MsgCrypt(token, aes_key, receive_id)
        except CryptoError:
            # A stored AES key that is not 43 characters of base64 cannot verify anything;
            # the settings forms refuse such keys, so this is an old or hand-edited row.
            log.error("the stored EncodingAESKey of %s is unusable; its pushes are refused", receive_id)
            return None
