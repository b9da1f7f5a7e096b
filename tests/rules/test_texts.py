"""Every trigger, predicate and action has its words in both languages."""

from __future__ import annotations

import pytest

from desk.i18n import LANGUAGES, catalogue
from desk.rules.model import ACTION_TYPES, PREDICATES, TRIGGERS


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_every_rule_part_has_a_name(language: str) -> None:
    texts = catalogue(language)
    keys = (
        [f"rules.trigger.{t.value}" for t in TRIGGERS]
        + [f"rules.predicate.{p}" for p in PREDICATES]
        + [f"rules.action.{a}" for a in ACTION_TYPES]
    )
    assert [k for k in keys if k not in texts] == []
