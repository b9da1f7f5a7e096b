"""Process-wide services built once from the settings, and their start / stop order.

A :class:`Runtime` is what a web process, a worker process, a CLI command or a test holds: the
database, Redis when configured, the key-value stores (sessions, caches, throttling) on the right
backend, the secret box for stored credentials, the clock, and background services (the ingest
writer, the embedded worker) that start after the database is reachable and stop before it is
closed.

Two services every process runs come first and stop last: the change bus (change events to live
pages and other processes) and the wake-ups (new work wakes idle loops in every process).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Protocol

from litestar.stores.base import Store as KeyValueStore
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from redis.asyncio import Redis

from desk.changes.bus import ChangeBus
from desk.clock import Clock, SystemClock
from desk.db import Database, redact_url
from desk.secret_box import SecretBox
from desk.settings import Settings
from desk.wakeup import Wakeup

__all__ = ["BackgroundService", "DatabaseUnavailableError", "Runtime"]

log = logging.getLogger(__name__)

_UNDEFINED_DATABASE = "3D000"  # PostgreSQL: the database named in the URL does not exist


class DatabaseUnavailableError(RuntimeError):
    """The database named by ``DESK_DATABASE_URL`` cannot be reached at start."""


class BackgroundService(Protocol):
    """Something that runs for the life of the process (ingest writer, worker, reconciler)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Runtime:
    def __init__(self, settings: Settings, *, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.db = Database(settings)
        self.redis: Redis | None = Redis.from_url(settings.redis_url) if settings.redis_url else None
        self.secret_key = settings.resolved_secret_key()
        self.secret_key_source = settings.secret_key_source()
        """Where the key comes from (``DESK_SECRET_KEY`` or its file), for operators' messages."""
        self.secrets = SecretBox(self.secret_key)
        self.changes = ChangeBus(self.db, self.redis)
        self.wakeup = Wakeup(self.db)
        self._kv: dict[str, KeyValueStore] = {}
        self._services: list[BackgroundService] = []
        self._started: list[BackgroundService] = []
        self._core_started = False
        self._credential_caches: list[weakref.WeakMethod[Callable[[], None]]] = []

    def kv(self, namespace: str) -> KeyValueStore:
        """A key-value store for one concern (``sessions``, ``tokens``, ``throttle``…).

        In memory for the embedded footprint; in Redis, under ``desk:<namespace>``, when
        configured, so that every app and worker process shares it.
        """
        store = self._kv.get(namespace)
        if store is None:
            if self.redis is not None:
                store = RedisStore(self.redis, namespace=f"desk:{namespace}", handle_client_shutdown=False)
            else:
                store = MemoryStore()
            self._kv[namespace] = store
        return store

    def add_service(self, service: BackgroundService) -> None:
        self._services.append(service)

    def add_credential_cache(self, forget: Callable[[], None]) -> None:
        """Register the ``forget`` method of something that caches decrypted credentials (the
        push verifier, the platform clients): :meth:`credentials_saved` calls it. Held weakly."""
        self._credential_caches.append(weakref.WeakMethod(forget))

    def credentials_saved(self) -> None:
        """An admin saved a store's or corp's credentials: this process drops what it cached, so
        the next push and the next platform call use the new ones. Other processes' caches
        expire within seconds, and a platform client whose credentials are refused is rebuilt."""
        alive = []
        for reference in self._credential_caches:
            forget = reference()
            if forget is not None:
                forget()
                alive.append(reference)
        self._credential_caches = alive

    async def check_database(self) -> None:
        """Raise :class:`DatabaseUnavailableError` naming the (redacted) URL if it cannot be reached."""
        try:
            await self.db.ping()
        except Exception as exc:  # any driver error means the same thing to the operator
            url = redact_url(self.settings.database_url)
            driver_error = getattr(exc, "orig", None)  # the driver's words, without SQLAlchemy's link
            reason = str(driver_error or exc)
            if getattr(driver_error, "sqlstate", None) == _UNDEFINED_DATABASE:
                reason += ": create it (e.g. `createdb`), then run `desk db upgrade`"
            raise DatabaseUnavailableError(f"cannot reach the database at {url}: {reason}") from exc

    async def start_core(self) -> None:
        """Start the change bus and the wake-ups (idempotent; tests start only these)."""
        if not self._core_started:
            await self.wakeup.start()
            await self.changes.start()
            self._core_started = True

    async def start(self) -> None:
        await self.check_database()
        await self.start_core()
        for service in self._services:
            await service.start()
            self._started.append(service)

    async def stop(self) -> None:
        while self._started:
            service = self._started.pop()
            try:
                await service.stop()
            except Exception:
                log.exception("error stopping %r", service)
        if self._core_started:
            self._core_started = False
            for core in (self.changes, self.wakeup):
                try:
                    await core.stop()
                except Exception:
                    log.exception("error stopping %r", core)
        if self.redis is not None:
            await self.redis.aclose()
        await self.db.dispose()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Runtime]:
        """Start the services, yield, and stop them in reverse order."""
        try:
            await self.start()
            yield self
        finally:
            await self.stop()
