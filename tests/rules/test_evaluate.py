"""The pure evaluator: approvals come out exactly when every condition holds, never on unknowns."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from desk.rules.evaluate import evaluate
from desk.rules.facts import AfterSaleFacts, BuyerFacts, Event, Facts, OrderFacts
from desk.rules.files import load
from desk.rules.model import (
    Approve,
    Condition,
    Keywords,
    Range,
    Reject,
    Reply,
    Rule,
    Stop,
    TimeWindow,
    Trigger,
    TriggerEvent,
)

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)  # 20:00 in Shanghai, a Tuesday
STORE = "wx-store-a"

REFUND_RULE = """\
[[rules]]
id = "refund_unshipped"
name = "未发货仅退款 4 小时内自动同意"
enabled = true
priority = 10
stores = "all"
trigger = { event = "aftersale.created" }
conditions.all = [
  { aftersale_type = ["REFUND"] },
  { shipped = false },
  { order_age_hours = { max = 4 } },
  { refund_amount_fen = { max = 50000 } },
]
actions = [
  { type = "approve" },
]
"""


def refund_rule(**changes: Any) -> Rule:
    import msgspec

    (rule,) = load(REFUND_RULE, "test.toml")
    return msgspec.structs.replace(rule, **changes)


def aftersale_event(store: str = STORE, **changes: Any) -> Event:
    return Event(trigger=TriggerEvent.AFTERSALE_CREATED, store_id=1, store_appid=store, **changes)


def facts(
    *,
    paid_ago: dt.timedelta | None = dt.timedelta(hours=1),
    status: int = 20,
    refund: int = 10000,
    kind: str = "REFUND",
    now: dt.datetime = NOW,
    **changes: Any,
) -> Facts:
    order = OrderFacts(
        order_id="o1",
        status=status,
        paid_at=None if paid_ago is None else now - paid_ago,
        amount_fen=refund,
        sku_ids=("sku1",),
        product_ids=("p1",),
    )
    aftersale = AfterSaleFacts(
        after_sale_order_id="a1",
        type=kind,
        status="MERCHANT_PROCESSING",
        refund_amount_fen=refund,
        sku_id="sku1",
        product_id="p1",
    )
    base: dict[str, Any] = {"now": now, "order": order, "aftersale": aftersale, "buyer": BuyerFacts()}
    return Facts(**(base | changes))


def approvals(rules: list[Rule], event: Event, given_facts: Facts) -> list[str]:
    return [a.rule_id for a in evaluate(rules, event, given_facts).actions if isinstance(a.action, Approve)]


def test_paid_3h59m_ago_is_approved_and_4h01m_is_not() -> None:
    rule = refund_rule()
    assert approvals([rule], aftersale_event(), facts(paid_ago=dt.timedelta(hours=3, minutes=59))) == [
        "refund_unshipped"
    ]
    assert approvals([rule], aftersale_event(), facts(paid_ago=dt.timedelta(hours=4, minutes=1))) == []


def test_amount_exactly_at_the_limit_is_approved_one_fen_more_is_not() -> None:
    rule = refund_rule()
    assert approvals([rule], aftersale_event(), facts(refund=50000)) == ["refund_unshipped"]
    assert approvals([rule], aftersale_event(), facts(refund=50001)) == []


def test_a_store_outside_the_rules_scope_is_not_evaluated() -> None:
    rule = refund_rule(stores=["wx-store-b"])
    evaluation = evaluate([rule], aftersale_event(store=STORE), facts())
    assert evaluation.outcomes == []
    assert approvals([rule], aftersale_event(store="wx-store-b"), facts()) == ["refund_unshipped"]


def test_shipped_orders_returns_and_disabled_rules_are_not_approved() -> None:
    assert approvals([refund_rule()], aftersale_event(), facts(status=30)) == []
    assert approvals([refund_rule()], aftersale_event(), facts(kind="RETURN")) == []
    assert approvals([refund_rule(enabled=False)], aftersale_event(), facts()) == []


def test_the_outcome_records_each_condition_with_the_value_seen() -> None:
    (outcome,) = evaluate(
        [refund_rule()], aftersale_event(), facts(paid_ago=dt.timedelta(hours=4, minutes=1))
    ).outcomes
    assert not outcome.matched
    seen = {s.path: (s.held, s.value) for s in outcome.seen}
    assert seen["conditions.all[0].aftersale_type"] == (True, "REFUND")
    assert seen["conditions.all[1].shipped"] == (True, False)
    held, hours = seen["conditions.all[2].order_age_hours"]
    assert held is False
    assert abs(hours - 4 - 1 / 60) < 1e-9
    assert seen["conditions.all[3].refund_amount_fen"] == (True, 10000)


def test_an_unpaid_order_or_a_missing_order_never_approves_even_under_not() -> None:
    rule = refund_rule()
    assert approvals([rule], aftersale_event(), facts(paid_ago=None)) == []
    assert approvals([rule], aftersale_event(), facts(order=None)) == []
    negated = refund_rule(conditions=Condition(not_=Condition(shipped=True)))
    assert approvals([negated], aftersale_event(), facts(order=None)) == []
    assert approvals([negated], aftersale_event(), facts()) == ["refund_unshipped"]


def test_events_caused_by_a_rule_trigger_no_rules() -> None:
    assert (
        evaluate([refund_rule()], aftersale_event(caused_by_rule="refund_unshipped"), facts()).outcomes == []
    )


def test_the_first_decision_by_priority_wins_and_the_other_is_recorded() -> None:
    approve = refund_rule(id="approve", priority=20)
    reject = refund_rule(id="reject", priority=5, actions=[Reject(reason_type=1), Reply(text="已拒绝")])
    evaluation = evaluate([approve, reject], aftersale_event(), facts())
    assert [(a.rule_id, type(a.action).__name__) for a in evaluation.actions] == [
        ("reject", "Reject"),
        ("reject", "Reply"),
    ]
    assert [a.rule_id for a in evaluation.outcomes[1].superseded] == ["approve"]


def test_stop_ends_the_evaluation_after_its_rule() -> None:
    first = refund_rule(id="first", priority=1, actions=[Reply(text="好的"), Stop()])
    second = refund_rule(id="second", priority=2)
    evaluation = evaluate([second, first], aftersale_event(), facts())
    assert [o.rule_id for o in evaluation.outcomes] == ["first"]


def test_waiting_rules_fire_only_at_their_second() -> None:
    rule = Rule(
        id="placate",
        name="x",
        enabled=True,
        trigger=Trigger(event=TriggerEvent.CONVERSATION_WAITING, seconds=90),
        actions=[Reply(text="稍等")],
    )

    def waiting(seconds: int) -> Event:
        return Event(
            trigger=TriggerEvent.CONVERSATION_WAITING, store_id=1, store_appid=STORE, wait_seconds=seconds
        )

    assert len(evaluate([rule], waiting(90), facts()).actions) == 1
    assert evaluate([rule], waiting(60), facts()).actions == []


def test_time_of_day_wraps_midnight_in_the_stores_zone() -> None:
    night = Condition(time_of_day=TimeWindow(start="22:00", end="08:00"))
    rule = refund_rule(conditions=night)
    at_2330_shanghai = dt.datetime(2026, 12, 1, 15, 30, tzinfo=dt.UTC)
    at_2000_shanghai = NOW
    assert approvals([rule], aftersale_event(), facts(now=at_2330_shanghai)) == ["refund_unshipped"]
    assert approvals([rule], aftersale_event(), facts(now=at_2000_shanghai)) == []
    # The same instant in a store that keeps UTC is 12:00.
    assert approvals([rule], aftersale_event(), facts(now=at_2330_shanghai, timezone="UTC")) == []


def test_weekday_is_the_stores_local_day() -> None:
    monday_0100_shanghai = dt.datetime(2026, 11, 29, 17, 0, tzinfo=dt.UTC)  # Sunday in UTC
    rule = refund_rule(conditions=Condition(weekday=[1]))
    assert approvals([rule], aftersale_event(), facts(now=monday_0100_shanghai)) == ["refund_unshipped"]


def test_keywords_contains_and_exact() -> None:
    contains = Condition(keywords=Keywords(words=["尺码", "大小"]))
    exact = Condition(keywords=Keywords(words=["退款"], match="exact"))
    message = Event(trigger=TriggerEvent.MESSAGE_RECEIVED, store_id=1, store_appid=STORE)

    def tagged(condition: Condition, text: str | None) -> bool:
        rule = Rule(
            id="kw",
            name="kw",
            enabled=True,
            trigger=Trigger(event=TriggerEvent.MESSAGE_RECEIVED),
            conditions=condition,
            actions=[Reply(text="x")],
        )
        return bool(evaluate([rule], message, facts(message_text=text)).actions)

    assert tagged(contains, "这件衣服尺码偏大吗")
    assert not tagged(contains, "什么时候发货")
    assert tagged(exact, " 退款 ")
    assert not tagged(exact, "我要退款")
    assert not tagged(contains, None)


# --- the property: an approval comes out iff every condition holds ---------------------------------


def _within(bounds: Range, value: float) -> bool:
    return (bounds.min is None or bounds.min <= value) and (bounds.max is None or value <= bounds.max)


def oracle(condition: Condition, f: Facts, store: str) -> bool:
    """An independent, direct reading of each predicate over fully known facts."""
    assert f.order is not None
    assert f.aftersale is not None
    assert f.buyer is not None
    assert f.order.paid_at is not None
    if condition.all is not None:
        return all(oracle(c, f, store) for c in condition.all)
    if condition.any is not None:
        return any(oracle(c, f, store) for c in condition.any)
    if condition.not_ is not None:
        return not oracle(condition.not_, f, store)
    if condition.order_age_hours is not None:
        return _within(condition.order_age_hours, (f.now - f.order.paid_at) / dt.timedelta(hours=1))
    if condition.order_status is not None:
        return f.order.status in condition.order_status
    if condition.shipped is not None:
        return (f.order.status in (21, 30, 100)) is condition.shipped
    if condition.refund_amount_fen is not None:
        return _within(condition.refund_amount_fen, f.aftersale.refund_amount_fen)
    if condition.order_amount_fen is not None:
        return _within(condition.order_amount_fen, f.order.amount_fen)
    if condition.aftersale_type is not None:
        return f.aftersale.type in condition.aftersale_type
    if condition.store is not None:
        return store in condition.store
    if condition.buyer_tag is not None:
        return bool(set(f.buyer.tags) & set(condition.buyer_tag))
    if condition.buyer_aftersales_30d is not None:
        assert f.buyer.aftersales_30d is not None
        return _within(condition.buyer_aftersales_30d, f.buyer.aftersales_30d)
    raise AssertionError(condition)


limits = st.one_of(st.integers(0, 100_000), st.floats(0, 100_000, allow_nan=False))


@st.composite
def small_ranges(draw: st.DrawFn, top: int) -> Range:
    low, high = sorted([draw(st.integers(0, top)), draw(st.integers(0, top))])
    return draw(st.sampled_from([Range(min=low), Range(max=high), Range(min=low, max=high)]))


tags = st.sampled_from(["vip", "黑名单", "老客"])
leaf = st.one_of(
    st.builds(lambda r: Condition(order_age_hours=r), small_ranges(12)),
    st.builds(lambda v: Condition(order_status=v), st.lists(st.sampled_from([20, 21, 30, 100]), min_size=1)),
    st.builds(lambda v: Condition(shipped=v), st.booleans()),
    st.builds(lambda r: Condition(refund_amount_fen=r), small_ranges(100_000)),
    st.builds(lambda r: Condition(order_amount_fen=r), small_ranges(100_000)),
    st.builds(
        lambda v: Condition(aftersale_type=v), st.lists(st.sampled_from(["REFUND", "RETURN"]), min_size=1)
    ),
    st.builds(lambda v: Condition(store=v), st.lists(st.sampled_from(["wx-a", "wx-b"]), min_size=1)),
    st.builds(lambda v: Condition(buyer_tag=v), st.lists(tags, min_size=1)),
    st.builds(lambda r: Condition(buyer_aftersales_30d=r), small_ranges(5)),
)
trees = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.builds(lambda c: Condition(all=c), st.lists(inner, min_size=1, max_size=4)),
        st.builds(lambda c: Condition(any=c), st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda c: Condition(not_=c), inner),
    ),
    max_leaves=6,
)


@st.composite
def known_facts(draw: st.DrawFn) -> Facts:
    amount = draw(st.integers(0, 100_000))
    return Facts(
        now=NOW,
        order=OrderFacts(
            order_id="o",
            status=draw(st.sampled_from([20, 21, 30, 100])),
            paid_at=NOW - dt.timedelta(seconds=draw(st.integers(0, 12 * 3600))),
            amount_fen=draw(st.integers(amount, 100_000)),
        ),
        aftersale=AfterSaleFacts(
            after_sale_order_id="a",
            type=draw(st.sampled_from(["REFUND", "RETURN"])),
            status="MERCHANT_PROCESSING",
            refund_amount_fen=amount,
        ),
        buyer=BuyerFacts(
            tags=tuple(draw(st.lists(tags, max_size=2))), aftersales_30d=draw(st.integers(0, 5))
        ),
    )


@settings(max_examples=500, deadline=None)
@given(
    condition=trees,
    given_facts=known_facts(),
    store=st.sampled_from(["wx-a", "wx-b"]),
    scope=st.one_of(st.just("all"), st.lists(st.sampled_from(["wx-a", "wx-b"]), min_size=1)),
)
def test_an_approval_comes_out_iff_every_condition_holds(
    condition: Condition, given_facts: Facts, store: str, scope: Any
) -> None:
    rule = refund_rule(conditions=condition, stores=scope)
    event = Event(trigger=TriggerEvent.AFTERSALE_CREATED, store_id=1, store_appid=store)
    in_scope = scope == "all" or store in scope
    expected = in_scope and oracle(condition, given_facts, store)
    assert bool(approvals([rule], event, given_facts)) is expected


order_leaf = st.one_of(
    st.builds(lambda r: Condition(order_age_hours=r), small_ranges(12)),
    st.builds(lambda v: Condition(order_status=v), st.lists(st.sampled_from([20, 21, 30, 100]), min_size=1)),
    st.builds(lambda v: Condition(shipped=v), st.booleans()),
    st.builds(lambda r: Condition(order_amount_fen=r), small_ranges(100_000)),
)
order_trees = st.recursive(
    order_leaf,
    lambda inner: st.one_of(
        st.builds(lambda c: Condition(all=c), st.lists(inner, min_size=1, max_size=4)),
        st.builds(lambda c: Condition(any=c), st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda c: Condition(not_=c), inner),
    ),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(condition=order_trees, given_facts=known_facts())
def test_without_the_order_no_condition_over_it_approves(condition: Condition, given_facts: Facts) -> None:
    rule = refund_rule(conditions=condition)
    event = Event(trigger=TriggerEvent.AFTERSALE_CREATED, store_id=1, store_appid="wx-a")
    without = Facts(now=NOW, aftersale=given_facts.aftersale, buyer=given_facts.buyer)
    assert approvals([rule], event, without) == []
