"""What an operator sees from `desk` when the database or a setting is wrong: one line, non-zero exit."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import secrets
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from desk import migrate
from desk.accounts.models import User
from desk.accounts.passwords import verify_password
from desk.cli import main

ROOT = Path(__file__).resolve().parent.parent


def desk(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    return subprocess.run(
        [sys.executable, "-m", "desk", *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_unreachable_database_is_named_without_its_password(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://desk:hunter2@127.0.0.1:1/desk"
    for command in (["serve"], ["db", "upgrade"]):
        result = desk(*command, env={"DESK_DATABASE_URL": url, "DESK_SECRET_KEY": "k" * 40}, cwd=tmp_path)
        assert result.returncode == 2
        assert "cannot reach the database at postgresql+asyncpg://desk:***@127.0.0.1:1/desk" in result.stderr
        assert "hunter2" not in result.stderr + result.stdout
        assert "Traceback" not in result.stderr


def test_unknown_setting_is_refused_by_name(tmp_path: Path) -> None:
    result = desk("serve", env={"DESK_DATABSE_URL": "sqlite+aiosqlite:///x.db"}, cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown setting DESK_DATABSE_URL" in result.stderr
    assert "DESK_DATABASE_URL" in result.stderr  # the list of known names helps spot the typo


@pytest.mark.parametrize(("name", "value"), [("DESK_PORT", "eighty"), ("DESK_WORKER", "sometimes")])
def test_bad_setting_value_is_refused_by_name(tmp_path: Path, name: str, value: str) -> None:
    result = desk("serve", env={name: value}, cwd=tmp_path)
    assert result.returncode == 2
    assert f"invalid value for {name}" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_an_unmigrated_database_then_upgrade_fixes_it(tmp_path: Path) -> None:
    env = {"DESK_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"}
    refused = desk("serve", env=env, cwd=tmp_path)
    assert refused.returncode == 2
    assert "run `desk db upgrade`" in refused.stderr
    upgraded = desk("db", "upgrade", env=env, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "is at head" in upgraded.stdout


# -- a missing, unmigrated or damaged database: one line naming the fix, nothing left behind -----

# One of each way a command reaches the database: its own session (open_runtime) or the
# readiness check before serving (check_ready).
COMMANDS_NEEDING_THE_DATABASE = (
    ["stores", "add", "--name", "店", "--appid", "wx1", "--secret", "s", "--token", "tok", "--aes-key", "k"],
    ["tokens", "list"],
    ["serve"],
    ["stores", "sync", "旗舰店"],
)


def cli(*args: str, env: dict[str, str], input: str | None = None) -> Result:
    """``desk ARGS`` in this process (a new one costs a second to start), seeing only ``env``'s
    ``DESK_*`` settings; what the operator sees is ``result.output``."""
    unset: dict[str, str | None] = {name: None for name in os.environ if name.startswith("DESK_")}
    return CliRunner().invoke(main, list(args), env={**unset, **env}, input=input)


@pytest.fixture
def fresh_database(tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database on this run's footprint: an SQLite path that does not exist
    yet, or a PostgreSQL database created empty (and dropped afterwards)."""
    configured = os.environ.get("DESK_DATABASE_URL", "")
    if not configured.startswith("postgresql"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'db' / 'desk.db'}"
        return
    url = make_url(configured).set(database=f"desk_cli_{secrets.token_hex(4)}")
    admin = make_url(configured).set(drivername="postgresql", database="postgres")
    dsn = admin.render_as_string(hide_password=False)

    async def execute(sql: str) -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(execute(f'CREATE DATABASE "{url.database}"'))
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        asyncio.run(execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def migrated(url: str) -> str:
    """``url`` brought to the newest migration (its folder made first, for SQLite)."""
    if is_sqlite(url):
        Path(make_url(url).database or "").parent.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(url)
    return url


def test_a_missing_database_is_named_with_its_fix_and_nothing_is_created(
    tmp_path: Path, fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if is_sqlite(fresh_database):
        env = {"DESK_DATABASE_URL": fresh_database}
        fix = "run `desk db upgrade` to create it"
    else:  # a database that was never created on the server
        url = str(make_url(fresh_database).set(database="desk_never_created"))
        # Production sets the key; without it the key file is written before the server is asked.
        env = {"DESK_DATABASE_URL": url, "DESK_SECRET_KEY": "k" * 48}
        fix = "createdb"
    monkeypatch.chdir(tmp_path)
    for command in COMMANDS_NEEDING_THE_DATABASE:
        result = cli(*command, env=env)
        assert result.exit_code == 2, (command, result.output)
        assert fix in result.output, command
        assert "desk db upgrade" in result.output
        assert result.output.count("\n") == 1, result.output  # one line, no traceback
    # No empty database file, no folder, no generated key: nothing to mislead the next command.
    assert list(tmp_path.iterdir()) == []


def test_an_unmigrated_database_names_the_fix_and_db_upgrade_says_what_it_applied(
    tmp_path: Path, fresh_database: str
) -> None:
    env = {"DESK_DATABASE_URL": fresh_database, "DESK_SECRET_KEY": "k" * 48}
    if is_sqlite(fresh_database):  # an empty file, as an interrupted set-up leaves it
        (tmp_path / "db").mkdir()
        (tmp_path / "db" / "desk.db").touch()
    for command in COMMANDS_NEEDING_THE_DATABASE:
        result = cli(*command, env=env)
        assert result.exit_code == 2, (command, result.output)
        assert "the database is not migrated" in result.output
        assert "run `desk db upgrade`" in result.output
        assert result.output.count("\n") == 1, result.output

    upgraded = cli("db", "upgrade", env=env)
    assert upgraded.exit_code == 0, upgraded.output
    head = migrate.head_revision()
    assert "applied 0001  initial schema" in upgraded.stdout.splitlines()
    assert upgraded.stdout.splitlines()[-1].endswith(f"is at head ({head})")
    again = cli("db", "upgrade", env=env)
    assert "applied" not in again.stdout
    assert again.stdout.strip().endswith(f"is at head ({head}); nothing to apply")
    listed = cli("tokens", "list", env=env)
    assert listed.exit_code == 0, listed.output


def test_an_unexpected_error_is_one_line_unless_debugging(tmp_path: Path, fresh_database: str) -> None:
    env = {"DESK_DATABASE_URL": migrated(fresh_database), "DESK_SECRET_KEY": "k" * 48}

    async def drop_tokens_table() -> None:  # damage no check looks for: an operator's manual "fix"
        engine = create_async_engine(fresh_database)
        async with engine.begin() as conn:
            await conn.execute(sa.text("DROP TABLE api_token"))
        await engine.dispose()

    asyncio.run(drop_tokens_table())
    result = cli("tokens", "list", env=env)
    assert result.exit_code == 1
    assert result.output.startswith("Error: unexpected ")
    assert "api_token" in result.output
    assert "DESK_DEBUG=true" in result.output
    assert result.output.count("\n") == 1
    debugging = cli("tokens", "list", env={**env, "DESK_DEBUG": "true"})
    assert isinstance(debugging.exception, sa.exc.DBAPIError)  # left to Python: its traceback


# -- desk users create: a piped password, or a prompt on a terminal ------------------------------


async def password_hash(url: str, username: str) -> str:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        value = await conn.scalar(sa.select(User.password_hash).where(User.username == username))
    await engine.dispose()
    return value


def test_a_piped_password_is_taken_without_a_warning(tmp_path: Path, fresh_database: str) -> None:
    env = {"DESK_DATABASE_URL": migrated(fresh_database), "DESK_SECRET_KEY": "k" * 48}
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    result = subprocess.run(
        [sys.executable, "-m", "desk", "users", "create", "bob", "--role", "agent"],
        input="piped-password-2026\n",
        env={**clean, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no getpass warning, no "Password:" prompt
    assert "created agent 'bob'" in result.stdout
    stored = asyncio.run(password_hash(fresh_database, "bob"))
    assert asyncio.run(verify_password(stored, "piped-password-2026"))

    empty = cli("users", "create", "carol", "--role", "agent", env=env, input="")
    assert empty.exit_code == 2
    assert "--password" in empty.output
    assert "standard input is empty" in empty.output


def test_on_a_terminal_the_password_is_prompted_twice_unechoed(tmp_path: Path, fresh_database: str) -> None:
    env = {"DESK_DATABASE_URL": migrated(fresh_database), "DESK_SECRET_KEY": "k" * 48}
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "desk", "users", "create", "dave", "--role", "manager"],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env={**clean, **env},
        cwd=tmp_path,
        start_new_session=True,  # no controlling terminal but this one: getpass reads stdin
    )
    os.close(secondary)
    transcript = b""

    def read_until(marker: bytes) -> None:
        nonlocal transcript
        while marker not in transcript:
            ready, _, _ = select.select([primary], [], [], 30)
            assert ready, transcript
            transcript += os.read(primary, 1024)

    read_until(b"Password: ")
    os.write(primary, b"terminal-password-2026\n")
    read_until(b"Repeat for confirmation: ")
    os.write(primary, b"terminal-password-2026\n")
    assert process.wait(timeout=60) == 0, transcript
    with contextlib.suppress(OSError):  # the child closed its end
        transcript += os.read(primary, 4096)
    os.close(primary)
    assert b"terminal-password-2026" not in transcript  # never echoed
    assert b"created manager 'dave'" in transcript
    assert asyncio.run(
        verify_password(asyncio.run(password_hash(fresh_database, "dave")), "terminal-password-2026")
    )


def test_a_port_in_use_is_named_with_its_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for args, option in (
            (["demo", "--port", str(port)], "--port"),
            (["demo", "--port", str(port - 1), "--sim-port", str(port)], "--sim-port"),
            (["simulate", "--target", "http://127.0.0.1:1", "--port", str(port)], "--port"),
        ):
            result = cli(*args, env={})
            assert result.exit_code == 2, result.output
            assert result.output.startswith(f"Error: {option}: cannot listen on 127.0.0.1:{port}")
            assert result.output.count("\n") == 1  # no traceback
    assert list(tmp_path.iterdir()) == []  # nothing started, nothing written


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _serving(env: dict[str, str], cwd: Path, log: Path) -> Iterator[str]:
    """`desk serve` as an operator runs it, in its own process, its output (access log included)
    going to ``log``; yields its base URL."""
    port = _free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "desk", "serve", "--port", str(port)],
            env={**clean, **env},
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(f"{base}/healthz", timeout=5)
                    break
                except httpx.TransportError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"desk serve did not start: {log.read_text()}") from None
                    time.sleep(0.05)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)


def test_serve_leaves_x_forwarded_for_to_desk_trusted_proxies(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'desk.db'}"
    migrate.upgrade(url)
    env = {
        "DESK_DATABASE_URL": url,
        "DESK_TRUSTED_PROXIES": "10.0.0.0/8",  # not us: we connect from 127.0.0.1
        # uvicorn's own proxy trust, wide open: were `desk serve` to use it, uvicorn would take a
        # forged address as the client before desk could check who the proxy was.
        "FORWARDED_ALLOW_IPS": "*",
    }
    log = tmp_path / "serve.log"
    with _serving(env, tmp_path, log) as base:
        r = httpx.get(f"{base}/login", headers={"x-forwarded-for": "198.51.100.77"})
        assert r.status_code == 200
    # The access log shows the client the request was handled as (desk and uvicorn share it).
    (line,) = [line for line in log.read_text().splitlines() if '"GET /login HTTP' in line]
    assert "127.0.0.1:" in line
    assert "198.51.100.77" not in line
