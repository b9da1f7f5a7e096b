"""After-sales (售后) and their state machine (spec §3).

Refund only (``REFUND``): the merchant accepts → the platform refunds (``PLATFORM_REFUNDING``,
then ``MERCHANT_REFUND_SUCCESS`` a moment later). Return and refund (``RETURN``): the first
accept agrees and needs a return ``address_id`` → ``USER_WAIT_RETURN``; the buyer posts the
parcel back → ``MERCHANT_WAIT_RECEIPT``; the second accept confirms receipt and refunds.
``EXCHANGE`` starts like a return and ends with ``acceptexchangereship`` (the new item's
waybill); its later statuses are undocumented [U]. A refund is refused with 10021059 when the
same order had one less than a minute ago. Every status change pushes
``channels_ec_aftersale_update`` from the platform's fixed openid.

A buyer whose request was rejected may raise a dispute (纠纷) with the platform within 7 days
(spec §3); some do, a while after the rejection. The dispute's status changes push
``channels_ec_complaint_update`` (``complaint_status`` 100 awaiting the merchant, 116 closed …).
"""

from __future__ import annotations

import random

from desk.simulator import data, orders
from desk.simulator.errcodes import (
    AFTERSALE_BAD_ID,
    AFTERSALE_NEGOTIATE_FIRST,
    AFTERSALE_NOT_FOUND,
    AFTERSALE_REFUND_TOO_OFTEN,
    AFTERSALE_RETURN_ADDRESS_INVALID,
    AFTERSALE_RETURN_ADDRESS_MISSING,
    AFTERSALE_WRONG_STATUS,
    INVALID_ARGS,
    ApiError,
)
from desk.simulator.generate import make_waybill
from desk.simulator.payloads import (
    AFTERSALE_EVENT_OPENID,
    AfterSaleStatusUpdate,
    AfterSaleUpdatePush,
    ComplaintStatusUpdate,
    ComplaintUpdatePush,
)
from desk.simulator.state import (
    AFTERSALE_TYPES,
    OrderLine,
    OrderStatus,
    SimAfterSale,
    SimOrder,
    StoreState,
)
from desk.simulator.world import World

__all__ = [
    "REFUND_INTERVAL",
    "accept",
    "buyer_answers_negotiation",
    "buyer_cancels",
    "buyer_complains",
    "buyer_ships_return",
    "close_complaint",
    "find_aftersale",
    "negotiate",
    "open_aftersale",
    "reject",
    "reship_exchange",
]

REFUND_INTERVAL = 60
"""Seconds between two refunds on one order (10021059) [V]."""
REVIEW_DEADLINE = 2 * 86400
RECEIPT_DEADLINE = 7 * 86400
MAX_APPLICATIONS_PER_ITEM = 5

# Simulated seconds before the buyer or the platform reacts to what the merchant did.
REFUND_SETTLES_AFTER = 3.0
BUYER_RETURNS_AFTER = 120.0
BUYER_ANSWERS_AFTER = 60.0

COMPLAINT_CHANCE = 0.3
"""Share of rejected buyers who raise a dispute."""
BUYER_COMPLAINS_AFTER = 600.0
COMPLAINT_WINDOW = 7 * 86400
"""Disputes open within 7 days after a rejection (spec §3)."""
COMPLAINT_AWAITING_MERCHANT = 100
COMPLAINT_CLOSED = 116
_REJECTED = frozenset({"MERCHANT_REJECT_REFUND", "MERCHANT_REJECT_RETURN"})

EXCHANGE_RESHIPPED = "USER_WAIT_CONFIRM"
"""Status after the merchant ships the replacement; exchange statuses are undocumented [U]."""


def find_aftersale(store: StoreState, after_sale_order_id: str) -> SimAfterSale:
    if not after_sale_order_id.isdigit():
        raise ApiError(AFTERSALE_BAD_ID, "invalid after_sale_order_id")
    aftersale = store.aftersales.get(after_sale_order_id)
    if aftersale is None:
        raise ApiError(AFTERSALE_NOT_FOUND, "after sale order not exist")
    return aftersale


def _push(world: World, store: StoreState, aftersale: SimAfterSale) -> None:
    payload = AfterSaleUpdatePush(
        ToUserName=store.config.gh_id,
        FromUserName=AFTERSALE_EVENT_OPENID,
        CreateTime=world.now(),
        MsgType="event",
        Event="channels_ec_aftersale_update",
        finder_shop_aftersale_status_update=AfterSaleStatusUpdate(
            status=aftersale.status,
            after_sale_order_id=aftersale.after_sale_order_id,
            order_id=aftersale.order_id,
        ),
    )
    world.push_channels(store, payload, ref=aftersale.after_sale_order_id, status=aftersale.status)


