"""The condition registry covers every predicate a rule file may name, and nothing else."""

from __future__ import annotations

from desk.rules.conditions import CHECKS
from desk.rules.model import PREDICATES


def test_every_predicate_has_a_check_and_every_check_a_predicate() -> None:
    assert set(CHECKS) == set(PREDICATES)
    assert len(PREDICATES) == 16
