"""Settings come from DESK_* variables, typed, with embedded defaults; mistakes are named."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desk.settings import Settings, SettingsError, load_settings


def test_defaults_are_the_embedded_footprint() -> None:
    settings = load_settings({})
    assert settings.is_sqlite
    assert settings.redis_url is None
    assert settings.worker == "embedded"
    assert settings.language == "zh-CN"


def test_values_are_converted_from_text() -> None:
    settings = load_settings({"DESK_PORT": "9000", "DESK_DEBUG": "true", "DESK_INGEST_BATCH_WAIT_MS": "1.5"})
    assert (settings.port, settings.debug, settings.ingest_batch_wait_ms) == (9000, True, 1.5)
    assert settings.base_url == "http://127.0.0.1:9000"


def test_other_variables_are_ignored() -> None:
    assert load_settings({"PATH": "/bin", "DESKTOP_SESSION": "x"}) == Settings()


@given(st.from_regex(r"DESK_[A-Z_]{1,20}", fullmatch=True))
def test_any_unknown_desk_name_is_refused(name: str) -> None:
    if name.removeprefix("DESK_").lower() in Settings.__struct_fields__:
        return
    with pytest.raises(SettingsError, match=f"unknown setting {name}"):
        load_settings({name: "1"})


def test_the_generated_key_lives_beside_the_sqlite_database_whatever_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "data" / "desk.db"
    settings = Settings(database_url=f"sqlite+aiosqlite:///{database}")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    first = settings.resolved_secret_key()
    assert len(first) >= 48
    key_file = tmp_path / "data" / "secret.key"
    assert key_file.read_text() == first
    assert key_file.stat().st_mode & 0o077 == 0  # readable by the owner only
    assert list(elsewhere.iterdir()) == []  # nothing written where the command happened to run
    monkeypatch.chdir(tmp_path)
    assert settings.resolved_secret_key() == first
    assert settings.secret_key_source() == str(key_file)
    assert Settings(database_url=settings.database_url, secret_key="given").resolved_secret_key() == "given"


def test_a_relative_sqlite_path_keeps_its_key_beside_that_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    key = Settings().resolved_secret_key()  # the default ./var/desk.db
    assert (tmp_path / "var" / "secret.key").read_text() == key


@pytest.mark.parametrize(
    "url", ["postgresql+asyncpg://desk@db/desk", "sqlite+aiosqlite://", "sqlite+aiosqlite:///:memory:"]
)
def test_a_database_without_a_file_requires_desk_secret_key(url: str) -> None:
    with pytest.raises(SettingsError, match="DESK_SECRET_KEY must be set"):
        Settings(database_url=url).resolved_secret_key()
    assert Settings(database_url=url, secret_key="k" * 40).resolved_secret_key() == "k" * 40


def test_push_max_skew_defaults_to_five_minutes_and_must_be_positive() -> None:
    assert load_settings({}).push_max_skew == 300
    assert load_settings({"DESK_PUSH_MAX_SKEW": "60"}).push_max_skew == 60
    for bad in ("0", "-5", "soon"):
        with pytest.raises(SettingsError, match="invalid value for DESK_PUSH_MAX_SKEW"):
            load_settings({"DESK_PUSH_MAX_SKEW": bad})


def test_trusted_proxies_and_login_limits_are_checked_at_start_naming_the_variable() -> None:
    settings = load_settings({"DESK_TRUSTED_PROXIES": "10.0.0.5, 172.31.254.0/24"})
    assert settings.trusted_proxies == "10.0.0.5, 172.31.254.0/24"
    with pytest.raises(SettingsError, match="DESK_TRUSTED_PROXIES: 'nginx' is not an IP address or network"):
        load_settings({"DESK_TRUSTED_PROXIES": "10.0.0.5, nginx"})
    for name in ("DESK_LOGIN_FREE_FAILURES", "DESK_LOGIN_ADDRESS_FREE_FAILURES", "DESK_LOGIN_BACKOFF_MAX_S"):
        with pytest.raises(SettingsError, match=f"invalid value for {name}: must be at least 1"):
            load_settings({name: "0"})
