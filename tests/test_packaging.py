"""desk installs as a plain wheel: every import declared, templates, static files and migrations inside.

``pip install .`` (not editable) into a fresh virtualenv is what ``.ci/run`` proves end to end
(``.ci/wheel-check``); here the wheel is built and installed on its own into a folder put first on
the path, and ``desk demo`` is started from another folder against it.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import tomllib
import zipfile
from collections.abc import Iterable
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(requirements: Iterable[str]) -> set[str]:
    return {_normalised(re.match(r"[A-Za-z0-9._-]+", r).group()) for r in requirements}  # type: ignore[union-attr]


def _imported_distributions(paths: Iterable[Path]) -> dict[str, set[str]]:
    """Third-party distributions imported by the files under ``paths``, with the files importing each."""
    providers = importlib.metadata.packages_distributions()
    found: dict[str, set[str]] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in {"desk", "tests"}:
                    continue
                for dist in providers.get(top, [f"<no distribution provides {top}>"]):
                    found.setdefault(_normalised(dist), set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_library_desk_imports_is_a_declared_dependency() -> None:
    runtime = _declared(PYPROJECT["project"]["dependencies"])
    imported = _imported_distributions([*(ROOT / "desk").rglob("*.py"), ROOT / "migrations" / "env.py"])
    undeclared = {dist: files for dist, files in imported.items() if dist not in runtime}
    assert undeclared == {}
    assert {"click", "rich", "anyio"} <= imported.keys()  # the three that used to come in unnamed


def test_every_library_the_tests_import_is_declared_for_development() -> None:
    everything = _declared(PYPROJECT["project"]["dependencies"]) | _declared(
        PYPROJECT["project"]["optional-dependencies"]["dev"]
    )
    imported = _imported_distributions((ROOT / "tests").rglob("*.py"))
    assert {dist: files for dist, files in imported.items() if dist not in everything} == {}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        timeout=120,
    )
    [built] = out.glob("desk-*.whl")
    return built


def test_the_wheel_carries_templates_static_files_migrations_and_rules(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder, bundled in (
        ("templates", "_templates"),
        ("static", "_static"),
        ("migrations", "_migrations"),
        ("rules", "_rules"),
    ):
        expected = {
            f"desk/{bundled}/{p.relative_to(ROOT / folder).as_posix()}"
            for p in (ROOT / folder).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        }
        assert expected, folder
        assert expected <= names, sorted(expected - names)[:5]
    assert any(n.startswith("desk/i18n/zh-CN/") and n.endswith(".toml") for n in names)
    assert not any(n.startswith(("tests/", "templates/", "static/", "bench/")) for n in names)


@pytest.mark.slow
def test_desk_demo_runs_from_the_installed_wheel_in_another_folder(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        timeout=120,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env["PYTHONPATH"] = str(site)  # ahead of the checkout the dev install points at

    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "import desk.paths as p; print(p.TEMPLATES_DIR, p.STATIC_DIR, p.MIGRATIONS_DIR)",
        ],
        env=env,
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert where == [str(site / "desk" / name) for name in ("_templates", "_static", "_migrations")]

    port, sim_port = _free_port(), _free_port()
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "desk",
            "demo",
            "--port",
            str(port),
            "--sim-port",
            str(sim_port),
            "--scenario",
            "none",
        ],
        env=env,
        cwd=elsewhere,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    watchdog = threading.Timer(90, demo.kill)  # a demo that hangs before its banner fails the test
    watchdog.start()
    try:
        output = []
        for line in demo.stdout:  # type: ignore[union-attr]
            output.append(line)
            if "desk demo is running" in line:
                break
        else:
            pytest.fail("the demo stopped before it was running:\n" + "".join(output))
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=10) as client:
            login = client.get("/login")
            assert login.status_code == 200
            assert "登录" in login.text  # a template from the wheel, with the catalogue
            for asset in ("/static/desk.css", "/static/vendor/htmx-2.0.11.min.js", "/static/openapi.js"):
                assert client.get(asset).status_code == 200, asset
    finally:
        watchdog.cancel()
        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=30)
    # The demo keeps its data where it was started, migrated by the wheel's own migrations.
    assert (elsewhere / "var" / "demo.db").is_file()
