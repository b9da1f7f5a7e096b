"""Rules that load but deserve a second look: never matching, contradicting each other."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from desk.cli import main
from desk.rules.files import load
from desk.rules.warnings import warnings_for

APPROVE = """\
[[rules]]
id = "approve-small"
name = "小额同意"
enabled = true
priority = 10
stores = "all"
trigger = { event = "aftersale.created" }
conditions.all = [
  { aftersale_type = ["REFUND"] },
  { refund_amount_fen = { max = 50000 } },
]
actions = [
  { type = "approve" },
]
"""
REJECT = """\
[[rules]]
id = "reject-blacklisted"
name = "黑名单拒绝"
enabled = true
priority = 5
stores = ["wx-a"]
trigger = { event = "aftersale.created" }
conditions.buyer_tag = ["黑名单"]
actions = [
  { type = "reject", reason_type = 1 },
]
"""


def test_two_enabled_rules_that_approve_and_reject_the_same_event_are_warned() -> None:
    rules = load(APPROVE + "\n" + REJECT, "x.toml")
    assert warnings_for(rules) == [
        (
            0,
            "rules[0]",
            "approves what 'reject-blacklisted' rejects on the same event: "
            "'reject-blacklisted' runs first (priority 5) and decides",
        )
    ]


def test_no_warning_when_stores_do_not_overlap_or_one_is_disabled() -> None:
    approve_b = APPROVE.replace('stores = "all"', 'stores = ["wx-b"]')  # the reject is for wx-a only
    assert warnings_for(load(approve_b + "\n" + REJECT, "x.toml")) == []
    disabled = REJECT.replace("enabled = true", "enabled = false")
    assert warnings_for(load(APPROVE + "\n" + disabled, "x.toml")) == []


def test_a_rule_that_can_never_match_is_warned() -> None:
    never = APPROVE.replace(
        '{ aftersale_type = ["REFUND"] },',
        '{ aftersale_type = ["REFUND"] },\n  { aftersale_type = ["RETURN"] },',
    )
    assert warnings_for(load(never, "x.toml")) == [
        (
            0,
            "rules[0].conditions.all",
            "asks for after-sale types that exclude each other: the rule can never match",
        )
    ]
    ranges = APPROVE.replace('{ aftersale_type = ["REFUND"] },', "{ refund_amount_fen = { min = 60000 } },")
    assert warnings_for(load(ranges, "x.toml"))[0][2].startswith("asks for refund_amount_fen ranges")
    shipped = APPROVE.replace(
        '{ aftersale_type = ["REFUND"] },', "{ shipped = true },\n  { shipped = false },"
    )
    assert "shipped = true and shipped = false" in warnings_for(load(shipped, "x.toml"))[0][2]
    assert warnings_for(load(APPROVE, "x.toml")) == []


def test_check_prints_warnings_and_still_succeeds(tmp_path: Path) -> None:
    path = tmp_path / "both.toml"
    path.write_text(APPROVE + "\n" + REJECT, encoding="utf-8")
    result = CliRunner().invoke(main, ["rules", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert f"{path}: warning: rules[0]: approves what 'reject-blacklisted' rejects" in result.output
    assert f"{path}: 2 rules, all valid" in result.output
