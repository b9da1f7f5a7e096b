"""Fixtures of the metrics tests."""

from __future__ import annotations

from typing import Any

import pytest

from desk.stores.models import Store
from tests.ingest.conftest import make_corp, platform  # noqa: F401  (fixtures)


@pytest.fixture
async def store_pair(make_store: Any) -> list[Store]:
    """Two stores (facts of several stores must not mix)."""
    return [await make_store(), await make_store()]
