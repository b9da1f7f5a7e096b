"""Platform API clients for each connected store and WeCom corp.

A process holds one :class:`PlatformClients`: one ``httpx.AsyncClient`` (its pool sized to the
worker's concurrency) shared by every client, and one token cache that every app, worker and CLI
process shares — in Redis when configured, else in the database (:mod:`desk.stores.tokens`) — so
that each app's access token is fetched once per lifetime, not once per process (and, for stores
on the classic ``/cgi-bin/token``, processes do not retire each other's tokens, spec §1).
Clients are built from the encrypted credentials in the database and rebuilt after ``ttl``
seconds, so an admin's new secret reaches running workers without a restart.
"""

from __future__ import annotations

import asyncio
import functools
import time
from typing import TypeVar

import httpx
import sqlalchemy as sa

from desk.platform.channels import ChannelsClient
from desk.platform.errors import CredentialError
from desk.platform.tokens import RedisTokenStore, TokenStore
from desk.platform.wecom import WeComClient
from desk.runtime import Runtime
from desk.stores.connection import describe_failure
from desk.stores.health import record_connection
from desk.stores.models import Store, TokenApi, WeComCorp
from desk.stores.tokens import SqlTokenStore

__all__ = ["PlatformClients", "UnknownAccountError"]

T = TypeVar("T")


class UnknownAccountError(LookupError):
    """The store or corp no longer exists (deleted while its events waited)."""


class PlatformClients:
    """``ChannelsClient`` per store id and ``WeComClient`` per corp id, over one HTTP pool."""

    def __init__(self, runtime: Runtime, *, ttl: float = 60.0, http: httpx.AsyncClient | None = None) -> None:
        settings = runtime.settings
        self._runtime = runtime
        self._ttl = ttl
        self._owns_http = http is None
        self.http = http or httpx.AsyncClient(
            # Connections beyond the worker's concurrency would only sit idle.
            limits=httpx.Limits(
                max_connections=settings.worker_concurrency,
                max_keepalive_connections=settings.worker_concurrency,
            ),
            timeout=httpx.Timeout(settings.platform_timeout_s, connect=min(5.0, settings.platform_timeout_s)),
        )
        self.tokens: TokenStore = (
            RedisTokenStore(runtime.redis)
            if runtime.redis is not None
            else SqlTokenStore(runtime.db, runtime.secrets)
        )
        self._channels: dict[int, tuple[float, ChannelsClient]] = {}
        self._wecom: dict[int, tuple[float, WeComClient]] = {}
        # A batch asks for the same store's client from many tasks at once: one of them builds it.
        self._building = asyncio.Lock()
        runtime.add_credential_cache(self.forget)

    def forget(self) -> None:
        """Drop every client built so far: the next call reads the credentials again."""
        self._channels.clear()
        self._wecom.clear()

    async def _token_fetched(
        self, model: type[Store] | type[WeComCorp], account_id: int, outcome: BaseException | None
    ) -> None:
        """Record whether the platform accepted the account's credentials (one log line when that
        changes); a client whose credentials were refused is dropped, so that the next call picks
        up what an admin may have fixed meanwhile."""
        settings = self._runtime.settings
        problem = None
        if outcome is not None:
            wecom = model is WeComCorp
            base_url = settings.wecom_api_base if wecom else settings.channels_api_base
            problem = describe_failure(outcome, base_url=base_url, wecom=wecom)
        async with self._runtime.db.engine.begin() as conn:
            await record_connection(conn, model, account_id, problem)
        if isinstance(outcome, CredentialError):
            (self._wecom if model is WeComCorp else self._channels).pop(account_id, None)

    async def channels(self, store_id: int) -> ChannelsClient:
        """The client of store ``store_id``.

        Raises:
            UnknownAccountError: when the store was deleted.
        """
        cached = _fresh(self._channels.get(store_id))
        if cached is not None:
            return cached
        async with self._building:
            cached = _fresh(self._channels.get(store_id))
            if cached is not None:
                return cached
            client = await self._build_channels(store_id)
            self._channels[store_id] = (time.monotonic() + self._ttl, client)
            return client

    async def _build_channels(self, store_id: int) -> ChannelsClient:
        async with self._runtime.db.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(Store.appid, Store.appsecret_enc, Store.token_api).where(Store.id == store_id)
                )
            ).first()
        if row is None:
            raise UnknownAccountError(f"store {store_id} does not exist")
        return ChannelsClient(
            row.appid,
            self._runtime.secrets.decrypt(row.appsecret_enc),
            http=self.http,
            tokens=self.tokens,
            base_url=self._runtime.settings.channels_api_base,
            stable_token=row.token_api != TokenApi.CLASSIC,
            on_token_fetch=functools.partial(self._token_fetched, Store, store_id),
        )

    async def wecom(self, corp_id: int) -> WeComClient:
        """The client of WeCom corp ``corp_id``.

        Raises:
            UnknownAccountError: when the corp was deleted.
        """
        cached = _fresh(self._wecom.get(corp_id))
        if cached is not None:
            return cached
        async with self._building:
            cached = _fresh(self._wecom.get(corp_id))
            if cached is not None:
                return cached
            client = await self._build_wecom(corp_id)
            self._wecom[corp_id] = (time.monotonic() + self._ttl, client)
            return client

    async def _build_wecom(self, corp_id: int) -> WeComClient:
        async with self._runtime.db.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(WeComCorp.corpid, WeComCorp.secret_enc).where(WeComCorp.id == corp_id)
                )
            ).first()
        if row is None:
            raise UnknownAccountError(f"WeCom corp {corp_id} does not exist")
        return WeComClient(
            row.corpid,
            self._runtime.secrets.decrypt(row.secret_enc),
            http=self.http,
            tokens=self.tokens,
            base_url=self._runtime.settings.wecom_api_base,
            on_token_fetch=functools.partial(self._token_fetched, WeComCorp, corp_id),
        )

    async def aclose(self) -> None:
        if self._owns_http:
            await self.http.aclose()


def _fresh(entry: tuple[float, T] | None) -> T | None:
    if entry is None or entry[0] <= time.monotonic():
        return None
    return entry[1]
