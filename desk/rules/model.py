"""Automation rules as data: typed msgspec Structs, the shape of every rule file and stored rule.

A rule is ``trigger → conditions → actions``. Conditions are a tree: ``all`` / ``any`` / ``not``
over typed predicates; each node names exactly one of them (a TOML table with one key, such as
``{ shipped = false }``). Actions are tagged by ``type``. Everything a rule can say is declared
here, so a rule that loads is one the evaluator understands; the checks msgspec cannot express
(one key per node, known reply variables, a sane time window) live in :func:`problems`.
"""

from __future__ import annotations

import enum
import re
from typing import Annotated, Literal

import msgspec

__all__ = [
    "ACTION_TYPES",
    "PREDICATES",
    "REPLY_VARIABLES",
    "TRIGGERS",
    "Action",
    "Approve",
    "Assign",
    "Condition",
    "Handover",
    "Keywords",
    "NotifyAgents",
    "Range",
    "Reject",
    "Reply",
    "Rule",
    "RuleFile",
    "SendWecomCard",
    "Stop",
    "TagBuyer",
    "TimeWindow",
    "Trigger",
    "TriggerEvent",
    "problems",
]


class TriggerEvent(enum.StrEnum):
    AFTERSALE_CREATED = "aftersale.created"
    AFTERSALE_UPDATED = "aftersale.updated"
    MESSAGE_RECEIVED = "message.received"
    CONVERSATION_WAITING = "conversation.waiting"
    """The buyer has waited ``seconds`` with no human reply."""
    ORDER_PAID = "order.paid"
    ORDER_SHIPPED = "order.shipped"
    BUYER_FIRST_CONSULTATION = "buyer.first_consultation"


TRIGGERS = frozenset(TriggerEvent)

_Id = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
_Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
_Text = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
_Hhmm = Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")]
_Weekday = Annotated[int, msgspec.Meta(ge=1, le=7)]
# A whole number stays one (``max = 4`` is written back as 4, not 4.0): the file round-trips exactly.
_NonNegative = Annotated[int, msgspec.Meta(ge=0)] | Annotated[float, msgspec.Meta(ge=0)]
_Seconds = Annotated[int, msgspec.Meta(ge=1, le=7 * 86400)]


class _Node(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    """A table in a rule file: unknown keys are errors (a typo must not silently match nothing)."""


class Trigger(_Node, frozen=True):
    event: TriggerEvent
    seconds: _Seconds | None = None
    """``conversation.waiting`` only: how long the buyer has waited."""


class Range(_Node, frozen=True):
    """An inclusive range; either end may be left open (``{ max = 4 }`` means at most 4)."""

    min: _NonNegative | None = None
    max: _NonNegative | None = None


class Keywords(_Node, frozen=True):
    words: Annotated[list[Annotated[str, msgspec.Meta(min_length=1)]], msgspec.Meta(min_length=1)]
    match: Literal["contains", "exact"] = "contains"
    """``contains``: any word appears in the message; ``exact``: the message is one of the words."""


class TimeWindow(_Node, frozen=True):
    """Local time of day (the store's zone, Asia/Shanghai by default), ``start`` ≤ t < ``end``.

    A window whose end is before its start wraps midnight (``22:00`` → ``08:00``).
    """

    start: _Hhmm
    end: _Hhmm


_Strings = Annotated[list[Annotated[str, msgspec.Meta(min_length=1)]], msgspec.Meta(min_length=1)]


class Condition(_Node, frozen=True):
    """One node of the condition tree: exactly one field is set."""

    all: list[Condition] | None = None
    any: list[Condition] | None = None
    not_: Condition | None = msgspec.field(default=None, name="not")
    order_age_hours: Range | None = None
    """Hours since the order was paid."""
    order_status: Annotated[list[int], msgspec.Meta(min_length=1)] | None = None
    """The order's platform status is one of these (spec §2: 20 to ship, 30 shipped, …)."""
    shipped: bool | None = None
    """Whether any of the order has left the warehouse (status 21, 30 or 100)."""
    refund_amount_fen: Range | None = None
    """The after-sale's refund amount, in fen."""
    order_amount_fen: Range | None = None
    """What the buyer paid for the order, in fen."""
    aftersale_type: list[Literal["REFUND", "RETURN", "EXCHANGE"]] | None = None
    aftersale_reason: _Strings | None = None
    """The platform's reason code (``QUALITY_ISSUE``, …) or its text (``质量问题``)."""
    sku: _Strings | None = None
    """The after-sale's SKU, or any of the order's SKUs."""
    product: _Strings | None = None
    store: _Strings | None = None
    """The store's appid is one of these."""
    buyer_tag: _Strings | None = None
    """The buyer carries any of these tags."""
    keywords: Keywords | None = None
    time_of_day: TimeWindow | None = None
    weekday: Annotated[list[_Weekday], msgspec.Meta(min_length=1)] | None = None
    """ISO weekdays, 1 Monday … 7 Sunday, in the store's zone."""
    in_service_hours: bool | None = None
    buyer_aftersales_30d: Range | None = None
    """The buyer's after-sales in this store over the last 30 days (this one included)."""


PREDICATES: tuple[str, ...] = tuple(
    f.encode_name for f in msgspec.structs.fields(Condition) if f.encode_name not in {"all", "any", "not"}
)
"""Every predicate a condition may name, in declaration order."""


class _Action(_Node, frozen=True, tag_field="type"):
    pass


class Approve(_Action, frozen=True, tag="approve"):
    """Approve the after-sale; a return goes back to the address bound to its SKU (一货一址)."""


class Reject(_Action, frozen=True, tag="reject"):
    reason_type: Annotated[int, msgspec.Meta(ge=0)]
    """The platform's ``reject_reason_type`` (``aftersale/rejectreason/get``)."""
    reason: str = ""


class Reply(_Action, frozen=True, tag="reply"):
    """Send the buyer a text; ``{name}`` variables are filled in (see ``REPLY_VARIABLES``)."""

    text: _Text


class TagBuyer(_Action, frozen=True, tag="tag_buyer"):
    tag: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]


