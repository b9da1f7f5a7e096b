"""Settings → stores and WeCom, as an admin uses them in the browser."""

from __future__ import annotations

import sqlalchemy as sa

from desk.accounts.models import Role
from desk.stores.models import Store, WeComCorp
from desk.stores.secrets import SecretBox
from tests.conftest import TEST_AES_KEY, login
from tests.shell.helpers import post_form

SECRET = "appsecret-0123456789abcdef"
TOKEN = "PushToken2024"
STORE = {
    "name": "旗舰店",
    "appid": "wx1234567890abcdef",
    "appsecret": SECRET,
    "token": TOKEN,
    "aes_key": TEST_AES_KEY,
}


async def stores_in_db(runtime) -> list[Store]:
    async with runtime.db.session() as session:
        return list(await session.scalars(sa.select(Store)))


async def as_admin(client, app, make_user) -> None:
    await login(client, app, await make_user("root", Role.ADMIN))


def assert_no_secret_in(html: str) -> None:
    for secret in (SECRET, TOKEN, TEST_AES_KEY):
        assert secret not in html


async def test_agents_and_managers_get_403(client, app, make_user) -> None:
    await login(client, app, await make_user("boss", Role.MANAGER))
    for path in ("/settings/stores", "/settings/stores/new", "/settings/wecom"):
        assert (await client.get(path)).status_code == 403
    assert (await post_form(client, "/settings/stores", STORE)).status_code == 403


async def test_adding_a_store_shows_its_push_url_and_masks_its_secrets(
    client, app, runtime, make_user
) -> None:
    await as_admin(client, app, make_user)
    r = await post_form(client, "/settings/stores", STORE)
    assert r.status_code in (302, 303)
    page = await client.get(r.headers["location"])
    (store,) = await stores_in_db(runtime)
    assert "旗舰店" in page.text
    assert f"/webhooks/channels/{store.key}" in page.text
    assert "••••••••" + SECRET[-4:] in page.text
    assert_no_secret_in(page.text)


async def test_a_bad_aes_key_is_an_inline_error_and_nothing_is_saved(client, app, runtime, make_user) -> None:
    await as_admin(client, app, make_user)
    r = await post_form(client, "/settings/stores", {**STORE, "aes_key": "too-short"})
    assert r.status_code == 400
    assert 'id="f-aes_key-error"' in r.text
    assert "43 位" in r.text
    assert 'id="f-appid-error"' not in r.text
    assert 'value="旗舰店"' in r.text
    assert_no_secret_in(r.text)
    assert await stores_in_db(runtime) == []


async def test_each_field_is_checked(client, app, runtime, make_user, make_store) -> None:
    await as_admin(client, app, make_user)
    await make_store(appid="wxaaaaaaaaaaaaaaaa")
    r = await post_form(
        client, "/settings/stores", {"name": "", "appid": "wxaaaaaaaaaaaaaaaa", "token": "a b"}
    )
    assert r.status_code == 400
    for field in ("name", "appid", "appsecret", "token", "aes_key"):
        assert f'id="f-{field}-error"' in r.text, field
    assert "已经接入" in r.text
    assert len(await stores_in_db(runtime)) == 1


async def test_editing_never_shows_secrets_and_blank_fields_keep_them(
    client, app, runtime, make_user
) -> None:
    await as_admin(client, app, make_user)
    await post_form(client, "/settings/stores", STORE)
    (store,) = await stores_in_db(runtime)
    page = await client.get(f"/settings/stores/{store.id}")
    assert page.status_code == 200
    assert_no_secret_in(page.text)
    assert "留空则保持不变" in page.text
    r = await post_form(
        client,
        f"/settings/stores/{store.id}",
        {"name": "新名字", "appid": STORE["appid"], "token": "NewToken9"},
    )
    assert r.status_code in (302, 303)
    (store,) = await stores_in_db(runtime)
    assert store.name == "新名字"
    assert runtime.secrets.decrypt(store.token_enc) == "NewToken9"
    assert runtime.secrets.decrypt(store.appsecret_enc) == SECRET
    r = await post_form(
        client, f"/settings/stores/{store.id}", {"name": "x", "appid": "bad", "aes_key": "bad"}
    )
    assert r.status_code == 400
    assert_no_secret_in(r.text)
    assert (await stores_in_db(runtime))[0].name == "新名字"


