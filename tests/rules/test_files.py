"""Rule files: exact TOML round-trips, and errors that name the file, the path and the line."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desk.rules.files import RuleError, RuleFileError, dump, load, to_toml_value
from desk.rules.model import Approve, Condition, Range, Rule, Trigger, TriggerEvent
from tests.rules.strategies import rules

GOOD = """\
[[rules]]
id = "auto_refund"
name = "未发货仅退款自动同意"
enabled = false
priority = 10
stores = "all"
trigger = { event = "aftersale.created" }
conditions.all = [
  { aftersale_type = ["REFUND"] },
  { order_age_hours = { max = 4 } },
  { refund_amount_fen = { max = 50000 } },
]
actions = [
  { type = "approve" },
]
"""


def errors_of(text: str, source: str = "rules/auto_refund.toml") -> list[str]:
    with pytest.raises(RuleFileError) as caught:
        load(text, source)
    return [str(e) for e in caught.value.errors]


def test_a_canonical_file_round_trips_to_the_same_text() -> None:
    loaded = load(GOOD, "rules/auto_refund.toml")
    assert loaded[0].conditions is not None
    assert loaded[0].conditions.all is not None
    assert loaded[0].conditions.all[1] == Condition(order_age_hours=Range(max=4))
    assert dump(loaded) == GOOD


@settings(max_examples=300, deadline=None)
@given(st.lists(rules(), min_size=1, max_size=3, unique_by=lambda r: r.id))
def test_any_valid_rule_round_trips(generated: list[Rule]) -> None:
    text = dump(generated)
    assert load(text, "generated.toml") == generated
    assert dump(load(text, "generated.toml")) == text


def test_a_wrong_type_names_the_file_path_and_line() -> None:
    text = GOOD.replace("{ max = 4 }", '{ max = "4" }')
    assert errors_of(text) == [
        "rules/auto_refund.toml:10: rules[0].conditions.all[1].order_age_hours.max: "
        "expected a number, got a string"
    ]


def test_a_predicate_given_a_number_instead_of_a_range_is_explained() -> None:
    text = GOOD.replace("{ order_age_hours = { max = 4 } }", "{ order_age_hours = 4 }")
    assert errors_of(text) == [
        "rules/auto_refund.toml:10: rules[0].conditions.all[1].order_age_hours: "
        "expected a table, got an integer"
    ]


def test_an_unknown_condition_lists_the_known_ones() -> None:
    (error,) = errors_of(GOOD.replace("aftersale_type", "aftersale_kind"))
    assert error.startswith(
        "rules/auto_refund.toml:9: rules[0].conditions.all[0].aftersale_kind: unknown condition"
    )
    assert "aftersale_type" in error


def test_an_unknown_action_lists_the_known_ones() -> None:
    (error,) = errors_of(GOOD.replace('type = "approve"', 'type = "refund"'))
    assert error.startswith("rules/auto_refund.toml:14: rules[0].actions[0].type: unknown action 'refund'")
    assert "approve" in error


def test_an_unknown_trigger_is_named() -> None:
    (error,) = errors_of(GOOD.replace("aftersale.created", "aftersale.made"))
    assert "rules[0].trigger.event: unknown trigger 'aftersale.made'" in error


def test_invalid_toml_gives_the_line() -> None:
    assert errors_of(GOOD.replace("priority = 10", "priority = ")) == [
        "rules/auto_refund.toml:5: invalid TOML: Invalid value"
    ]


def test_one_bad_rule_among_many_lists_every_error_and_returns_nothing() -> None:
    text = "\n".join(
        [
            GOOD,
            GOOD.replace("auto_refund", "second").replace("priority = 10", 'priority = "high"'),
            GOOD.replace("auto_refund", "third"),
            GOOD.replace("auto_refund", "fourth").replace('stores = "all"', "stores = []"),
        ]
    )
    errors = errors_of(text)
    assert len(errors) == 2
    assert errors[0].startswith("rules/auto_refund.toml:21: rules[1].priority: expected an integer")
    assert errors[1].startswith("rules/auto_refund.toml:54: rules[3].stores: expected a list of length >= 1")


def test_a_rule_that_can_never_match_is_refused() -> None:
    text = GOOD.replace("{ max = 4 }", "{ min = 5, max = 4 }")
    assert errors_of(text) == [
        "rules/auto_refund.toml:10: rules[0].conditions.all[1].order_age_hours: "
        "min is greater than max: the rule can never match"
    ]


def test_a_node_with_two_keys_is_refused() -> None:
    text = GOOD.replace('{ aftersale_type = ["REFUND"] }', '{ aftersale_type = ["REFUND"], shipped = false }')
    (error,) = errors_of(text)
    assert "rules[0].conditions.all[0]: a condition names exactly one of" in error


def test_approve_needs_an_aftersale_trigger() -> None:
    (error,) = errors_of(GOOD.replace("aftersale.created", "message.received"))
    assert "rules[0].actions[0]: approve and reject need an aftersale.* trigger" in error


def test_waiting_needs_seconds_and_others_refuse_them() -> None:
    waiting = GOOD.replace('{ event = "aftersale.created" }', '{ event = "conversation.waiting" }')
    waiting = waiting.replace('{ type = "approve" }', '{ type = "reply", text = "马上来" }')
    assert "rules[0].trigger.seconds: conversation.waiting needs seconds" in errors_of(waiting)[0]
    seconds = GOOD.replace('{ event = "aftersale.created" }', '{ event = "aftersale.created", seconds = 5 }')
    assert "rules[0].trigger.seconds: only conversation.waiting takes seconds" in errors_of(seconds)[0]


def test_a_reply_with_an_unknown_variable_is_refused() -> None:
    text = GOOD.replace('{ type = "approve" }', '{ type = "reply", text = "您好 {buyer_name}" }')
    (error,) = errors_of(text)
    assert "rules[0].actions[0].text: unknown variable {buyer_name}" in error


def test_duplicate_ids_are_refused() -> None:
    (error,) = errors_of(GOOD + "\n" + GOOD)
    assert "rules[1].id: duplicate id 'auto_refund' (also rules[0])" in error


def test_a_bad_id_is_explained() -> None:
    (error,) = errors_of(GOOD.replace('id = "auto_refund"', 'id = "Auto Refund"'))
    assert error == (
        "rules/auto_refund.toml:2: rules[0].id: expected lowercase letters, digits, _ . or - "
        "(at most 64, starting with a letter or digit)"
    )


def test_unknown_top_level_keys_are_refused() -> None:
    assert errors_of("version = 1\n" + GOOD)[0] == (
        "rules/auto_refund.toml:1: version: unknown key (a rule file holds [[rules]] tables only)"
    )


# Random data of any shape: loading it either succeeds or raises RuleFileError, never anything else.
json_like = st.recursive(
    st.one_of(
        st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False), st.text(max_size=10)
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.from_regex(r"\A[a-z_]{1,12}\Z"), inner, max_size=4)
    ),
    max_leaves=20,
)
keys = st.sampled_from(
    [
        "id",
        "name",
        "enabled",
        "priority",
        "stores",
        "trigger",
        "conditions",
        "actions",
        "all",
        "any",
        "not",
        "event",
        "seconds",
        "type",
        "max",
        "min",
        "shipped",
        "order_age_hours",
        "text",
        "words",
        "match",
    ]
)


def load_errors(text: str) -> list[RuleError] | None:
    """The errors loading ``text`` raised (None: it loaded); any other exception fails the test."""
    try:
        load(text, "fuzz.toml")
    except RuleFileError as exc:
        return exc.errors
    return None


def _mutate(data: Any, path: list[int], value: Any) -> Any:
    """Replace the leaf reached by walking ``path`` (indices modulo the container's size)."""
    if not path or not isinstance(data, dict | list) or not data:
        return value
    if isinstance(data, dict):
        key = sorted(data)[path[0] % len(data)]
        return {**data, key: _mutate(data[key], path[1:], value)}
    i = path[0] % len(data)
    return [*data[:i], _mutate(data[i], path[1:], value), *data[i + 1 :]]


@settings(max_examples=300, deadline=None)
@given(rules(), st.lists(st.integers(0, 50), max_size=6), json_like)
def test_mutated_rules_load_or_fail_with_the_validation_error_only(
    rule: Rule, path: list[int], value: Any
) -> None:
    data = {"rules": [_mutate(msgspec.to_builtins(rule), path, value)]}
    text = "\n".join(f"{k} = {to_toml_value(v)}" for k, v in data.items())
    errors = load_errors(text)
    assert errors is None or (errors and all(str(e).startswith("fuzz.toml") for e in errors))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, json_like, max_size=6))
def test_random_tables_fail_with_the_validation_error_only(table: dict[str, Any]) -> None:
    text = f"rules = {to_toml_value([table])}"
    errors = load_errors(text)
    assert errors is None or errors


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_random_text_fails_with_the_validation_error_only(text: str) -> None:
    errors = load_errors(text)
    assert errors is None or errors


def test_dump_writes_the_trigger_and_omits_what_is_not_set() -> None:
    rule = Rule(id="x", name="x", trigger=Trigger(event=TriggerEvent.AFTERSALE_CREATED), actions=[Approve()])
    assert dump([rule]) == (
        '[[rules]]\nid = "x"\nname = "x"\nenabled = false\npriority = 100\nstores = "all"\n'
        'trigger = { event = "aftersale.created" }\nactions = [\n  { type = "approve" },\n]\n'
    )
