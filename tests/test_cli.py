"""What an operator sees from `desk` when the database or a setting is wrong: one line, non-zero exit."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from desk import migrate

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
        result = desk(*command, env={"DESK_DATABASE_URL": url}, cwd=tmp_path)
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
