"""Where the project's non-Python parts live (templates, static files, migrations)."""

from pathlib import Path

__all__ = ["MIGRATIONS_DIR", "PROJECT_ROOT", "STATIC_DIR", "TEMPLATES_DIR"]

# desk runs from a checkout (or an editable install, as in the Dockerfile): these folders sit
# beside the package rather than inside it, as the project layout prescribes.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = PROJECT_ROOT / "templates"
STATIC_DIR = PROJECT_ROOT / "static"
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
