"""Where the project's non-Python parts live: templates, static files, migrations, shipped rules.

In the repository (and an editable install, as ``dev.py`` and the Dockerfile make) they are the
top-level folders beside the package, as the project layout prescribes. An installed wheel
carries them inside the package as ``desk/_templates``, ``desk/_static``, ``desk/_migrations`` and
``desk/_rules``
(see ``[tool.hatch.build.targets.wheel]`` in pyproject.toml). The bundled copy wins when present.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["MIGRATIONS_DIR", "PACKAGE_DIR", "RULES_DIR", "STATIC_DIR", "TEMPLATES_DIR"]

# Jinja, the static files router and Alembic all want real folders: wheels install unzipped.
PACKAGE_DIR = Path(str(files("desk")))


def _locate(bundled: str, top_level: str) -> Path:
    inside = PACKAGE_DIR / bundled
    return inside if inside.is_dir() else PACKAGE_DIR.parent / top_level


TEMPLATES_DIR = _locate("_templates", "templates")
STATIC_DIR = _locate("_static", "static")
MIGRATIONS_DIR = _locate("_migrations", "migrations")
RULES_DIR = _locate("_rules", "rules")
"""The shipped default rules (loaded into an empty database on first start)."""
