"""What a rule is evaluated against: the event that happened and the facts the desk knows then.

Plain Structs with no database behind them, so that the evaluator is a pure function and the
same facts can be rebuilt from history (a dry-run) or generated (the property tests). A fact the
desk does not know is ``None``: a condition over it is *unknown*, never true.
"""

from __future__ import annotations

import datetime as dt

import msgspec

from desk.rules.model import TriggerEvent

__all__ = ["AfterSaleFacts", "BuyerFacts", "Event", "Facts", "OrderFacts"]


class OrderFacts(msgspec.Struct, frozen=True, kw_only=True):
    order_id: str
    status: int
    """The platform's order status (spec §2)."""
    paid_at: dt.datetime | None
    amount_fen: int
    """What the buyer paid (``order_price``)."""
    sku_ids: tuple[str, ...] = ()
    product_ids: tuple[str, ...] = ()


class AfterSaleFacts(msgspec.Struct, frozen=True, kw_only=True):
    after_sale_order_id: str
    type: str
    """REFUND, RETURN or EXCHANGE."""
    status: str
    reason: str = ""
    reason_text: str = ""
    refund_amount_fen: int
    sku_id: str = ""
    product_id: str = ""


class BuyerFacts(msgspec.Struct, frozen=True, kw_only=True):
    nickname: str = ""
    tags: tuple[str, ...] = ()
    aftersales_30d: int | None = None
    """The buyer's after-sales in this store over the last 30 days (None: not counted)."""


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """A trigger as the engine records it."""

    trigger: TriggerEvent
    store_id: int
    store_appid: str
    wait_seconds: int | None = None
    """``conversation.waiting``: how long the buyer had waited when the timer fired."""
    caused_by_rule: str = ""
    """The rule whose action caused this change, if any: such events trigger no rules (loop guard)."""


class Facts(msgspec.Struct, frozen=True, kw_only=True):
    now: dt.datetime
    """The evaluation instant (timezone-aware)."""
    timezone: str = "Asia/Shanghai"
    """The store's zone, for time-of-day and weekday windows."""
    store_name: str = ""
    order: OrderFacts | None = None
    aftersale: AfterSaleFacts | None = None
    buyer: BuyerFacts | None = None
    message_text: str | None = None
    """The buyer's message (``message.received``)."""
    in_service_hours: bool | None = None
