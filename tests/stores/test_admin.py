"""Settings → stores and WeCom, as an admin uses them in the browser."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa

from desk.accounts.models import Role
from desk.app import create_app
from desk.platform.crypto import MsgCrypt
from desk.runtime import Runtime
from desk.secret_box import SecretBox
from desk.simulator import Simulator
from desk.stores.models import Store, WeComCorp
from tests.conftest import TEST_AES_KEY, app_lifespan, login, on_platform
from tests.ingest.conftest import channels_push, order_event
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


CORPID = "ww1234567890abcdef"


@pytest.fixture(autouse=True)
def known_to_the_platform(wechat: Simulator) -> None:
    """The store and corp these tests connect exist on the (simulated) platform with these secrets."""
    on_platform(wechat, appid=STORE["appid"], secret=SECRET)
    on_platform(wechat, corpid=CORPID, secret=SECRET)


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


async def test_deactivating_asks_for_confirmation_and_reactivating_does_not(
    client, app, runtime, make_user, make_store
) -> None:
    await as_admin(client, app, make_user)
    store = await make_store("旗舰店")
    listing = await client.get("/settings/stores")
    assert f'href="/settings/stores/{store.id}/deactivate"' in listing.text  # a link to the question
    # A bare POST (no confirmation) only leads to the question.
    r = await post_form(client, f"/settings/stores/{store.id}/deactivate", {})
    assert r.headers["location"] == f"/settings/stores/{store.id}/deactivate"
    assert (await stores_in_db(runtime))[0].is_active
    question = await client.get(r.headers["location"])
    assert question.status_code == 200
    assert "停用店铺“旗舰店”？" in question.text
    assert "消息推送会被拒绝" in question.text
    assert 'name="confirmed" value="true"' in question.text
    r = await post_form(client, f"/settings/stores/{store.id}/deactivate", {"confirmed": "true"})
    assert r.status_code in (302, 303)
    assert "已停用" in (await client.get(r.headers["location"])).text
    assert not (await stores_in_db(runtime))[0].is_active
    await post_form(client, f"/settings/stores/{store.id}/activate", {})
    assert (await stores_in_db(runtime))[0].is_active
    assert (
        await post_form(client, "/settings/stores/999999/deactivate", {"confirmed": "true"})
    ).status_code == 404
    assert (await client.get("/settings/stores/999999/deactivate")).status_code == 404


async def test_wecom_corps_add_edit_and_list(client, app, runtime, make_user, make_store) -> None:
    await as_admin(client, app, make_user)
    store = await make_store("旗舰店")
    corp = {
        "name": "品牌企微",
        "corpid": CORPID,
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
    client, app, runtime, make_user, make_store, wechat
) -> None:
    other = SecretBox("a different secret key")
    foreign = await make_store("外来店铺", box=other)
    on_platform(wechat, appid=foreign.appid, secret=SECRET)
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
            corpid=CORPID,
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


async def test_a_store_the_platform_refuses_is_not_saved_and_its_answer_is_shown_in_words(
    client, app, runtime, make_user
) -> None:
    await as_admin(client, app, make_user)
    r = await post_form(client, "/settings/stores", {**STORE, "appsecret": "not-the-secret"})
    assert r.status_code == 400
    assert "连接测试未通过" in r.text
    assert "平台拒绝了这个 Secret（错误码 40125）" in r.text
    assert 'name="save_anyway"' in r.text
    assert 'value="旗舰店"' in r.text  # typed values are kept…
    assert f'value="{STORE["appid"]}"' in r.text
    assert "not-the-secret" not in r.text  # …but never a secret
    assert "密钥和密码不会回填" in r.text
    assert await stores_in_db(runtime) == []

    r = await post_form(client, "/settings/stores", {**STORE, "appid": "wx00000000000000ff"})
    assert "平台不认识这个 AppID（错误码 40013）" in r.text
    assert await stores_in_db(runtime) == []


async def test_an_admin_may_save_a_store_anyway_and_it_shows_as_failing_until_fixed(
    client, app, runtime, make_user, caplog
) -> None:
    await as_admin(client, app, make_user)
    wrong = {**STORE, "appsecret": "not-the-secret", "save_anyway": "true"}
    r = await post_form(client, "/settings/stores", wrong)
    assert r.status_code in (302, 303)
    assert r.headers["location"] == "/settings/stores?notice=created"
    (store,) = await stores_in_db(runtime)
    assert store.connection_problem.key == "stores.check.invalid_secret"
    assert store.connection_error_at is not None
    listing = await client.get("/settings/stores")
    row = listing.text[listing.text.index("旗舰店") :].split("</tr>")[0]
    for shown in ("调用失败", "平台拒绝了这个 Secret", "起："):
        assert shown in row
    page = await client.get(f"/stores/{store.id}")  # the store's own page says so too
    assert "调用失败" in page.text
    assert "平台拒绝了这个 Secret" in page.text

    # Fixing the secret is tested too, and clears the failure.
    fixed = {"name": STORE["name"], "appid": STORE["appid"], "appsecret": SECRET}
    with caplog.at_level("INFO", logger="desk.stores.health"):
        r = await post_form(client, f"/settings/stores/{store.id}", fixed)
    assert r.headers["location"] == f"/settings/stores/{store.id}?notice=saved"
    (store,) = await stores_in_db(runtime)
    assert store.connection_error is None
    assert "accepts its credentials again" in caplog.text
    edit = await client.get(r.headers["location"])
    for shown in ("已保存。", "平台接口", "未发现问题"):
        assert shown in edit.text

    # Saved anyway on edit: the notice says the test failed.
    r = await post_form(
        client,
        f"/settings/stores/{store.id}",
        {"name": STORE["name"], "appid": STORE["appid"], "appsecret": "wrong-again", "save_anyway": "true"},
    )
    assert r.headers["location"] == f"/settings/stores/{store.id}?notice=saved_unchecked"
    assert "连接测试未通过" in (await client.get(r.headers["location"])).text


async def test_an_unreachable_platform_is_named_and_does_not_hold_the_form(
    settings, make_user, runtime
) -> None:
    offline = Runtime(
        settings.with_changes(channels_api_base="http://127.0.0.1:9", wecom_api_base="http://127.0.0.1:9")
    )
    app = create_app(runtime=offline)
    try:
        async with (
            app_lifespan(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
        ):
            await login(client, app, await make_user("root", Role.ADMIN))
            r = await post_form(client, "/settings/stores", STORE)
            assert r.status_code == 400
            assert "无法连接到平台（http://127.0.0.1:9）" in r.text
            corp = {
                "name": "品牌企微",
                "corpid": CORPID,
                "secret": SECRET,
                "token": TOKEN,
                "aes_key": TEST_AES_KEY,
            }
            r = await post_form(client, "/settings/wecom", corp)
            assert "无法连接到平台（http://127.0.0.1:9）" in r.text
    finally:
        await offline.stop()
    assert await stores_in_db(runtime) == []


async def test_a_corp_wecom_refuses_is_not_saved_unless_the_admin_says_so(
    client, app, runtime, make_user
) -> None:
    await as_admin(client, app, make_user)
    corp = {"name": "品牌企微", "corpid": CORPID, "secret": "wrong", "token": TOKEN, "aes_key": TEST_AES_KEY}
    r = await post_form(client, "/settings/wecom", corp)
    assert r.status_code == 400
    assert "平台拒绝了这个 Secret（错误码 40001）" in r.text
    r = await post_form(client, "/settings/wecom", {**corp, "corpid": "ww00000000000000ff"})
    assert "企业微信不认识这个企业 ID（错误码 40013）" in r.text
    r = await post_form(client, "/settings/wecom", {**corp, "save_anyway": "true"})
    assert r.status_code in (302, 303)
    listing = await client.get("/settings/wecom")
    assert "调用失败" in listing.text


async def test_saving_new_push_credentials_takes_effect_at_once(
    client, app, runtime, make_user, make_store
) -> None:
    store = await make_store("旗舰店", appid=STORE["appid"], appsecret=SECRET, token="OldToken1")
    old = MsgCrypt("OldToken1", TEST_AES_KEY, store.appid)
    query, body = channels_push(old, order_event("3700000000000000001"))
    assert (await client.post(f"/webhooks/channels/{store.key}?{query}", content=body)).text == "success"
    await as_admin(client, app, make_user)
    r = await post_form(
        client, f"/settings/stores/{store.id}", {"name": "旗舰店", "appid": store.appid, "token": "NewToken2"}
    )
    assert r.status_code in (302, 303)
    # Within the cache's lifetime a push signed with the new token is accepted: the save dropped
    # the cached credentials of this process.
    new = MsgCrypt("NewToken2", TEST_AES_KEY, store.appid)
    query, body = channels_push(new, order_event("3700000000000000002"))
    assert (await client.post(f"/webhooks/channels/{store.key}?{query}", content=body)).text == "success"
    query, body = channels_push(old, order_event("3700000000000000003"))
    assert (await client.post(f"/webhooks/channels/{store.key}?{query}", content=body)).status_code == 401


async def test_a_refused_form_keeps_what_was_typed_but_secrets_and_says_so_in_either_language(
    client, app, make_user
) -> None:
    await as_admin(client, app, make_user)
    client.cookies.set("desk_lang", "en")
    r = await post_form(client, "/settings/stores", {**STORE, "aes_key": "too-short", "token_api": "classic"})
    assert r.status_code == 400
    assert "1 field needs fixing; see the highlighted field below. Nothing was saved." in r.text
    assert "secrets and passwords are not filled in again" in r.text
    assert 'value="旗舰店"' in r.text
    assert 'value="classic" aria-describedby="f-token_api-classic-hint" checked' in r.text
    assert_no_secret_in(r.text)
    r = await post_form(client, "/settings/stores", {**STORE, "aes_key": "too-short", "token": "a b"})
    assert "2 fields need fixing" in r.text
