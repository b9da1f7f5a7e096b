"""Benchmark: the rule evaluator, 100 rules on one event.

    python bench/rules.py [--rules 100] [--runs 5000]

Builds ``--rules`` enabled rules of the shapes merchants write — refund windows over order age,
amount and type (nested all / any / not), keyword tags, store-scoped variants — all on
``aftersale.created`` so every one is evaluated, then times :func:`desk.rules.evaluate.evaluate`
on one after-sale event with its facts, ``--runs`` times. Target (issue #9): p99 ≤ 2 ms.

Not measured here yet: push → ``acceptapply`` end to end and the 30-day dry-run (the issue's other
two figures); the JSON line carries them as null.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import log, percentile
from desk.rules.evaluate import Compiled, evaluate
from desk.rules.facts import AfterSaleFacts, BuyerFacts, Event, Facts, OrderFacts
from desk.rules.model import (
    Approve,
    Condition,
    Keywords,
    Range,
    Reject,
    Rule,
    TagBuyer,
    TimeWindow,
    Trigger,
    TriggerEvent,
)

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def make_rule(i: int, rng: random.Random) -> Rule:
    window = Condition(order_age_hours=Range(max=rng.choice([1, 2, 4, 8])))
    amount = Condition(refund_amount_fen=Range(max=rng.choice([5000, 20000, 50000])))
    kind = Condition(aftersale_type=[rng.choice(["REFUND", "RETURN"])])
    unshipped = Condition(not_=Condition(shipped=True))
    tags = Condition(any=[Condition(buyer_tag=["黑名单"]), Condition(buyer_aftersales_30d=Range(min=5))])
    evening = Condition(time_of_day=TimeWindow(start="18:00", end="23:00"))
    words = Condition(keywords=Keywords(words=["尺码", "物流", "退款"]))
    conditions = Condition(
        all=[kind, unshipped, window, amount, Condition(not_=tags), evening, words][: 3 + i % 5]
    )
    actions = [rng.choice([Approve(), Reject(reason_type=1)]), TagBuyer(tag=f"t{i}")]
    stores = "all" if i % 3 else ["wx-a", "wx-b"]
    return Rule(
        id=f"rule-{i}",
        name=f"规则 {i}",
        enabled=True,
        priority=i,
        stores=stores,
        trigger=Trigger(event=TriggerEvent.AFTERSALE_CREATED),
        conditions=conditions,
        actions=actions,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5000)
    args = parser.parse_args()
    rng = random.Random(9)
    rules = [Compiled(make_rule(i, rng)) for i in range(args.rules)]  # as the engine keeps them
    event = Event(trigger=TriggerEvent.AFTERSALE_CREATED, store_id=1, store_appid="wx-a")
    facts = Facts(
        now=NOW,
        order=OrderFacts(order_id="o", status=20, paid_at=NOW - dt.timedelta(hours=3), amount_fen=30000),
        aftersale=AfterSaleFacts(
            after_sale_order_id="a", type="REFUND", status="MERCHANT_PROCESSING", refund_amount_fen=30000
        ),
        buyer=BuyerFacts(tags=("老客",), aftersales_30d=1),
        message_text="请问尺码偏大吗",
    )
    for _ in range(200):  # warm up
        evaluate(rules, event, facts)
    timings = []
    for _ in range(args.runs):
        started = time.perf_counter()
        evaluation = evaluate(rules, event, facts)
        timings.append((time.perf_counter() - started) * 1000)
    matched = sum(o.matched for o in evaluation.outcomes)
    p50, p99 = percentile(timings, 0.5), percentile(timings, 0.99)
    log(
        f"{args.rules} rules, {len(evaluation.outcomes)} evaluated, {matched} matched: "
        f"p50 {p50:.3f} ms, p99 {p99:.3f} ms"
    )
    print(
        json.dumps(
            {
                "rules": args.rules,
                "runs": args.runs,
                "evaluate_p50_ms": round(p50, 3),
                "evaluate_p99_ms": round(p99, 3),
                "push_to_accept_p99_ms": None,
                "dry_run_s": None,
            }
        )
    )


if __name__ == "__main__":
    main()
