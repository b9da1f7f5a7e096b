"""Hypothesis strategies for valid rules (shared by the file and evaluator tests)."""

from __future__ import annotations

from hypothesis import strategies as st

from desk.rules.model import (
    Action,
    Approve,
    Assign,
    Condition,
    Handover,
    Keywords,
    NotifyAgents,
    Range,
    Reject,
    Reply,
    Rule,
    SendWecomCard,
    Stop,
    TagBuyer,
    TimeWindow,
    Trigger,
    TriggerEvent,
)

# TOML strings hold any Unicode scalar value (no lone surrogates).
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
words = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8)
plain_texts = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="{}"), min_size=1, max_size=30
)
numbers = st.one_of(st.integers(0, 10**9), st.floats(0, 1e9, allow_nan=False, allow_infinity=False))


@st.composite
def ranges(draw: st.DrawFn) -> Range:
    low, high = sorted([draw(numbers), draw(numbers)])
    which = draw(st.sampled_from(["min", "max", "both"]))
    return Range(
        min=low if which in {"min", "both"} else None,
        max=high if which in {"max", "both"} else None,
    )


times = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59))


@st.composite
def windows(draw: st.DrawFn) -> TimeWindow:
    start = draw(times)
    end = draw(times.filter(lambda t: t != start))
    return TimeWindow(start=start, end=end)


predicates = st.one_of(
    st.builds(lambda r: Condition(order_age_hours=r), ranges()),
    st.builds(
        lambda v: Condition(order_status=v), st.lists(st.sampled_from([10, 20, 21, 30, 100, 250]), min_size=1)
    ),
    st.builds(lambda v: Condition(shipped=v), st.booleans()),
    st.builds(lambda r: Condition(refund_amount_fen=r), ranges()),
    st.builds(lambda r: Condition(order_amount_fen=r), ranges()),
    st.builds(
        lambda v: Condition(aftersale_type=v),
        st.lists(st.sampled_from(["REFUND", "RETURN", "EXCHANGE"]), min_size=1, max_size=3),
    ),
    st.builds(lambda v: Condition(aftersale_reason=v), st.lists(words, min_size=1, max_size=3)),
    st.builds(lambda v: Condition(sku=v), st.lists(words, min_size=1, max_size=3)),
    st.builds(lambda v: Condition(product=v), st.lists(words, min_size=1, max_size=3)),
    st.builds(lambda v: Condition(store=v), st.lists(words, min_size=1, max_size=3)),
    st.builds(lambda v: Condition(buyer_tag=v), st.lists(words, min_size=1, max_size=3)),
    st.builds(
        lambda w, m: Condition(keywords=Keywords(words=w, match=m)),
        st.lists(words, min_size=1, max_size=3),
        st.sampled_from(["contains", "exact"]),
    ),
    st.builds(lambda w: Condition(time_of_day=w), windows()),
    st.builds(lambda v: Condition(weekday=v), st.lists(st.integers(1, 7), min_size=1, max_size=7)),
    st.builds(lambda v: Condition(in_service_hours=v), st.booleans()),
    st.builds(lambda r: Condition(buyer_aftersales_30d=r), ranges()),
)

conditions = st.recursive(
    predicates,
    lambda inner: st.one_of(
        st.builds(lambda c: Condition(all=c), st.lists(inner, min_size=1, max_size=4)),
        st.builds(lambda c: Condition(any=c), st.lists(inner, min_size=1, max_size=4)),
        st.builds(lambda c: Condition(not_=c), inner),
    ),
    max_leaves=8,
)

replies = st.builds(
    lambda parts: Reply(text="".join(parts)),
    st.lists(
        st.one_of(plain_texts, st.sampled_from(["{buyer_nickname}", "{order_id}", "{wait_seconds}"])),
        min_size=1,
        max_size=4,
    ),
)
conversation_actions: st.SearchStrategy[Action] = st.one_of(
    replies,
    st.builds(TagBuyer, tag=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=32)),
    st.builds(lambda a: Assign(agent=a), words),
    st.builds(lambda g: Assign(group=g), words),
    st.just(SendWecomCard()),
    st.just(Handover()),
    st.builds(NotifyAgents, text=plain_texts),
    st.just(Stop()),
)
decisions: st.SearchStrategy[Action] = st.one_of(
    st.just(Approve()), st.builds(Reject, reason_type=st.integers(0, 99), reason=texts)
)


@st.composite
def triggers(draw: st.DrawFn) -> Trigger:
    event = draw(st.sampled_from(list(TriggerEvent)))
    if event is TriggerEvent.CONVERSATION_WAITING:
        return Trigger(event=event, seconds=draw(st.integers(1, 3600)))
    return Trigger(event=event)


@st.composite
def rules(draw: st.DrawFn) -> Rule:
    trigger = draw(triggers())
    kinds = conversation_actions
    if trigger.event.startswith("aftersale."):
        kinds = st.one_of(conversation_actions, decisions)
    return Rule(
        id=draw(st.from_regex(r"\A[a-z0-9][a-z0-9_.-]{0,20}\Z")),
        name=draw(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30)),
        description=draw(texts),
        enabled=draw(st.booleans()),
        priority=draw(st.integers(0, 1_000_000)),
        stores=draw(st.one_of(st.just("all"), st.lists(words, min_size=1, max_size=3))),
        trigger=trigger,
        conditions=draw(st.one_of(st.none(), conditions)),
        actions=draw(st.lists(kinds, min_size=1, max_size=4)),
    )
