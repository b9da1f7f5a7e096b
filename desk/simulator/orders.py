"""Orders through their life — 10 unpaid → 20 to ship → 30 shipped → 100 completed, or 250/200 —
and the events each step pushes.

Events for one order arrive irregularly, as on the real platform: the duplicate
``product_order_status_update`` stream interleaves with ``channels_ec_order_*``, neighbours swap,
and ``channels_ec_order_pay`` is sometimes missing altogether (spec §5 reports an order that got
ext_info_update → product_order_status_update → order_new → wait_shipping → deliver and no pay).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from desk.simulator.errcodes import ORDER_NOT_FOUND, ORDER_WRONG_STATUS, ApiError
from desk.simulator.generate import make_waybill
from desk.simulator.payloads import OrderInfo, OrderPush, ProductOrderStatus, ProductOrderStatusPush
from desk.simulator.state import (
    Buyer,
    Delivery,
    OrderLine,
    OrderStatus,
    PostalAddress,
    SimOrder,
    StoreState,
)
from desk.simulator.world import World

__all__ = [
    "accept_address_change",
    "backfill_order",
    "buyer_requests_address_change",
    "cancel_order",
    "confirm_order",
    "create_order",
    "find_order",
    "merchant_changes_address",
    "pay_order",
    "record_refund",
    "reject_address_change",
    "ship_order",
]

PAY_EVENT_MISSING = 0.15
"""Share of payments that never get a ``channels_ec_order_pay`` push."""
EXT_INFO_FIRST = 0.3
"""Share of new orders whose first push is ``channels_ec_order_ext_info_update``."""
NEIGHBOUR_SWAP = 0.3
BUYER_CONFIRMS_ADDRESS_AFTER = 30.0
"""Simulated seconds before a buyer confirms an address the merchant changed."""

Step = Callable[[], None]


def find_order(store: StoreState, order_id: str) -> SimOrder:
    order = store.orders.get(order_id)
    if order is None:
        raise ApiError(ORDER_NOT_FOUND, "order not exist")
    return order


def _shuffled_lightly(rng: random.Random, steps: list[Step]) -> list[Step]:
    for i in range(len(steps) - 1):
        if rng.random() < NEIGHBOUR_SWAP:
            steps[i], steps[i + 1] = steps[i + 1], steps[i]
    return steps


def _send(world: World, store: StoreState, order: SimOrder, steps: list[Step]) -> None:
    for step in _shuffled_lightly(world.push_rng, steps):
        step()


def _event(world: World, store: StoreState, order: SimOrder, event: str, **info: int) -> Step:
    # Captured now, sent in the shuffled order: CreateTime and status are those of this change.
    payload = OrderPush(
        ToUserName=store.config.gh_id,
        FromUserName=order.openid,
        CreateTime=world.now(),
        MsgType="event",
        Event=event,
        order_info=OrderInfo(order_id=order.order_id, **info),
    )
    status = str(order.status)
    return lambda: world.push_channels(store, payload, ref=order.order_id, status=status)


def _status(world: World, store: StoreState, order: SimOrder) -> Step:
    payload = ProductOrderStatusPush(
        ToUserName=store.config.gh_id,
        FromUserName=order.openid,
        CreateTime=world.now(),
        MsgType="event",
        Event="product_order_status_update",
        ProductOrderStatusUpdate=ProductOrderStatus(order_id=order.order_id, status=order.status),
    )
    status = str(order.status)
    return lambda: world.push_channels(store, payload, ref=order.order_id, status=status)


def _pay_steps(world: World, store: StoreState, order: SimOrder) -> list[Step]:
    steps = []
    if world.push_rng.random() >= PAY_EVENT_MISSING:
        steps.append(_event(world, store, order, "channels_ec_order_pay", pay_time=order.pay_time))
    steps.append(_event(world, store, order, "channels_ec_order_wait_shipping"))
    return steps


def _lines(rng: random.Random, store: StoreState, items: Sequence[tuple[str, int]] | None) -> list[OrderLine]:
    if items is None:
        products = rng.sample(store.catalog, k=1 if rng.random() < 0.8 else min(2, len(store.catalog)))
        items = [(rng.choice(p.skus).sku_id, 1 if rng.random() < 0.85 else 2) for p in products]
    lines = []
    for sku_id, count in items:
        if sku_id not in store.skus:
            raise ValueError(f"store {store.config.appid} has no SKU {sku_id!r}")
        product, sku = store.skus[sku_id]
        lines.append(
            OrderLine(
                product_id=product.product_id,
                sku_id=sku.sku_id,
                title=product.title,
                thumb_img=product.thumb_img,
                sku_attrs=sku.attrs,
                sku_code=sku.sku_code,
                sku_cnt=count,
                sale_price=sku.price,
                real_price=sku.price * count,
            )
        )
    return lines


def create_order(
    world: World,
    store: StoreState,
    buyer: Buyer,
    *,
    rng: random.Random,
    items: Sequence[tuple[str, int]] | None = None,
    paid: bool = True,
    order_scene: int | None = None,
    created_at: int | None = None,
    notify: bool = True,
) -> SimOrder:
    """A buyer places an order (and, with ``paid``, pays at once, as most live-stream buyers do).

    ``items`` are (sku_id, count); random products of the store when omitted. A live-stream
    coupon takes 5–20 yuan off one order in four. ``created_at`` backdates the order (history
    from before the desk was connected); ``notify=False`` sends no push for it.
    """
    now = world.now() if created_at is None else created_at
    lines = _lines(rng, store, items)
    discount = 0
    if rng.random() < 0.25 and lines[0].real_price > 3000:
        discount = min(rng.choice((500, 1000, 1500, 2000)), lines[0].real_price // 3)
        lines[0].real_price -= discount
    order = SimOrder(
        order_id=world.ids.numeric("order"),
        appid=store.config.appid,
        openid=buyer.openid,
        unionid=buyer.person.unionid if store.config.unionid_bound else "",
        status=OrderStatus.UNPAID,
        create_time=now,
        update_time=now,
        lines=lines,
        address=buyer.person.address,
        virtual_number=buyer.person.virtual_number,
        order_scene=order_scene if order_scene is not None else rng.choice((1, 3, 4, 5)),
        discounted_price=discount,
        prepay_id="wx" + world.ids.hex("prepay", 30),
    )
    if rng.random() < 0.1:
        order.customer_notes = rng.choice(("请尽快发货", "送人的，不要放价格单", "放快递柜", "周末不在家"))
    store.orders[order.order_id] = order
    buyer.order_ids.append(order.order_id)
    buyer.last_activity = now
    steps: list[Step] = []
    if world.push_rng.random() < EXT_INFO_FIRST:
        steps.append(_event(world, store, order, "channels_ec_order_ext_info_update"))
    if paid:
        _mark_paid(world, order, now)
        steps += [_status(world, store, order), _event(world, store, order, "channels_ec_order_new")]
        steps += _pay_steps(world, store, order)
    else:
        steps += [_status(world, store, order), _event(world, store, order, "channels_ec_order_new")]
    if notify:
        _send(world, store, order, steps)
    return order


def backfill_order(
    world: World, store: StoreState, buyer: Buyer, *, rng: random.Random, created_at: int, completed: bool
) -> SimOrder:
    """An order from before the desk was connected: paid, shipped a day later, maybe received.

    No pushes: the platform sent them long ago. The desk learns of it from an after-sale or a
    chat that refers to it, or by reconciling with ``order/list/get``.
    """
    order = create_order(world, store, buyer, rng=rng, created_at=created_at, notify=False)
    order.pay_time = created_at + rng.randint(5, 120)
    ship_time = created_at + rng.randint(12 * 3600, 48 * 3600)
    waybill_id, delivery_id, delivery_name = make_waybill(rng)
    order.deliveries.append(
        Delivery(
            waybill_id=waybill_id,
            delivery_id=delivery_id,
            delivery_name=delivery_name,
            products=[(line.product_id, line.sku_id, line.sku_cnt) for line in order.lines],
            ship_time=ship_time,
        )
    )
    order.status = OrderStatus.SHIPPED
    order.update_time = ship_time
    if completed:
        order.status = OrderStatus.COMPLETED
        order.confirm_receipt_time = order.update_time = ship_time + rng.randint(2 * 86400, 5 * 86400)
    order.wire = None
    return order


def _mark_paid(world: World, order: SimOrder, now: int) -> None:
    order.status = OrderStatus.TO_SHIP
    order.pay_time = now
    order.transaction_id = f"4200{world.ids.numeric('transaction')}"
    order.touch(now)


def pay_order(world: World, store: StoreState, order: SimOrder) -> None:
    """The buyer pays an unpaid order: 10 → 20."""
    if order.status != OrderStatus.UNPAID:
        raise ApiError(ORDER_WRONG_STATUS, f"order status {order.status} cannot be paid")
    _mark_paid(world, order, world.now())
    _send(world, store, order, [_status(world, store, order), *_pay_steps(world, store, order)])


def ship_order(
    world: World,
    store: StoreState,
    order: SimOrder,
    *,
    waybill: tuple[str, str, str] | None = None,
    notify: bool = True,
) -> Delivery:
    """The merchant ships every line in one parcel: 20 → 30."""
    if order.status not in (OrderStatus.TO_SHIP, OrderStatus.PARTLY_SHIPPED):
        raise ApiError(ORDER_WRONG_STATUS, f"order status {order.status} cannot be shipped")
    now = world.now()
    waybill_id, delivery_id, delivery_name = waybill or make_waybill(world.reaction_rng)
    delivery = Delivery(
        waybill_id=waybill_id,
        delivery_id=delivery_id,
        delivery_name=delivery_name,
        products=[(line.product_id, line.sku_id, line.sku_cnt) for line in order.lines],
        ship_time=now,
    )
    order.deliveries.append(delivery)
    order.status = OrderStatus.SHIPPED
    order.address_under_review = None
    order.touch(now)
    if notify:
        steps = [
            _event(world, store, order, "channels_ec_order_deliver", finish_delivery=1),
            _status(world, store, order),
        ]
        _send(world, store, order, steps)
    return delivery


def confirm_order(world: World, store: StoreState, order: SimOrder, *, automatic: bool = False) -> None:
    """The buyer confirms receipt (or the platform does, after the deadline): 30 → 100."""
    if order.status != OrderStatus.SHIPPED:
        raise ApiError(ORDER_WRONG_STATUS, f"order status {order.status} cannot be confirmed")
    now = world.now()
    order.status = OrderStatus.COMPLETED
    order.confirm_receipt_time = now
    order.touch(now)
    confirm_type = 2 if automatic else 1
    steps = [
        _event(world, store, order, "channels_ec_order_confirm", confirm_type=confirm_type),
        _status(world, store, order),
    ]
    _send(world, store, order, steps)


def cancel_order(world: World, store: StoreState, order: SimOrder, *, cancel_type: int = 1) -> None:
    """An unpaid order is cancelled by the buyer (1) or by the payment timeout (2): 10 → 250."""
    if order.status != OrderStatus.UNPAID:
        raise ApiError(ORDER_WRONG_STATUS, f"order status {order.status} cannot be cancelled")
    now = world.now()
    order.status = OrderStatus.CANCELLED
    order.cancel_type = cancel_type
    order.touch(now)
    steps = [
        _event(world, store, order, "channels_ec_order_cancel", cancel_type=cancel_type),
        _status(world, store, order),
    ]
    _send(world, store, order, steps)


def record_refund(
    world: World, store: StoreState, order: SimOrder, line: OrderLine, *, count: int, amount: int
) -> None:
    """An after-sale refunded ``count`` of ``line``; once every item is refunded the order is 200."""
    now = world.now()
    line.on_aftersale_sku_cnt = max(0, line.on_aftersale_sku_cnt - count)
    line.finish_aftersale_sku_cnt = min(line.sku_cnt, line.finish_aftersale_sku_cnt + count)
    line.refunded_amount += amount
    order.touch(now)
    if all(item.finish_aftersale_sku_cnt >= item.sku_cnt for item in order.lines):
        order.status = OrderStatus.REFUNDED_CANCELLED
        order.cancel_type = 3
        order.address_under_review = None
        steps = [
            _event(world, store, order, "channels_ec_order_cancel", cancel_type=3),
            _status(world, store, order),
        ]
        _send(world, store, order, steps)


# -- address changes ---------------------------------------------------------------------------


def _require_unshipped(order: SimOrder) -> None:
    if order.status != OrderStatus.TO_SHIP:
        raise ApiError(
            ORDER_WRONG_STATUS, f"order status {order.status}: address can only change before shipping"
        )


def buyer_requests_address_change(
    world: World, store: StoreState, order: SimOrder, address: PostalAddress
) -> None:
    """The buyer asks to ship elsewhere; the merchant answers with ``addressmodify/accept|reject``.

    The platform's event for this is not documented [U]; the simulator sends
    ``channels_ec_order_ext_info_update`` so the desk re-reads the order and finds
    ``address_under_review``.
    """
    _require_unshipped(order)
    order.address_under_review = address
    order.touch(world.now())
    _send(world, store, order, [_event(world, store, order, "channels_ec_order_ext_info_update")])


def accept_address_change(world: World, order: SimOrder) -> None:
    if order.address_under_review is None:
        raise ApiError(ORDER_WRONG_STATUS, "no address change to review")
    _require_unshipped(order)
    order.address = order.address_under_review
    order.address_under_review = None
    order.touch(world.now())


def reject_address_change(world: World, order: SimOrder) -> None:
    if order.address_under_review is None:
        raise ApiError(ORDER_WRONG_STATUS, "no address change to review")
    order.address_under_review = None
    order.touch(world.now())


def merchant_changes_address(
    world: World, store: StoreState, order: SimOrder, address: PostalAddress
) -> None:
    """``order/address/update``: the new address applies once the buyer confirms, a little later."""
    _require_unshipped(order)

    def buyer_confirms() -> None:
        if order.status == OrderStatus.TO_SHIP:
            order.address = address
            order.touch(world.now())
            _send(world, store, order, [_event(world, store, order, "channels_ec_order_ext_info_update")])

    world.later(BUYER_CONFIRMS_ADDRESS_AFTER, buyer_confirms)
