"""The package boundaries the design promises, read from the source (every import, wherever it is).

* ``desk.platform`` speaks WeChat and nothing else: it could be published alone, so it imports
  nothing of desk outside itself.
* ``desk.simulator`` is a fake WeChat platform: it may use the protocol layer and itself only,
  so it can never come to depend on the desk it is meant to test.
* The desk loads the simulator only for ``desk demo`` / ``desk simulate`` (``desk.demo``); the
  app a merchant serves never imports it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

DESK = Path(__file__).resolve().parent.parent / "desk"


def module_name(path: Path) -> str:
    """``desk/platform/crypto.py`` → ``desk.platform.crypto``; a package's ``__init__`` is the package."""
    parts = path.relative_to(DESK.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Every module ``source`` imports, absolute — also inside functions, ``TYPE_CHECKING`` blocks
    and ``importlib.import_module("…")`` calls, and with relative imports resolved."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            # ``from desk import simulator`` imports the module desk.simulator.
            found.update(f"{target}.{alias.name}" for alias in node.names if alias.name != "*")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return found


def desk_imports(package: str) -> dict[str, set[str]]:
    """For each module of ``package`` (``desk.platform``), the desk modules it imports."""
    folder = DESK.joinpath(*package.split(".")[1:])
    result = {}
    for path in sorted(folder.rglob("*.py")):
        name = module_name(path)
        imports = imported_modules(path.read_text(encoding="utf-8"), name, is_package=path.stem == "__init__")
        result[name] = {m for m in imports if m == "desk" or m.startswith("desk.")}
    return result


def within(module: str, allowed: tuple[str, ...]) -> bool:
    return any(module == a or module.startswith(f"{a}.") for a in allowed)


def test_the_walk_finds_every_kind_of_import() -> None:
    source = """
import desk.db
from desk.settings import Settings
from desk import simulator
from . import crypto
from ..stores import models
if TYPE_CHECKING:
    from desk.runtime import Runtime
def late():
    from desk.app import create_app
    importlib.import_module("desk.inbox.services")
"""
    assert imported_modules(source, "desk.platform.calls") == {
        "desk.db",
        "desk.settings",
        "desk.settings.Settings",
        "desk",
        "desk.simulator",
        "desk.platform",
        "desk.platform.crypto",
        "desk.stores",
        "desk.stores.models",
        "desk.runtime",
        "desk.runtime.Runtime",
        "desk.app",
        "desk.app.create_app",
        "desk.inbox.services",
    }
    assert imported_modules("from . import kf", "desk.simulator", is_package=True) == {
        "desk.simulator",
        "desk.simulator.kf",
    }


@pytest.mark.parametrize(
    ("package", "allowed"),
    [
        ("desk.platform", ("desk.platform",)),
        ("desk.simulator", ("desk.platform", "desk.simulator")),
    ],
)
def test_a_package_imports_nothing_of_desk_beyond_what_it_may(package: str, allowed: tuple[str, ...]) -> None:
    modules = desk_imports(package)
    assert len(modules) > 5  # the walk did find the package's modules
    crossings = {
        module: sorted(m for m in imports if not within(m, allowed))
        for module, imports in modules.items()
        if any(not within(m, allowed) for m in imports)
    }
    assert crossings == {}


def test_only_the_demo_commands_import_the_simulator() -> None:
    importers = {
        module
        for package in sorted({p.name for p in DESK.iterdir() if p.is_dir() and p.name != "simulator"})
        for module, imports in desk_imports(f"desk.{package}").items()
        if any(within(m, ("desk.simulator",)) for m in imports)
    }
    top_level = {
        module_name(path)
        for path in DESK.glob("*.py")
        if any(
            within(m, ("desk.simulator",))
            for m in imported_modules(path.read_text(encoding="utf-8"), module_name(path))
        )
    }
    assert importers | top_level == {"desk.demo"}


def test_serving_the_desk_does_not_load_the_simulator() -> None:
    code = (
        # desk.cli: every `desk` command (serve, worker, stores …) starts by importing it.
        "import sys, desk.app, desk.ingest.worker, desk.cli, desk.background;"
        "print(sorted(m for m in sys.modules if m.startswith('desk.simulator')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def test_the_demo_offers_every_scenario_of_the_simulator() -> None:
    from desk.demo import SCENARIO_NAMES
    from desk.simulator import SCENARIOS

    assert sorted(SCENARIO_NAMES) == sorted(SCENARIOS)
