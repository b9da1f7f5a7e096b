"""``desk stores`` and ``desk corps`` against the test database."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from desk import migrate
from desk.accounts.models import Role
from desk.app import create_app
from desk.cli import main
from desk.runtime import Runtime
from desk.secret_box import SecretBox
from desk.settings import Settings
from desk.stores.models import Store, WeComCorp
from tests.conftest import TEST_AES_KEY, app_lifespan, login, on_platform
from tests.shell.helpers import run_cli

ADD = [
    "stores",
    "add",
    "--name",
    "旗舰店",
    "--appid",
    "wx1234567890abcdef",
    "--secret",
    "s3cret",
    "--token",
    "tok123",
]


@pytest.fixture(autouse=True)
def known_to_the_platform(wechat) -> None:
    """The store and corp these tests connect exist on the (simulated) platform."""
    on_platform(wechat, appid="wx1234567890abcdef", secret="s3cret")
    on_platform(wechat, corpid="ww1234567890abcdef", secret="sec")


async def all_rows(runtime, model) -> list:
    async with runtime.db.session() as session:
        return list(await session.scalars(sa.select(model)))


async def test_stores_add_prints_the_push_url_alone_on_stdout(settings, runtime) -> None:
    result = await run_cli(settings, *ADD, "--aes-key", TEST_AES_KEY)
    assert result.exit_code == 0, result.output
    (store,) = await all_rows(runtime, Store)
    assert result.stdout == f"{runtime.settings.base_url}/webhooks/channels/{store.key}\n"
    assert runtime.secrets.decrypt(store.aes_key_enc) == TEST_AES_KEY
    assert "connection test failed" not in result.stderr
    assert store.connection_error is None


async def test_a_failed_connection_test_is_a_warning_unless_check_is_given(settings, runtime) -> None:
    wrong = [*ADD[:7], "not-the-secret", *ADD[8:], "--aes-key", TEST_AES_KEY]
    result = await run_cli(settings, *wrong, "--check")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "Error: the connection test failed: The platform refused the secret (errcode 40125)"
    )
    assert result.stdout == ""
    assert await all_rows(runtime, Store) == []

    result = await run_cli(settings, *wrong)
    assert result.exit_code == 0, result.output
    assert (
        "warning: the connection test failed: The platform refused the secret (errcode 40125)"
        in result.stderr
    )
    (store,) = await all_rows(runtime, Store)
    assert result.stdout == f"{runtime.settings.base_url}/webhooks/channels/{store.key}\n"
    assert store.connection_problem.key == "stores.check.invalid_secret"
    listing = await run_cli(settings, "stores", "list")
    assert "platform calls failing since" in listing.stdout
    assert "The platform refused the secret (errcode 40125)" in listing.stdout


async def test_corps_add_tests_the_connection_too(settings, runtime) -> None:
    corp = ["corps", "add", "--name", "品牌", "--corpid", "ww00000000000000aa", "--secret", "sec"]
    corp += ["--token", "tok123", "--aes-key", TEST_AES_KEY]
    result = await run_cli(settings, *corp, "--check")
    assert result.exit_code == 2
    assert "WeCom does not know this corp ID (errcode 40013)" in result.stderr
    assert await all_rows(runtime, WeComCorp) == []
    result = await run_cli(settings, *corp)
    assert result.exit_code == 0
    assert "warning: the connection test failed: WeCom does not know this corp ID" in result.stderr


async def test_stores_add_refuses_bad_input_naming_the_option(settings, runtime) -> None:
    result = await run_cli(settings, *ADD, "--aes-key", "not-43-characters")
    assert result.exit_code != 0
    assert result.output.startswith("Error: --aes-key:")
    assert result.output.count("\n") == 1
    result = await run_cli(
        settings, "stores", "add", "--name", "x", "--appid", "gh_1", "--secret", "", "--token", "t"
    )
    assert result.exit_code == 2
    assert "Missing option '--aes-key'" in result.output  # before anything is checked or saved
    result = await run_cli(
        settings, "stores", "add", "--name", "x", "--appid", "gh_1", "--secret", "", "--token", "t",
        "--aes-key", TEST_AES_KEY,
    )  # fmt: skip
    for option in ("--appid", "--secret", "--token"):
        assert option in result.output
    assert await all_rows(runtime, Store) == []


async def test_required_options_are_marked_in_help(settings) -> None:
    for command, required in (
        (["stores", "add"], ["--name", "--appid", "--secret", "--token", "--aes-key"]),
        (["corps", "add"], ["--name", "--corpid", "--secret", "--token", "--aes-key"]),
    ):
        help_text = (await run_cli(settings, *command, "--help")).output
        # One entry per option, its wrapped description lines joined.
        entries = re.split(r"\n(?=  -)", help_text.split("Options:\n", 1)[1])
        options = {entry.split()[0]: " ".join(entry.split()) for entry in entries}
        for option in required:
            assert "[required]" in options[option], (command, option)
        assert "[required]" not in options.get("--default-store", "")


async def test_stores_list_never_prints_secrets(settings, make_store) -> None:
    store = await make_store("旗舰店", appsecret="appsecret-value-1")
    result = await run_cli(settings, "stores", "list")
    assert result.exit_code == 0
    assert "旗舰店" in result.output
    assert f"/webhooks/channels/{store.key}" in result.output
    assert "appsecret-value-1" not in result.output


async def test_corps_add_and_list(settings, runtime, make_store) -> None:
    await make_store("旗舰店", key="flagship")
    corp = [
        "corps",
        "add",
        "--name",
        "品牌",
        "--corpid",
        "ww1234567890abcdef",
        "--secret",
        "sec",
        "--token",
        "tok123",
    ]
    result = await run_cli(settings, *corp, "--aes-key", TEST_AES_KEY, "--default-store", "nope")
    assert result.exit_code != 0
    assert "--default-store" in result.output
    result = await run_cli(settings, *corp, "--aes-key", TEST_AES_KEY, "--default-store", "flagship")
    assert result.exit_code == 0, result.output
    (row,) = await all_rows(runtime, WeComCorp)
    assert result.stdout.strip().endswith(f"/webhooks/wecom/{row.key}")
    listing = await run_cli(settings, "corps", "list")
    assert "ww1234567890abcdef" in listing.output


async def test_stores_add_refuses_a_key_that_cannot_read_the_saved_secrets(
    settings, runtime, make_store
) -> None:
    other = SecretBox("the key of another desk")
    await make_store("旗舰店", box=other)
    result = await run_cli(settings, *ADD, "--aes-key", TEST_AES_KEY)
    assert result.exit_code != 0
    assert result.output.startswith("Error: the secret key in use (DESK_SECRET_KEY)")
    assert "store '旗舰店'" in result.output
    assert "Traceback" not in result.output
    assert [s.name for s in await all_rows(runtime, Store)] == ["旗舰店"]
    corp = ["corps", "add", "--name", "品牌", "--corpid", "ww1234567890abcdef", "--secret", "sec"]
    result = await run_cli(settings, *corp, "--token", "tok123", "--aes-key", TEST_AES_KEY)
    assert result.exit_code != 0
    assert await all_rows(runtime, WeComCorp) == []


async def test_commands_run_from_any_folder_use_the_key_beside_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    database = tmp_path / "data" / "desk.db"
    database.parent.mkdir()
    url = f"sqlite+aiosqlite:///{database}"
    await migrate.upgrade_async(url)
    env = {"DESK_DATABASE_URL": url, "DESK_CHANNELS_API_BASE": settings.channels_api_base}
    for n, folder in enumerate(("one", "two"), start=1):
        (tmp_path / folder).mkdir()
        monkeypatch.chdir(tmp_path / folder)
        args = [*ADD[:3], f"店铺{n}", "--appid", f"wx{n}234567890abcdef", *ADD[6:], "--aes-key", TEST_AES_KEY]
        result = await asyncio.to_thread(CliRunner().invoke, main, args, env=env)
        assert result.exit_code == 0, result.output
        assert list((tmp_path / folder).iterdir()) == []
    key = (tmp_path / "data" / "secret.key").read_text()
    box = SecretBox(key)
    runtime = Runtime(Settings(database_url=url, secret_key=key))
    try:
        async with runtime.db.session() as session:
            stores = list(await session.scalars(sa.select(Store).order_by(Store.id)))
    finally:
        await runtime.stop()
    assert [box.decrypt(s.appsecret_enc) for s in stores] == ["s3cret", "s3cret"]
    result = await asyncio.to_thread(
        CliRunner().invoke, main, [*ADD, "--aes-key", TEST_AES_KEY], env={**env, "DESK_SECRET_KEY": "another"}
    )
    assert result.exit_code != 0
    assert "cannot decrypt the saved secrets of 2 of 2 stores and corps" in result.output


async def test_a_postgresql_desk_without_desk_secret_key_is_a_clear_error() -> None:
    env = {"DESK_DATABASE_URL": "postgresql+asyncpg://desk@127.0.0.1:1/desk", "DESK_SECRET_KEY": ""}
    result = await asyncio.to_thread(CliRunner().invoke, main, ["stores", "list"], env=env)
    assert result.exit_code != 0
    assert result.output.startswith("Error: DESK_SECRET_KEY must be set")
    assert "Traceback" not in result.output


async def test_push_urls_are_the_web_apps_and_a_loopback_one_is_a_warning(
    settings, runtime, make_store, make_user
) -> None:
    store = await make_store("旗舰店")
    real_platform = settings.with_changes(channels_api_base="https://api.weixin.qq.com")
    listing = await run_cli(real_platform, "stores", "list")
    assert listing.exit_code == 0
    assert (
        "warning: Push URLs use 127.0.0.1, a loopback or private address WeChat's servers cannot reach"
        in listing.stderr
    )
    assert "DESK_PUBLIC_URL" in listing.stderr

    public = real_platform.with_changes(public_url="https://desk.example.com")
    listing = await run_cli(public, "stores", "list")
    assert "warning" not in listing.stderr
    cli_url = f"https://desk.example.com/webhooks/channels/{store.key}"
    assert cli_url in listing.stdout
    web = Runtime(public)
    app = create_app(runtime=web)
    try:
        async with (
            app_lifespan(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
        ):
            await login(client, app, await make_user("root", Role.ADMIN))
            page = await client.get("/settings/stores")
            assert cli_url in page.text  # the very URL the command printed
            assert "alert-warn" not in page.text
    finally:
        await web.stop()

    # With the simulator on this machine as the platform, loopback push URLs do reach it.
    assert "warning" not in (await run_cli(settings, "stores", "list")).stderr
