"""Inbox tests that need the simulated platform use the ingest tests' fixtures."""

from tests.ingest.conftest import make_corp, platform  # noqa: F401  (fixtures)
