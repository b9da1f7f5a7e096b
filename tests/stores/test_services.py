"""StoreService and CorpService: validated, encrypted credentials; blank secrets keep on edit."""

from __future__ import annotations

import msgspec
import sqlalchemy as sa

from desk.errors import Invalid
from desk.secret_box import SecretBox
from desk.stores.models import Store, WeComCorp
from desk.stores.services import (
    CorpForm,
    CorpService,
    StoreForm,
    StoreService,
    find_store,
    store_push_url,
    unreadable_secrets,
)
from tests.conftest import TEST_AES_KEY

OTHER_AES_KEY = "Z" * 43
GOOD = StoreForm(
    name="旗舰店",
    appid="wx1234567890abcdef",
    appsecret="s3cr3t-appsecret-value",
    token="pushToken1",
    aes_key=TEST_AES_KEY,
)


async def count(runtime, model) -> int:
    async with runtime.db.session() as session:
        return await session.scalar(sa.select(sa.func.count()).select_from(model))


async def test_create_encrypts_every_secret_and_gives_a_push_key(runtime) -> None:
    async with runtime.db.session() as session:
        store = await StoreService(session, runtime.secrets).create(GOOD)
    assert isinstance(store, Store)
    assert len(store.key) >= 16
    for column, plain in (
        ("appsecret_enc", GOOD.appsecret),
        ("token_enc", GOOD.token),
        ("aes_key_enc", TEST_AES_KEY),
    ):
        stored = getattr(store, column)
        assert plain not in stored
        assert runtime.secrets.decrypt(stored) == plain
    assert (
        store_push_url(runtime.settings, store)
        == f"{runtime.settings.base_url}/webhooks/channels/{store.key}"
    )


async def test_pasted_values_are_trimmed(runtime) -> None:
    form = StoreForm(
        name=" 店 ",
        appid=" wx1234567890abcdef\n",
        appsecret=" abc ",
        token="tok1 ",
        aes_key=f"{TEST_AES_KEY}\n",
    )
    async with runtime.db.session() as session:
        store = await StoreService(session, runtime.secrets).create(form)
    assert (store.name, store.appid) == ("店", "wx1234567890abcdef")
    assert runtime.secrets.decrypt(store.aes_key_enc) == TEST_AES_KEY


async def test_create_refuses_bad_fields_all_at_once_and_saves_nothing(runtime) -> None:
    form = StoreForm(name="", appid="gh_nope", appsecret="", token="t", aes_key="not-a-key")
    async with runtime.db.session() as session:
        result = await StoreService(session, runtime.secrets).create(form)
    assert isinstance(result, Invalid)
    assert set(result.errors) == {"name", "appid", "appsecret", "token", "aes_key"}
    assert await count(runtime, Store) == 0


async def test_appids_are_unique(runtime, make_store) -> None:
    await make_store(appid=GOOD.appid)
    async with runtime.db.session() as session:
        result = await StoreService(session, runtime.secrets).create(GOOD)
    assert result.errors["appid"].key == "stores.error.appid_taken"


async def test_update_keeps_blank_secrets_and_replaces_given_ones(runtime) -> None:
    async with runtime.db.session() as session:
        store = await StoreService(session, runtime.secrets).create(GOOD)
    async with runtime.db.session() as session:
        service = StoreService(session, runtime.secrets)
        row = await service.get(store.id)
        form = StoreForm(name="新名字", appid=GOOD.appid, aes_key=OTHER_AES_KEY)
        assert isinstance(await service.update(row, form), Store)
    async with runtime.db.session() as session:
        row = await session.get_one(Store, store.id)
        assert row.name == "新名字"
        assert row.key == store.key
        assert runtime.secrets.decrypt(row.appsecret_enc) == GOOD.appsecret
        assert runtime.secrets.decrypt(row.token_enc) == GOOD.token
        assert runtime.secrets.decrypt(row.aes_key_enc) == OTHER_AES_KEY


async def test_store_names_are_unique(runtime, make_store) -> None:
    await make_store("旗舰店")
    async with runtime.db.session() as session:
        service = StoreService(session, runtime.secrets)
        result = await service.create(msgspec.structs.replace(GOOD, name=" 旗舰店 "))
        assert isinstance(result, Invalid)
        assert result.errors["name"].key == "stores.error.name_taken"
        store = await service.create(msgspec.structs.replace(GOOD, name="户外店"))
        assert isinstance(await service.update(store, StoreForm(name="户外店", appid=GOOD.appid)), Store)
        result = await service.update(store, StoreForm(name="旗舰店", appid=GOOD.appid))
        assert set(result.errors) == {"name"}