async def test_deactivate_and_reactivate(client, app, runtime, make_user, make_store) -> None:
    await as_admin(client, app, make_user)
    store = await make_store("旗舰店")
    r = await post_form(client, f"/settings/stores/{store.id}/deactivate", {})
    assert r.status_code in (302, 303)
    assert "已停用" in (await client.get(r.headers["location"])).text
    assert not (await stores_in_db(runtime))[0].is_active
    await post_form(client, f"/settings/stores/{store.id}/activate", {})
    assert (await stores_in_db(runtime))[0].is_active
    assert (await post_form(client, "/settings/stores/999999/deactivate", {})).status_code == 404


async def test_wecom_corps_add_edit_and_list(client, app, runtime, make_user, make_store) -> None:
    await as_admin(client, app, make_user)
    store = await make_store("旗舰店")
    corp = {
        "name": "品牌企微",
        "corpid": "ww1234567890abcdef",
        "secret": SECRET,
        "token": TOKEN,
        "aes_key": TEST_AES_KEY,
        "default_store_id": str(store.id),
    }
    r = await post_form(client, "/settings/wecom", {**corp, "corpid": "nope"})
    assert r.status_code == 400
    assert 'id="f-corpid-error"' in r.text
    r = await post_form(client, "/settings/wecom", corp)
    assert r.status_code in (302, 303)
    async with runtime.db.session() as session:
        row = await session.scalar(sa.select(WeComCorp))
    listing = await client.get("/settings/wecom")
    assert f"/webhooks/wecom/{row.key}" in listing.text
    assert "旗舰店" in listing.text
    assert_no_secret_in(listing.text)
    edit = await client.get(f"/settings/wecom/{row.id}")
    assert_no_secret_in(edit.text)
    r = await post_form(client, f"/settings/wecom/{row.id}", {"name": "改名", "corpid": corp["corpid"]})
    assert r.status_code in (302, 303)
    async with runtime.db.session() as session:
        row = await session.get_one(WeComCorp, row.id)
    assert (row.name, row.default_store_id) == ("改名", None)
    assert runtime.secrets.decrypt(row.secret_enc) == SECRET


async def test_a_store_with_unreadable_secrets_is_listed_with_a_badge_and_fixed_from_its_form(
    client, app, runtime, make_user, make_store
) -> None:
    other = SecretBox("a different secret key")
    foreign = await make_store("外来店铺", box=other)
    await make_store("本店", appsecret="readable-secret-1")
    await as_admin(client, app, make_user)
    listing = await client.get("/settings/stores")
    assert listing.status_code == 200
    row = listing.text[listing.text.index("外来店铺") :].split("</tr>")[0]
    assert "密钥无法解密" in row
    assert f'href="/settings/stores/{foreign.id}">重新填写密钥' in row
    assert "••••••••et-1" in listing.text  # the readable store still shows its masks
    form = await client.get(f"/settings/stores/{foreign.id}")
    assert form.status_code == 200
    assert "无法解密这里保存的" in form.text
    r = await post_form(
        client, f"/settings/stores/{foreign.id}", {"name": "外来店铺", "appid": foreign.appid}
    )
    assert r.status_code == 400
    for field in ("appsecret", "token", "aes_key"):
        assert f'id="f-{field}-error"' in r.text
    fixed = {
        "name": "外来店铺",
        "appid": foreign.appid,
        "appsecret": SECRET,
        "token": TOKEN,
        "aes_key": TEST_AES_KEY,
    }
    r = await post_form(client, f"/settings/stores/{foreign.id}", fixed)
    assert r.status_code in (302, 303)
    listing = await client.get("/settings/stores")
    assert "密钥无法解密" not in listing.text
    assert "••••••••" + SECRET[-4:] in listing.text


async def test_a_corp_with_unreadable_secrets_is_listed_with_a_badge(client, app, runtime, make_user) -> None:
    other = SecretBox("a different secret key")
    async with runtime.db.session() as session:
        corp = WeComCorp(
            key="corpkey1",
            name="品牌企微",
            corpid="ww1234567890abcdef",
            secret_enc=other.encrypt("x"),
            token_enc=other.encrypt("y"),
            aes_key_enc=other.encrypt("z"),
        )
        session.add(corp)
    await as_admin(client, app, make_user)
    listing = await client.get("/settings/wecom")
    assert listing.status_code == 200
    assert "密钥无法解密" in listing.text
    assert f'href="/settings/wecom/{corp.id}">重新填写密钥' in listing.text
    form = await client.get(f"/settings/wecom/{corp.id}")
    assert "无法解密这里保存的" in form.text
