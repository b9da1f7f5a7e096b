"""What a simulated store sells: its category, chosen in its config or read from its name.

The baby store sells nappies and prams, the outdoor store jackets and tents, and their buyers ask
what such buyers ask. A name that says nothing (``wx1234…``) gets a bit of everything.
"""

from __future__ import annotations

import functools

from desk.simulator import data
from desk.simulator.data import CatalogItem

__all__ = [
    "CATEGORY_NAMES",
    "category_for_name",
    "category_label",
    "category_questions",
    "check_category",
    "presale_questions",
    "products",
]

CATEGORY_NAMES: tuple[str, ...] = (*data.CATEGORIES, data.GENERAL_CATEGORY)
"""Every category a store may be given, ``general`` last."""


def category_for_name(name: str) -> str:
    """The category a store's name announces: the first in :data:`~.data.CATEGORIES` with one of
    its keywords in the name (萌宝母婴好物 → ``baby``), else ``general``."""
    for category, spec in data.CATEGORIES.items():
        if any(keyword in name for keyword in spec.keywords):
            return category
    return data.GENERAL_CATEGORY


def check_category(category: str) -> None:
    """Raises ValueError, naming the known categories, for one that is not."""
    if category not in CATEGORY_NAMES:
        raise ValueError(f"unknown store category {category!r}; choose from {', '.join(CATEGORY_NAMES)}")


def category_label(category: str) -> str:
    """The category as a merchant's backend shows it (母婴, 户外 … 百货)."""
    spec = data.CATEGORIES.get(category)
    return spec.label if spec else data.GENERAL_LABEL


@functools.cache
def products(category: str) -> tuple[tuple[CatalogItem, str], ...]:
    """The goods a store of ``category`` may sell, each with its category label (a general store
    draws from every category)."""
    check_category(category)
    specs = [data.CATEGORIES[category]] if category in data.CATEGORIES else list(data.CATEGORIES.values())
    return tuple((item, spec.label) for spec in specs for item in spec.products)


def category_questions(category: str) -> tuple[str, ...]:
    """What only buyers of this category ask before buying (how big, how warm, from what age)."""
    spec = data.CATEGORIES.get(category)
    return spec.questions if spec else ()


def presale_questions(category: str) -> tuple[str, ...]:
    """What a store's buyers ask before buying: everyone's questions and their category's."""
    return data.PRESALE_QUESTIONS + category_questions(category)
