"""The rule engine runs against the simulated platform (the fixtures of the ingest tests)."""

from tests.ingest.conftest import make_corp, platform  # noqa: F401  (fixtures)