def _move(
    world: World, store: StoreState, aftersale: SimAfterSale, status: str, *, deadline: int = 0
) -> None:
    now = world.now()
    aftersale.status = status
    aftersale.deadline_at = now + deadline if deadline else 0
    aftersale.touch(now)
    order = store.orders.get(aftersale.order_id)
    if order is not None:
        order.touch(now)  # the order's after-sale summary changed with it
    _push(world, store, aftersale)


def _release_items(store: StoreState, aftersale: SimAfterSale) -> None:
    """A closed, unrefunded after-sale no longer holds its items."""
    order = store.orders.get(aftersale.order_id)
    line = order.line(aftersale.sku_id) if order else None
    if line is not None:
        line.on_aftersale_sku_cnt = max(0, line.on_aftersale_sku_cnt - aftersale.count)


def open_aftersale(
    world: World,
    store: StoreState,
    order: SimOrder,
    *,
    type: str,
    reason: str,
    rng: random.Random,
    reason_text: str | None = None,
    sku_id: str | None = None,
    count: int | None = None,
    desc: str | None = None,
) -> SimAfterSale:
    """The buyer applies for an after-sale on one line of a paid order.

    Refund only is possible before or after shipping; a return or an exchange only once the
    goods were shipped. Per item at most five applications and none open at a time.
    """
    if type not in AFTERSALE_TYPES:
        raise ApiError(INVALID_ARGS, f"unknown after-sale type {type!r}")
    allowed = (
        (OrderStatus.TO_SHIP, OrderStatus.PARTLY_SHIPPED, OrderStatus.SHIPPED, OrderStatus.COMPLETED)
        if type == "REFUND"
        else (OrderStatus.SHIPPED, OrderStatus.COMPLETED)
    )
    if order.status not in allowed:
        raise ApiError(AFTERSALE_WRONG_STATUS, f"order status {order.status} does not allow a {type} request")
    line = order.line(sku_id) if sku_id else None
    if line is None:
        line = next((item for item in order.lines if _available(item) > 0), None)
    if line is None or _available(line) <= 0:
        raise ApiError(AFTERSALE_WRONG_STATUS, "no item of this order is available for an after-sale")
    previous = [
        a for a in store.aftersales.values() if a.order_id == order.order_id and a.sku_id == line.sku_id
    ]
    if len(previous) >= MAX_APPLICATIONS_PER_ITEM:
        raise ApiError(AFTERSALE_WRONG_STATUS, "too many after-sale applications for this item")
    count = min(count or _available(line), _available(line))
    now = world.now()
    aftersale = SimAfterSale(
        after_sale_order_id=world.ids.numeric("aftersale"),
        order_id=order.order_id,
        appid=store.config.appid,
        openid=order.openid,
        unionid=order.unionid,
        type=type,
        status="MERCHANT_PROCESSING",
        reason=reason,
        reason_text=reason_text or data.AFTERSALE_REASONS.get(reason, "其它"),
        create_time=now,
        update_time=now,
        product_id=line.product_id,
        sku_id=line.sku_id,
        count=count,
        amount=(line.real_price - line.refunded_amount)
        * count
        // max(1, line.sku_cnt - line.finish_aftersale_sku_cnt),
        desc=desc if desc is not None else rng.choice(data.AFTERSALE_DESCRIPTIONS.get(reason, ("",))),
        receive_product=order.status in (OrderStatus.SHIPPED, OrderStatus.COMPLETED) and type != "REFUND",
        tel_number=order.address.tel_number,
        deadline_at=now + REVIEW_DEADLINE,
    )
    store.aftersales[aftersale.after_sale_order_id] = aftersale
    order.aftersale_ids.append(aftersale.after_sale_order_id)
    line.on_aftersale_sku_cnt += count
    order.touch(now)
    _push(world, store, aftersale)
    return aftersale


def _available(line: OrderLine) -> int:
    return line.sku_cnt - line.on_aftersale_sku_cnt - line.finish_aftersale_sku_cnt


def accept(
    world: World,
    store: StoreState,
    aftersale: SimAfterSale,
    *,
    address_id: str | None = None,
    accept_type: int | None = None,
) -> None:
    """``acceptapply``: agree to the request, or (second step of a return) confirm receipt and refund.

    ``accept_type`` 1 forces "agree to return", 2 forces "refund"; omitted, the step follows
    from the type and status.
    """
    if accept_type not in (None, 1, 2):
        raise ApiError(INVALID_ARGS, "accept_type must be 1 or 2")
    status, kind = aftersale.status, aftersale.type
    if status == "MERCHANT_PROCESSING" and kind == "REFUND" and accept_type in (None, 2):
        _refund(world, store, aftersale)
    elif status == "MERCHANT_PROCESSING" and kind in ("RETURN", "EXCHANGE") and accept_type in (None, 1):
        _agree_to_return(world, store, aftersale, address_id)
    elif status == "MERCHANT_WAIT_RECEIPT" and kind == "RETURN" and accept_type in (None, 2):
        _refund(world, store, aftersale)
    else:
        step = {1: "agree to return", 2: "refund", None: "accept"}[accept_type]
        raise ApiError(AFTERSALE_WRONG_STATUS, f"cannot {step} a {kind} after-sale in status {status}")


