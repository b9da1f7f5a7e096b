"""The pure evaluator: (rules, event, facts) → what to do, and why.

No database, no clock, no platform: the engine, a dry-run and the tests call the same function.
For each rule the event concerns (enabled, its trigger, its stores) it records every condition
with the value seen and whether it held; a rule matches only when its conditions are *true*
(unknown facts never match). Rules run by ``priority`` (lower first, then id); the first after-sale
decision (approve or reject) on an event wins and a later one is recorded as superseded; a
``stop`` action ends the evaluation after its rule. Events caused by a rule's own actions are not
evaluated at all (loop guard).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from desk.rules.conditions import CHECKS
from desk.rules.facts import Event, Facts
from desk.rules.model import Action, Approve, Condition, Reject, Rule, Stop, TriggerEvent

__all__ = [
    "Compiled",
    "Evaluation",
    "PlannedAction",
    "RuleOutcome",
    "Seen",
    "applies",
    "evaluate",
    "evaluate_rule",
]


class Seen(msgspec.Struct, frozen=True, kw_only=True):
    """One predicate as it was checked: where it sits in the rule, what it saw, whether it held."""

    path: str
    predicate: str
    held: bool | None
    value: Any = None


class PlannedAction(msgspec.Struct, frozen=True, kw_only=True):
    rule_id: str
    index: int
    """The action's position in its rule (with ``rule_id``, a stable name for its outcome)."""
    action: Action


class RuleOutcome(msgspec.Struct, frozen=True, kw_only=True):
    rule_id: str
    matched: bool
    seen: list[Seen]
    actions: list[PlannedAction] = msgspec.field(default_factory=list)
    superseded: list[PlannedAction] = msgspec.field(default_factory=list)
    """Decisions not taken because a rule of higher priority already decided this event."""


class Evaluation(msgspec.Struct, frozen=True, kw_only=True):
    outcomes: list[RuleOutcome]
    """One per rule the event concerned, in the order they ran."""

    @property
    def actions(self) -> list[PlannedAction]:
        return [a for outcome in self.outcomes for a in outcome.actions]


def applies(rule: Rule, event: Event) -> bool:
    """Whether ``rule`` is evaluated for ``event``: enabled, same trigger, one of its stores."""
    if not rule.enabled or rule.trigger.event is not event.trigger:
        return False
    if event.trigger is TriggerEvent.CONVERSATION_WAITING and rule.trigger.seconds != event.wait_seconds:
        return False
    return rule.stores == "all" or event.store_appid in rule.stores


# A condition tree compiled once per rule version: each node knows its kind and its path, so
# evaluating does not search a node's fields for the one that is set (the evaluator's hot path).
_Node = tuple[str, str, Any, Any]
"""``(kind, path, payload, check)``: kind ``all`` / ``any`` / ``not`` or a predicate's name."""


def _compile(node: Condition, path: str) -> _Node:
    if node.all is not None:
        return ("all", path, [_compile(c, f"{path}.all[{i}]") for i, c in enumerate(node.all)], None)
    if node.any is not None:
        return ("any", path, [_compile(c, f"{path}.any[{i}]") for i, c in enumerate(node.any)], None)
    if node.not_ is not None:
        return ("not", path, _compile(node.not_, f"{path}.not"), None)
    for name, check in CHECKS.items():
        value = getattr(node, name)
        if value is not None:
            return (name, f"{path}.{name}", value, check)
    raise AssertionError(f"{path}: a condition with nothing set (model.problems refuses these)")


class Compiled:
    """A rule with its conditions compiled (the engine keeps these per rule version)."""

    __slots__ = ("rule", "tree")

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.tree = None if rule.conditions is None else _compile(rule.conditions, "conditions")


def _check(node: _Node, event: Event, facts: Facts, seen: list[Seen]) -> bool | None:
    """Three-valued: True, False, or None (unknown). Every child is checked, for the record."""
    kind, path, payload, check = node
    if check is not None:
        held, observed = check(payload, event, facts)
        seen.append(Seen(path=path, predicate=kind, held=held, value=observed))
        return held
    if kind == "not":
        inner = _check(payload, event, facts, seen)
        return None if inner is None else not inner
    results = [_check(child, event, facts, seen) for child in payload]
    if kind == "all":
        if False in results:
            return False
        return True if all(r is True for r in results) else None
    if True in results:
        return True
    return False if all(r is False for r in results) else None


def evaluate_rule(rule: Rule | Compiled, event: Event, facts: Facts) -> tuple[bool, list[Seen]]:
    """Whether ``rule``'s conditions are true for the facts, and every predicate as seen."""
    compiled = rule if isinstance(rule, Compiled) else Compiled(rule)
    seen: list[Seen] = []
    if compiled.tree is None:
        return True, seen
    return _check(compiled.tree, event, facts, seen) is True, seen


def _ordered(rules: Iterable[Compiled]) -> list[Compiled]:
    return sorted(rules, key=lambda c: (c.rule.priority, c.rule.id))


def evaluate(rules: Sequence[Rule | Compiled], event: Event, facts: Facts) -> Evaluation:
    """What ``rules`` do about ``event`` given ``facts`` (see the module's docstring)."""
    if event.caused_by_rule:
        return Evaluation(outcomes=[])
    outcomes: list[RuleOutcome] = []
    decided_by = ""
    compiled = (r if isinstance(r, Compiled) else Compiled(r) for r in rules)
    for entry in _ordered(c for c in compiled if applies(c.rule, event)):
        rule = entry.rule
        matched, seen = evaluate_rule(entry, event, facts)
        if not matched:
            outcomes.append(RuleOutcome(rule_id=rule.id, matched=False, seen=seen))
            continue
        planned: list[PlannedAction] = []
        superseded: list[PlannedAction] = []
        stop = False
        for index, action in enumerate(rule.actions):
            item = PlannedAction(rule_id=rule.id, index=index, action=action)
            if isinstance(action, Stop):
                stop = True
            elif isinstance(action, Approve | Reject):
                if decided_by:
                    # Another rule (or this one, earlier in its list) already decided.
                    superseded.append(item)
                    continue
                decided_by = rule.id
            planned.append(item)
        outcomes.append(
            RuleOutcome(rule_id=rule.id, matched=True, seen=seen, actions=planned, superseded=superseded)
        )
        if stop:
            break
    return Evaluation(outcomes=outcomes)
