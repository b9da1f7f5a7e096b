"""``desk stores`` and ``desk corps`` against the test database."""

from __future__ import annotations

import re

import sqlalchemy as sa

from desk.stores.models import Store, WeComCorp
from tests.conftest import TEST_AES_KEY
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


async def all_rows(runtime, model) -> list:
    async with runtime.db.session() as session:
        return list(await session.scalars(sa.select(model)))


async def test_stores_add_prints_the_push_url_alone_on_stdout(settings, runtime) -> None:
    result = await run_cli(settings, *ADD, "--aes-key", TEST_AES_KEY)
    assert result.exit_code == 0, result.output
    (store,) = await all_rows(runtime, Store)
    assert result.stdout == f"{runtime.settings.base_url}/webhooks/channels/{store.key}\n"
    assert runtime.secrets.decrypt(store.aes_key_enc) == TEST_AES_KEY


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