def _agree_to_return(
    world: World, store: StoreState, aftersale: SimAfterSale, address_id: str | None
) -> None:
    if not address_id:
        raise ApiError(AFTERSALE_RETURN_ADDRESS_MISSING, "address_id is required to agree to a return")
    address = store.addresses.get(address_id)
    if address is None or not address.recv_addr:
        raise ApiError(AFTERSALE_RETURN_ADDRESS_INVALID, "address_id is not a return address of this shop")
    aftersale.return_address_id = address_id
    _move(world, store, aftersale, "USER_WAIT_RETURN")
    world.later(BUYER_RETURNS_AFTER, lambda: buyer_ships_return(world, store, aftersale))


def _refund(world: World, store: StoreState, aftersale: SimAfterSale) -> None:
    now = world.clock()
    last = store.last_refund_at.get(aftersale.order_id)
    if last is not None and now - last < REFUND_INTERVAL:
        raise ApiError(AFTERSALE_REFUND_TOO_OFTEN, "refund too frequently, one refund per order per minute")
    store.last_refund_at[aftersale.order_id] = now
    aftersale.refund_reason = 3  # refunded through the API
    _move(world, store, aftersale, "PLATFORM_REFUNDING")

    def settled() -> None:
        if aftersale.status != "PLATFORM_REFUNDING":
            return
        _move(world, store, aftersale, "MERCHANT_REFUND_SUCCESS")
        order = store.orders.get(aftersale.order_id)
        line = order.line(aftersale.sku_id) if order else None
        if order is not None and line is not None:
            orders.record_refund(world, store, order, line, count=aftersale.count, amount=aftersale.amount)

    world.later(REFUND_SETTLES_AFTER, settled)


def reject(
    world: World,
    store: StoreState,
    aftersale: SimAfterSale,
    *,
    reject_reason_type: int,
    reject_reason: str | None,
) -> None:
    """``rejectapply``: refuse a request under review, or refuse a returned parcel on receipt."""
    known = {row[0]: row for row in data.REJECT_REASONS}
    if reject_reason_type not in known:
        raise ApiError(INVALID_ARGS, f"invalid reject_reason_type {reject_reason_type}")
    if aftersale.status == "MERCHANT_PROCESSING" and aftersale.negotiate_before_reject:
        raise ApiError(AFTERSALE_NEGOTIATE_FIRST, "must negotiate with the buyer before rejecting")
    if aftersale.status == "MERCHANT_PROCESSING":
        status = "MERCHANT_REJECT_REFUND" if aftersale.type == "REFUND" else "MERCHANT_REJECT_RETURN"
    elif aftersale.status == "MERCHANT_WAIT_RECEIPT":
        status = "MERCHANT_REJECT_RETURN"
    else:
        raise ApiError(AFTERSALE_WRONG_STATUS, f"cannot reject an after-sale in status {aftersale.status}")
    aftersale.reject_reason_type = reject_reason_type
    aftersale.reject_reason = reject_reason or known[reject_reason_type][2]
    _release_items(store, aftersale)
    _move(world, store, aftersale, status)
    # Drawn from the after-sale's own id, not the shared reaction stream: other reactions stay
    # as the seed has them.
    if random.Random(aftersale.after_sale_order_id).random() < COMPLAINT_CHANCE:  # noqa: S311 - a simulation
        world.later(BUYER_COMPLAINS_AFTER, lambda: _complain_if_still_rejected(world, store, aftersale))


def _complain_if_still_rejected(world: World, store: StoreState, aftersale: SimAfterSale) -> None:
    if aftersale.status in _REJECTED and not aftersale.complaint_id:
        buyer_complains(world, store, aftersale)


def _push_complaint(world: World, store: StoreState, aftersale: SimAfterSale) -> None:
    payload = ComplaintUpdatePush(
        ToUserName=store.config.gh_id,
        FromUserName=AFTERSALE_EVENT_OPENID,
        CreateTime=world.now(),
        MsgType="event",
        Event="channels_ec_complaint_update",
        finder_shop_complaint=ComplaintStatusUpdate(
            complaint_id=aftersale.complaint_id,
            after_sale_order_id=aftersale.after_sale_order_id,
            order_id=aftersale.order_id,
            complaint_status=aftersale.complaint_status,
        ),
    )
    world.push_channels(
        store, payload, ref=aftersale.complaint_id, status=f"complaint:{aftersale.complaint_status}"
    )