async def test_update_may_keep_its_own_appid_but_not_take_anothers(runtime, make_store) -> None:
    other = await make_store(appid="wxaaaaaaaaaaaaaaaa")
    async with runtime.db.session() as session:
        store = await StoreService(session, runtime.secrets).create(GOOD)
        service = StoreService(session, runtime.secrets)
        assert isinstance(await service.update(store, StoreForm(name="x", appid=GOOD.appid)), Store)
        result = await service.update(store, StoreForm(name="x", appid=other.appid, token="bad token"))
        assert set(result.errors) == {"appid", "token"}
        assert store.appid == GOOD.appid


async def test_masked_secrets_show_only_the_last_characters(runtime) -> None:
    async with runtime.db.session() as session:
        service = StoreService(session, runtime.secrets)
        masked = service.masked(await service.create(GOOD))
    assert masked.secret == "••••••••" + GOOD.appsecret[-4:]
    assert masked.aes_key.endswith(TEST_AES_KEY[-4:])
    assert TEST_AES_KEY not in masked.aes_key


async def test_secrets_sealed_with_another_key_are_reported_and_must_all_be_entered_again(
    runtime, make_store
) -> None:
    other = SecretBox("the key of another desk")
    foreign = await make_store("外来店铺", box=other)
    await make_store("本店")
    async with runtime.db.session() as session:
        unreadable = await unreadable_secrets(session, runtime.secrets)
        assert (unreadable.stores, unreadable.corps, unreadable.total) == (["外来店铺"], [], 2)
        service = StoreService(session, runtime.secrets)
        row = await service.get(foreign.id)
        assert not service.masked(row).readable
        result = await service.update(row, StoreForm(name="外来店铺", appid=foreign.appid, token="newToken1"))
        assert isinstance(result, Invalid)
        assert set(result.errors) == {"appsecret", "aes_key"}
        form = StoreForm(
            name="外来店铺", appid=foreign.appid, appsecret="fresh", token="newToken1", aes_key=TEST_AES_KEY
        )
        assert isinstance(await service.update(row, form), Store)
        assert service.masked(row).readable
    async with runtime.db.session() as session:
        assert not await unreadable_secrets(session, runtime.secrets)


async def test_set_active_and_find_by_key_or_name(runtime, make_store) -> None:
    store = await make_store("旗舰店", key="flagship")
    async with runtime.db.session() as session:
        assert (await find_store(session, "flagship")).id == store.id
        assert (await find_store(session, "旗舰店")).id == store.id
        assert await find_store(session, "nope") is None
        row = await session.get_one(Store, store.id)
        await StoreService(session, runtime.secrets).set_active(row, False)
    async with runtime.db.session() as session:
        assert not (await session.get_one(Store, store.id)).is_active


async def test_corps_are_validated_encrypted_and_filed_under_a_default_store(runtime, make_store) -> None:
    store = await make_store("旗舰店")
    form = CorpForm(
        name="品牌企微",
        corpid="ww1234567890abcdef",
        secret="corp-secret",
        token="tok123",
        aes_key=TEST_AES_KEY,
        default_store_id=str(store.id),
    )
    async with runtime.db.session() as session:
        corp = await CorpService(session, runtime.secrets).create(form)
    assert isinstance(corp, WeComCorp)
    assert corp.default_store_id == store.id
    assert runtime.secrets.decrypt(corp.secret_enc) == "corp-secret"
    async with runtime.db.session() as session:
        service = CorpService(session, runtime.secrets)
        result = await service.create(form)
        assert result.errors["corpid"].key == "stores.error.corpid_taken"
        bad = CorpForm(name="x", corpid="corp", secret="", token="", aes_key="", default_store_id="424242")
        result = await service.create(bad)
        assert set(result.errors) == {"corpid", "secret", "token", "aes_key", "default_store_id"}
        row = await service.get(corp.id)
        updated = await service.update(row, CorpForm(name="改名", corpid=form.corpid, default_store_id=""))
        assert updated.default_store_id is None
        assert runtime.secrets.decrypt(updated.token_enc) == "tok123"
    assert await count(runtime, WeComCorp) == 1