class Assign(_Action, frozen=True, tag="assign"):
    """Hand the conversation to one agent (username) or to a group; exactly one is given."""

    agent: str = ""
    group: str = ""


class SendWecomCard(_Action, frozen=True, tag="send_wecom_card"):
    """Send the buyer the link to add the brand's WeCom staff (联系我)."""


class Handover(_Action, frozen=True, tag="handover_wecom"):
    """Hand the buyer over to WeCom staff (not connected yet: the outcome says so)."""


class NotifyAgents(_Action, frozen=True, tag="notify_agents"):
    text: _Text


class Stop(_Action, frozen=True, tag="stop"):
    """Later rules (by priority) are not evaluated for this event."""


Action = Approve | Reject | Reply | TagBuyer | Assign | SendWecomCard | Handover | NotifyAgents | Stop
ACTION_TYPES: tuple[str, ...] = tuple(str(cls.__struct_config__.tag) for cls in Action.__args__)

REPLY_VARIABLES = frozenset(
    {"buyer_nickname", "store_name", "order_id", "after_sale_order_id", "wait_seconds"}
)
"""What a reply's ``{…}`` may name; anything else is an error when the rule is loaded."""


class Rule(_Node, frozen=True, kw_only=True):
    id: _Id
    name: _Name
    description: str = ""
    enabled: bool = False
    priority: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] = 100
    """Lower runs first; the first after-sale decision on an event wins."""
    stores: (
        Literal["all"]
        | Annotated[list[Annotated[str, msgspec.Meta(min_length=1)]], msgspec.Meta(min_length=1)]
    ) = "all"
    """``"all"``, or the appids of the stores it applies to."""
    trigger: Trigger
    conditions: Condition | None = None
    """None: the trigger alone decides."""
    actions: Annotated[list[Action], msgspec.Meta(min_length=1)]


class RuleFile(_Node, frozen=True):
    rules: list[Rule]


_VARIABLE = re.compile(r"\{([^{}]*)\}")


def _condition_problems(node: Condition, path: str) -> list[tuple[str, str]]:
    set_fields = [
        f.encode_name for f in msgspec.structs.fields(Condition) if getattr(node, f.name) is not None
    ]
    if len(set_fields) != 1:
        what = ", ".join(set_fields) if set_fields else "nothing"
        return [(path, f"a condition names exactly one of all, any, not or a predicate (found {what})")]
    (key,) = set_fields
    found: list[tuple[str, str]] = []
    if key in {"all", "any"}:
        children: list[Condition] = getattr(node, key)
        if not children:
            found.append((f"{path}.{key}", "expected at least one condition"))
        for i, child in enumerate(children):
            found += _condition_problems(child, f"{path}.{key}[{i}]")
    elif key == "not":
        assert node.not_ is not None
        found += _condition_problems(node.not_, f"{path}.not")
    else:
        value = getattr(node, key)
        if isinstance(value, Range):
            if value.min is None and value.max is None:
                found.append((f"{path}.{key}", "a range needs min, max or both"))
            elif value.min is not None and value.max is not None and value.min > value.max:
                found.append((f"{path}.{key}", "min is greater than max: the rule can never match"))
        if isinstance(value, TimeWindow) and value.start == value.end:
            found.append((f"{path}.{key}", "start equals end: the window is empty"))
    return found


def _action_problems(action: Action, path: str) -> list[tuple[str, str]]:
    if isinstance(action, Reply):
        unknown = sorted(set(_VARIABLE.findall(action.text)) - REPLY_VARIABLES)
        if unknown:
            known = ", ".join(sorted(REPLY_VARIABLES))
            return [(f"{path}.text", f"unknown variable {{{unknown[0]}}} (known: {known})")]
    if isinstance(action, Assign) and bool(action.agent) == bool(action.group):
        return [(path, "assign names exactly one of agent or group")]
    return []


def problems(rule: Rule, path: str) -> list[tuple[str, str]]:
    """What is wrong with a rule that has the right shape, as ``(path, message)`` pairs."""
    found: list[tuple[str, str]] = []
    waiting = rule.trigger.event is TriggerEvent.CONVERSATION_WAITING
    if waiting and rule.trigger.seconds is None:
        found.append((f"{path}.trigger.seconds", "conversation.waiting needs seconds"))
    if not waiting and rule.trigger.seconds is not None:
        found.append((f"{path}.trigger.seconds", "only conversation.waiting takes seconds"))
    decides = [i for i, a in enumerate(rule.actions) if isinstance(a, Approve | Reject)]
    if decides and not rule.trigger.event.startswith("aftersale."):
        # An approval needs an after-sale to approve: refuse it rather than let it match nothing.
        found.append((f"{path}.actions[{decides[0]}]", "approve and reject need an aftersale.* trigger"))
    if rule.conditions is not None:
        found += _condition_problems(rule.conditions, f"{path}.conditions")
    for i, action in enumerate(rule.actions):
        found += _action_problems(action, f"{path}.actions[{i}]")
    return found
