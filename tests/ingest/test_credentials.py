"""The push-credential cache: warm pushes cost no query; edits reach it within its TTL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from desk.ingest.credentials import CredentialCache
from desk.stores.models import Store
from tests.conftest import TEST_AES_KEY


@pytest.fixture
def queries(runtime) -> Iterator[list[str]]:
    """Every SQL statement run during the test."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    event.listen(runtime.db.engine.sync_engine, "before_cursor_execute", record)
    yield seen
    event.remove(runtime.db.engine.sync_engine, "before_cursor_execute", record)


async def test_credentials_are_loaded_once_and_decrypted(runtime, make_store, queries) -> None:
    store = await make_store(token="tok-A")
    cache = CredentialCache(runtime.db, runtime.secrets, ttl=60)

    found = await asyncio.gather(*(cache.store(store.key) for _ in range(20)))

    assert {f.store_id for f in found} == {store.id}
    assert found[0].appid == store.appid
    assert found[0].crypt.token == "tok-A"
    assert len([q for q in queries if "FROM store" in q]) == 1  # twenty concurrent pushes, one query


async def test_unknown_keys_are_remembered_too(runtime, queries) -> None:
    cache = CredentialCache(runtime.db, runtime.secrets, ttl=60)
    assert await cache.store("no-such-key") is None
    assert await cache.store("no-such-key") is None
    assert await cache.corp("no-such-key") is None
    assert len(queries) == 2


async def test_an_edited_token_is_used_after_the_ttl(runtime, make_store) -> None:
    store = await make_store(token="tok-old")
    cache = CredentialCache(runtime.db, runtime.secrets, ttl=0.05)
    assert (await cache.store(store.key)).crypt.token == "tok-old"
    async with runtime.db.engine.begin() as conn:
        await conn.execute(
            sa.update(Store).where(Store.id == store.id).values(token_enc=runtime.secrets.encrypt("tok-new"))
        )
    await asyncio.sleep(0.1)
    assert (await cache.store(store.key)).crypt.token == "tok-new"


async def test_a_store_with_an_unusable_aes_key_gets_no_credentials(runtime, make_store) -> None:
    store = await make_store(aes_key=TEST_AES_KEY[:-1])
    assert await CredentialCache(runtime.db, runtime.secrets).store(store.key) is None


async def test_corps_are_found_by_their_key(runtime, make_corp) -> None:
    corp = await make_corp(corpid="ww_corp_1")
    found = await CredentialCache(runtime.db, runtime.secrets).corp(corp.key)
    assert (found.corp_id, found.corpid, found.crypt.receive_id) == (corp.id, "ww_corp_1", "ww_corp_1")
