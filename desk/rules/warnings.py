"""Warnings about rules that load but may not do what their author meant.

Not errors: a rule that can never match or two rules that contradict each other are legal (an
admin may be half-way through an edit), but ``desk rules check`` and ``import`` say so.

- a rule whose ``all`` asks for two things that cannot both be true (``shipped = true`` and
  ``shipped = false``; disjoint after-sale types; ranges that do not overlap) never matches;
- two enabled rules on the same trigger and overlapping stores where one approves and the other
  rejects: the one that runs first (lower ``priority``, then id) decides, the other is superseded;
- approve and reject in one rule: only the first written happens.
"""

from __future__ import annotations

from collections.abc import Sequence

from desk.rules.model import Approve, Condition, Range, Reject, Rule

__all__ = ["warnings_for"]


def _overlap(a: Range, b: Range) -> bool:
    low = max(x for x in (a.min, b.min, 0) if x is not None)
    highs = [x for x in (a.max, b.max) if x is not None]
    return not highs or low <= min(highs)


def _never_in_all(children: Sequence[Condition]) -> str | None:
    shipped = {c.shipped for c in children if c.shipped is not None}
    if len(shipped) > 1:
        return "asks for shipped = true and shipped = false"
    types = [set(c.aftersale_type) for c in children if c.aftersale_type is not None]
    if types and not set.intersection(*types):
        return "asks for after-sale types that exclude each other"
    for name in ("order_age_hours", "refund_amount_fen", "order_amount_fen", "buyer_aftersales_30d"):
        ranges = [getattr(c, name) for c in children if getattr(c, name) is not None]
        if any(not _overlap(a, b) for i, a in enumerate(ranges) for b in ranges[i + 1 :]):
            return f"asks for {name} ranges that do not overlap"
    return None


def _never(node: Condition, path: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if node.all is not None:
        if (why := _never_in_all(node.all)) is not None:
            found.append((f"{path}.all", f"{why}: the rule can never match"))
        for i, child in enumerate(node.all):
            found += _never(child, f"{path}.all[{i}]")
    if node.any is not None:
        for i, child in enumerate(node.any):
            found += _never(child, f"{path}.any[{i}]")
    if node.not_ is not None:
        found += _never(node.not_, f"{path}.not")
    return found


def _decision(rule: Rule) -> str | None:
    for action in rule.actions:
        if isinstance(action, Approve):
            return "approve"
        if isinstance(action, Reject):
            return "reject"
    return None


def _stores_overlap(a: Rule, b: Rule) -> bool:
    return a.stores == "all" or b.stores == "all" or bool(set(a.stores) & set(b.stores))


def warnings_for(rules: Sequence[Rule]) -> list[tuple[int, str, str]]:
    """``(index, path, message)`` for each rule of ``rules`` worth a second look."""
    found: list[tuple[int, str, str]] = []
    for i, rule in enumerate(rules):
        if rule.conditions is not None:
            found += [(i, p, m) for p, m in _never(rule.conditions, f"rules[{i}].conditions")]
        decisions = [j for j, a in enumerate(rule.actions) if isinstance(a, Approve | Reject)]
        if len(decisions) > 1:
            found.append(
                (i, f"rules[{i}].actions[{decisions[1]}]", "a second decision in one rule never happens")
            )
    ordered = sorted(range(len(rules)), key=lambda k: (rules[k].priority, rules[k].id))
    for n, i in enumerate(ordered):
        for j in ordered[n + 1 :]:
            first, later = rules[i], rules[j]
            if not (first.enabled and later.enabled) or first.trigger != later.trigger:
                continue
            decided, other = _decision(first), _decision(later)
            if decided and other and decided != other and _stores_overlap(first, later):
                found.append(
                    (
                        j,
                        f"rules[{j}]",
                        f"{other}s what {first.id!r} {decided}s on the same event: "
                        f"{first.id!r} runs first (priority {first.priority}) and decides",
                    )
                )
    return found