def buyer_complains(world: World, store: StoreState, aftersale: SimAfterSale) -> str:
    """The buyer disputes a rejection with the platform (纠纷); the complaint's id.

    Only a rejected request, within 7 days of its rejection, and once.
    """
    now = world.now()
    if aftersale.status not in _REJECTED or now - aftersale.update_time > COMPLAINT_WINDOW:
        raise ApiError(AFTERSALE_WRONG_STATUS, f"cannot dispute an after-sale in status {aftersale.status}")
    if aftersale.complaint_id:
        raise ApiError(AFTERSALE_WRONG_STATUS, "this after-sale is already disputed")
    aftersale.complaint_id = world.ids.numeric("complaint")
    aftersale.complaint_status = COMPLAINT_AWAITING_MERCHANT
    aftersale.touch(now)
    _push_complaint(world, store, aftersale)
    return aftersale.complaint_id


def close_complaint(
    world: World, store: StoreState, aftersale: SimAfterSale, status: int = COMPLAINT_CLOSED
) -> None:
    """The platform moves the dispute on (116 closed, 112 mediated …)."""
    if not aftersale.complaint_id:
        raise ApiError(AFTERSALE_WRONG_STATUS, "this after-sale has no dispute")
    aftersale.complaint_status = status
    aftersale.touch(world.now())
    _push_complaint(world, store, aftersale)


def negotiate(world: World, store: StoreState, aftersale: SimAfterSale, proposal: dict[str, object]) -> None:
    """``merchantupdateaftersale`` (协商): the buyer has to answer before anything else happens.

    The simulated buyer answers a minute later: invited to cancel, they do so six times in ten;
    asked for evidence, they provide it; offered a new amount, they take it.
    """
    if aftersale.status != "MERCHANT_PROCESSING":
        raise ApiError(AFTERSALE_WRONG_STATUS, f"cannot negotiate an after-sale in status {aftersale.status}")
    aftersale.negotiation = proposal
    _move(world, store, aftersale, "USER_WAIT_CONFIRM_UPDATE")
    world.later(BUYER_ANSWERS_AFTER, lambda: buyer_answers_negotiation(world, store, aftersale))


def buyer_answers_negotiation(world: World, store: StoreState, aftersale: SimAfterSale) -> None:
    if aftersale.status != "USER_WAIT_CONFIRM_UPDATE" or aftersale.negotiation is None:
        return
    proposal, aftersale.negotiation = aftersale.negotiation, None
    aftersale.negotiate_before_reject = False  # negotiated: a rejection is possible now
    kind = proposal.get("merchant_update_type")
    if kind == 1 and world.reaction_rng.random() < 0.6:
        _release_items(store, aftersale)
        _move(world, store, aftersale, "USER_CANCELD")
        return
    amount = proposal.get("amount")
    if kind == 3 and isinstance(amount, int) and 0 < amount <= aftersale.amount:
        aftersale.amount = amount
    _move(world, store, aftersale, "MERCHANT_PROCESSING", deadline=REVIEW_DEADLINE)


def buyer_ships_return(world: World, store: StoreState, aftersale: SimAfterSale) -> None:
    """The buyer posts the goods back (a return, or the item to exchange)."""
    if aftersale.status != "USER_WAIT_RETURN":
        return
    aftersale.return_waybill = make_waybill(world.reaction_rng)
    _move(world, store, aftersale, "MERCHANT_WAIT_RECEIPT", deadline=RECEIPT_DEADLINE)


def buyer_cancels(world: World, store: StoreState, aftersale: SimAfterSale) -> None:
    """The buyer withdraws a request that is still open (``USER_CANCELD``, the platform's spelling)."""
    if aftersale.status not in ("MERCHANT_PROCESSING", "USER_WAIT_RETURN", "USER_WAIT_CONFIRM_UPDATE"):
        raise ApiError(AFTERSALE_WRONG_STATUS, f"cannot cancel an after-sale in status {aftersale.status}")
    _release_items(store, aftersale)
    _move(world, store, aftersale, "USER_CANCELD")


def reship_exchange(
    world: World, store: StoreState, aftersale: SimAfterSale, waybill: tuple[str, str, str]
) -> None:
    """``acceptexchangereship``: the merchant received the item back and ships the replacement."""
    if aftersale.type != "EXCHANGE" or aftersale.status != "MERCHANT_WAIT_RECEIPT":
        raise ApiError(
            AFTERSALE_WRONG_STATUS, f"cannot reship a {aftersale.type} in status {aftersale.status}"
        )
    _release_items(store, aftersale)
    aftersale.exchange_waybill = waybill
    _move(world, store, aftersale, EXCHANGE_RESHIPPED)
