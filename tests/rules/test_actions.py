"""The action registry covers every action a rule file may name; reply variables are filled."""

from __future__ import annotations

import datetime as dt

from desk.rules.actions import EXECUTORS, reply_text
from desk.rules.facts import AfterSaleFacts, BuyerFacts, Event, Facts
from desk.rules.gather import Gathered
from desk.rules.model import ACTION_TYPES, TriggerEvent


def test_every_action_has_an_executor_and_every_executor_an_action() -> None:
    assert set(EXECUTORS) == set(ACTION_TYPES)


def test_reply_variables_are_filled_and_missing_ones_left_empty() -> None:
    event = Event(trigger=TriggerEvent.AFTERSALE_CREATED, store_id=1, store_appid="wx")
    facts = Facts(
        now=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        store_name="旗舰店",
        buyer=BuyerFacts(nickname="小林"),
        aftersale=AfterSaleFacts(
            after_sale_order_id="A1", type="REFUND", status="MERCHANT_PROCESSING", refund_amount_fen=1
        ),
    )
    text = "{buyer_nickname}您好，{store_name}已收到售后 {after_sale_order_id}（订单 {order_id}）"
    assert reply_text(text, Gathered(event, facts, "")) == "小林您好，旗舰店已收到售后 A1（订单 ）"
