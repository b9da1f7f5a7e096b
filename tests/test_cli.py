"""What an operator sees from `desk` when the database or a setting is wrong: one line, non-zero exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
