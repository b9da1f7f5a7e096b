"""Access tokens shared through the database, for desks without Redis.

``desk serve``, ``desk worker`` and ``desk stores sync`` are separate processes; if each kept its
own tokens, every process would fetch its own (and with ``/cgi-bin/token`` each fetch retires the
others' token, spec §1). :class:`SqlTokenStore` keeps each app's token in the ``platform_token``
table, encrypted like the other credentials, and makes refreshes single-flight across processes
with a lease on the same row: whoever holds it refreshes, the others wait and then find the new
token. Each process also keeps the token in memory until it is due, so an API call costs no query.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import sqlalchemy as sa

from desk.db import Database, insert_for
from desk.platform.errors import PlatformUnavailableError
from desk.platform.tokens import CachedToken, Clock, TokenStore
from desk.secret_box import SecretBox, SecretError
from desk.stores.models import PlatformToken

__all__ = ["SqlTokenStore"]

log = logging.getLogger(__name__)

_table = PlatformToken.__table__


class SqlTokenStore(TokenStore):
    """Tokens in the ``platform_token`` table, shared by every process on the database.

    Args:
        db: the database every process of the desk uses.
        secrets: encrypts tokens at rest.
        lock_lease: how long a refresh may hold the lease; a process that dies while refreshing
            blocks the others for at most this long.
        lock_wait: how long to wait for another process's refresh before giving up.
        poll: how often a waiting process looks at the lease again.
        clock: epoch seconds (tests pass their own).
    """

    def __init__(
        self,
        db: Database,
        secrets: SecretBox,
        *,
        lock_lease: float = 30.0,
        lock_wait: float = 45.0,
        poll: float = 0.05,
        clock: Clock = time.time,
    ) -> None:
        self._db = db
        self._secrets = secrets
        self.lock_lease = lock_lease
        self.lock_wait = lock_wait
        self._poll = poll
        self._clock = clock
        self._owner = f"{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._local: dict[str, CachedToken] = {}
        self._local_locks: dict[str, asyncio.Lock] = {}

    async def get(self, key: str) -> CachedToken | None:
        local = self._local.get(key)
        if local is not None and local.is_fresh(self._clock()):
            return local
        async with self._db.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(_table.c.token_enc, _table.c.expires_at, _table.c.refresh_at).where(
                        _table.c.key == key
                    )
                )
            ).first()
        if row is None or row.token_enc is None:
            return None
        try:
            access_token = self._secrets.decrypt(row.token_enc)
        except SecretError:  # written under another secret key: as good as no token
            log.warning("ignoring a shared access token this secret key cannot read (%s)", key)
            return None
        token = CachedToken(access_token=access_token, expires_at=row.expires_at, refresh_at=row.refresh_at)
        self._local[key] = token
        return token

    async def set(self, key: str, token: CachedToken, ttl: float) -> None:
        values = {
            "token_enc": self._secrets.encrypt(token.access_token),
            "expires_at": token.expires_at,
            "refresh_at": token.refresh_at,
        }
        async with self._db.engine.begin() as conn:
            insert = insert_for(conn.dialect.name, _table).values(key=key, lock_until=0.0, **values)
            await conn.execute(insert.on_conflict_do_update(index_elements=[_table.c.key], set_=values))
        self._local[key] = token

    async def delete(self, key: str) -> None:
        self._local.pop(key, None)
        async with self._db.engine.begin() as conn:
            await conn.execute(
                sa.update(_table)
                .where(_table.c.key == key)
                .values(token_enc=None, expires_at=0.0, refresh_at=0.0)
            )

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        return self._lock(key)

    @asynccontextmanager
    async def _lock(self, key: str) -> AsyncIterator[None]:
        # Tasks of this process queue on a local lock instead of each polling the database.
        async with self._local_locks.setdefault(key, asyncio.Lock()):
            # Whoever holds the lease re-reads the shared row: another process may have refreshed.
            self._local.pop(key, None)
            deadline = time.monotonic() + self.lock_wait
            while not await self._acquire(key):
                if time.monotonic() >= deadline:
                    raise PlatformUnavailableError("token", "timed out waiting for another process's refresh")
                await asyncio.sleep(self._poll)
            try:
                yield
            finally:
                await self._release(key)

    async def _acquire(self, key: str) -> bool:
        now = self._clock()
        async with self._db.engine.begin() as conn:
            taken = await conn.execute(
                sa.update(_table)
                .where(_table.c.key == key, _table.c.lock_until < now)
                .values(lock_owner=self._owner, lock_until=now + self.lock_lease)
            )
            if taken.rowcount == 1:
                return True
            first = insert_for(conn.dialect.name, _table).values(
                key=key,
                expires_at=0.0,
                refresh_at=0.0,
                lock_owner=self._owner,
                lock_until=now + self.lock_lease,
            )
            created = await conn.execute(first.on_conflict_do_nothing(index_elements=[_table.c.key]))
            return created.rowcount == 1

    async def _release(self, key: str) -> None:
        async with self._db.engine.begin() as conn:
            released = await conn.execute(
                sa.update(_table)
                .where(_table.c.key == key, _table.c.lock_owner == self._owner)
                .values(lock_owner=None, lock_until=0.0)
            )
        if released.rowcount != 1:  # the lease ran out during a slow refresh; nothing left to free
            log.warning("token refresh of %s outlived its lease", key)
