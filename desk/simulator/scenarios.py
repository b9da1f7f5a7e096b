"""Scenarios: a quiet afternoon, or a live stream that brings thousands of orders in minutes.

A scenario is a timeline of buyer actions in simulated seconds. It starts from a few arrivals
(orders at the profile's rate, pre-sale questions, after-sales on orders from before the desk
was connected, WeCom kf chats); each action may schedule follow-ups (pay, cancel, ask about the
order, ask for a refund, ship, confirm). Actions run in time order, each at
``start + t × time_scale`` in real time (all at once with ``time_scale=0``).

Everything is drawn from one random stream seeded from the simulator's seed, the scenario's name
and how many scenarios ran before, and actions run in a fixed order: the same seed gives the same
orders, after-sales and messages. An action the desk made impossible meanwhile (a refund on an
order it already refunded) is skipped and counted.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from desk.simulator import aftersales, catalog, chat, data, kf, orders
from desk.simulator.errcodes import ApiError
from desk.simulator.state import Buyer, OrderStatus, SimOrder, StoreState
from desk.simulator.world import World

__all__ = ["SCENARIOS", "ScenarioProfile", "ScenarioReport", "run_scenario"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ScenarioProfile:
    """The knobs of a scenario; rates per minute, shares in 0–1, times in simulated seconds."""

    name: str
    duration_s: float
    orders_per_minute: float
    live_share: float
    """Orders placed from a live stream (``order_scene`` 2)."""
    ramp_s: float
    """Seconds for the order rate to climb from a fifth to full (the stream warming up)."""
    unpaid_share: float
    """Orders not paid at once; most are paid within a minute or two, some time out."""
    aftersale_share: float
    """Orders — new and from before — that get an after-sale during the scenario."""
    chat_share: float
    """Buyers who ask about their order."""
    presale_per_minute: float
    history_share: float
    """Orders from before the desk was connected, relative to the scenario's expected orders."""
    ship_share: float
    ship_after: tuple[float, float]
    kf_per_minute: float


SCENARIOS: dict[str, ScenarioProfile] = {
    "quiet": ScenarioProfile(
        name="quiet",
        duration_s=600.0,
        orders_per_minute=3.0,
        live_share=0.1,
        ramp_s=0.0,
        unpaid_share=0.3,
        aftersale_share=0.25,
        chat_share=0.35,
        presale_per_minute=1.0,
        history_share=1.0,
        ship_share=0.6,
        ship_after=(60.0, 400.0),
        kf_per_minute=0.5,
    ),
    "live-burst": ScenarioProfile(
        name="live-burst",
        duration_s=300.0,
        orders_per_minute=600.0,
        live_share=0.92,
        ramp_s=45.0,
        unpaid_share=0.15,
        aftersale_share=0.25,
        chat_share=0.25,
        presale_per_minute=40.0,
        history_share=0.3,
        ship_share=0.0,
        ship_after=(0.0, 0.0),
        kf_per_minute=6.0,
    ),
}

# after-sales on orders not yet shipped, and on orders the buyer received
UNSHIPPED_REASONS = (
    ("NO_LONGER_WANT", 5),
    ("INCORRECT_SELECTION", 4),
    ("NOT_DELIVERED_TOO_LONG", 1),
    ("OTHERS", 1),
)
RECEIVED_REASONS = (
    ("QUALITY_ISSUE", 4),
    ("NOT_MATCH_PRODUCT_DESC", 3),
    ("SEND_WRONG_GOODS", 2),
    ("NO_REASON_7_DAYS", 3),
    ("NO_LONGER_WANT", 2),
    ("EMPTY_PACKAGE", 1),
    ("FAKE_PRODUCT", 1),
    ("THREE_NO_PRODUCT", 1),
    ("OTHERS", 1),
)
RECEIVED_TYPES = (("RETURN", 5), ("REFUND", 3), ("EXCHANGE", 2))
PACE_REFERENCE_S = 300.0
AFTERSALE_REMARKS = {
    "REFUND": "我要退款",
    "RETURN": "收到的东西有问题，我要退货",
    "EXCHANGE": "尺码不合适，能换一个吗",
}


@dataclass(slots=True)
class ScenarioReport:
    """What a scenario did."""

    name: str
    orders: int = 0
    aftersales: int = 0
    buyer_messages: int = 0
    kf_messages: int = 0
    skipped: int = 0
    history_orders: int = 0
    actions: int = 0
    wall_seconds: float = 0.0
    by_type: dict[str, int] = field(default_factory=dict)


def _weighted(rng: random.Random, options: Sequence[tuple[str, int]]) -> str:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


class _Run:
    """One scenario run: the timeline and the actions that fill it."""

    def __init__(
        self, world: World, profile: ScenarioProfile, stores: list[StoreState], rng: random.Random
    ) -> None:
        self.world = world
        self.profile = profile
        self.stores = stores
        self.rng = rng
        self.report = ScenarioReport(name=profile.name)
        self.history: list[tuple[StoreState, SimOrder]] = []
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self.now_t = 0.0
        # Follow-ups (pay, refund, ask) take minutes; a short scenario compresses them so that its
        # mix stays the same, and lets them run for half its length after the last arrival.
        self.pace = min(1.0, profile.duration_s / PACE_REFERENCE_S)
        self.end = profile.duration_s * 1.5
        """Simulated seconds since the start of the action being played."""
        # Live-stream shops are uneven: the first store sells the most.
        self._store_weights = [1.0 / (n + 1) for n in range(len(stores))]

    # -- the timeline -------------------------------------------------------------------------

    def at(self, t: float, action: Callable[[], None]) -> None:
        if t <= self.end:
            heapq.heappush(self._heap, (t, next(self._seq), action))

    def later(self, delay: float, action: Callable[[], None]) -> None:
        """A follow-up ``delay`` simulated seconds from now, compressed in short scenarios."""
        self.at(self.now_t + delay * self.pace, action)

    def _process(self, rate_per_minute: float, action: Callable[[], None], *, ramp: bool = False) -> None:
        """Schedule a Poisson stream of ``action`` at ``rate_per_minute`` (with the live ramp)."""
        if rate_per_minute <= 0:
            return
        t = 0.0
        while True:
            factor = 1.0
            if ramp and self.profile.ramp_s > 0:
                factor = 0.2 + 0.8 * min(1.0, t / self.profile.ramp_s)
            t += self.rng.expovariate(rate_per_minute / 60.0 * factor)
            if t > self.profile.duration_s:
                return
            self.at(t, action)

    async def play(self, time_scale: float) -> ScenarioReport:
        started = time.monotonic()
        while self._heap:
            t, _, action = heapq.heappop(self._heap)
            if time_scale > 0:
                delay = started + t * time_scale - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            elif self.report.actions % 20 == 0:
                await asyncio.sleep(0)  # let the server and the pushes breathe
            self.report.actions += 1
            self.now_t = t
            try:
                action()
            except ApiError as exc:
                self.report.skipped += 1
                log.debug("scenario action skipped: %s", exc)
        self.report.wall_seconds = time.monotonic() - started
        return self.report

    # -- the cast -----------------------------------------------------------------------------

    def _store(self) -> StoreState:
        return self.rng.choices(self.stores, weights=self._store_weights)[0]

    def _buyer(self, store: StoreState) -> Buyer:
        if store.buyers and self.rng.random() < 0.2:
            return store.buyers[self.rng.choice(list(store.buyers))]
        return self.world.buyer(store, rng=self.rng)

    def build(self) -> None:
        p = self.profile
        expected_orders = p.orders_per_minute * p.duration_s / 60.0
        self._backfill(math.ceil(expected_orders * p.history_share))
        self._process(p.orders_per_minute, self.new_order, ramp=p.ramp_s > 0)
        self._process(p.presale_per_minute, self.presale_question, ramp=p.ramp_s > 0)
        history_rate = len(self.history) * p.aftersale_share / max(p.duration_s / 60.0, 1e-9)
        self._process(history_rate, self.history_aftersale)
        if self.world.corps:
            self._process(p.kf_per_minute, self.kf_chat)

    def _backfill(self, count: int) -> None:
        now = self.world.now()
        for _ in range(count):
            store = self._store()
            days_ago = self.rng.uniform(2.0, 14.0)
            order = orders.backfill_order(
                self.world,
                store,
                self.world.buyer(store, rng=self.rng),
                rng=self.rng,
                created_at=int(now - days_ago * 86400),
                completed=days_ago > 8.0,
            )
            self.history.append((store, order))
        self.report.history_orders = count

    # -- actions ------------------------------------------------------------------------------

    def new_order(self) -> None:
        p, rng = self.profile, self.rng
        store = self._store()
        buyer = self._buyer(store)
        scene = 2 if rng.random() < p.live_share else rng.choice((1, 3, 4, 5))
        paid = rng.random() >= p.unpaid_share
        order = orders.create_order(self.world, store, buyer, rng=rng, paid=paid, order_scene=scene)
        self.report.orders += 1
        if not paid:
            if rng.random() < 0.8:
                self.later(rng.uniform(5, 90), lambda: self._pay(store, order))
            else:
                self.later(rng.uniform(60, 240), lambda: self._cancel(store, order))
        if rng.random() < p.chat_share:
            self.later(rng.uniform(10, 240), lambda: self.ask_about_order(store, buyer, order))
        if rng.random() < p.aftersale_share:  # after paying, whenever that is
            self.later(rng.uniform(100, 250), lambda: self.refund_before_shipping(store, order))
        elif paid and rng.random() < p.ship_share:
            self.later(rng.uniform(*p.ship_after), lambda: self._ship(store, order))
        if paid and rng.random() < 0.03:
            self.later(rng.uniform(30, 300), lambda: self.change_address(store, buyer, order))

    def _pay(self, store: StoreState, order: SimOrder) -> None:
        if order.status == OrderStatus.UNPAID:
            orders.pay_order(self.world, store, order)

    def _cancel(self, store: StoreState, order: SimOrder) -> None:
        if order.status == OrderStatus.UNPAID:
            orders.cancel_order(self.world, store, order, cancel_type=self.rng.choice((1, 2)))

    def _ship(self, store: StoreState, order: SimOrder) -> None:
        if order.status == OrderStatus.TO_SHIP:
            orders.ship_order(self.world, store, order)
            if self.rng.random() < 0.5:
                self.later(self.rng.uniform(60, 300), lambda: self._confirm(store, order))

    def _confirm(self, store: StoreState, order: SimOrder) -> None:
        if order.status == OrderStatus.SHIPPED:
            orders.confirm_order(self.world, store, order, automatic=self.rng.random() < 0.3)

    def _say(self, store: StoreState, buyer: Buyer, text: str) -> None:
        chat.buyer_says(self.world, store, buyer, "text", {"text": {"content": text}})
        self.report.buyer_messages += 1

    def _share_order(self, store: StoreState, buyer: Buyer, order: SimOrder) -> None:
        chat.buyer_says(
            self.world, store, buyer, "order_share", {"order_share": {"order_id": order.order_id}}
        )
        self.report.buyer_messages += 1

    def ask_about_order(self, store: StoreState, buyer: Buyer, order: SimOrder) -> None:
        """A buyer asks about their order, often sharing it first."""
        if self.rng.random() < 0.5:
            self._share_order(store, buyer, order)
        self._say(store, buyer, self.rng.choice(data.QUESTIONS_ABOUT_ORDER))
        if self.rng.random() < 0.3:  # and again, a little later, when nobody answered
            nudge = self.rng.choice(("在吗？", "？", "有人吗", "急！"))
            self.later(self.rng.uniform(30, 120), lambda: self._say(store, buyer, nudge))

    def presale_question(self) -> None:
        store = self._store()
        buyer = self._buyer(store)
        if self.rng.random() < 0.3:
            product = self.rng.choice(store.catalog)
            chat.buyer_says(
                self.world,
                store,
                buyer,
                "product_share",
                {"product_share": {"product_id": product.product_id}},
            )
            self.report.buyer_messages += 1
        self._say(store, buyer, self.rng.choice(catalog.presale_questions(store.config.category)))

    def refund_before_shipping(self, store: StoreState, order: SimOrder) -> None:
        if order.status not in (OrderStatus.TO_SHIP, OrderStatus.SHIPPED):
            return
        reason = _weighted(self.rng, UNSHIPPED_REASONS)
        self._open(store, order, "REFUND", reason)

    def history_aftersale(self) -> None:
        if not self.history:
            return
        store, order = self.rng.choice(self.history)
        kind = _weighted(self.rng, RECEIVED_TYPES)
        reason = (
            "SEND_WRONG_GOODS"
            if kind == "EXCHANGE" and self.rng.random() < 0.3
            else _weighted(self.rng, RECEIVED_REASONS)
        )
        self._open(store, order, kind, reason)

    def _open(self, store: StoreState, order: SimOrder, kind: str, reason: str) -> None:
        buyer = store.buyers[order.openid]
        if self.rng.random() < 0.4:  # many buyers say so in the chat too
            self._share_order(store, buyer, order)
            self._say(store, buyer, AFTERSALE_REMARKS[kind])
            if kind != "REFUND" and self.rng.random() < 0.5:  # with a photo of the problem
                photo = f"https://commkf-buyer.cos.ap-shanghai.myqcloud.com/{self.world.ids.hex('photo')}.jpg"
                chat.buyer_says(self.world, store, buyer, "image", {"image": {"cos_url": photo}})
                self.report.buyer_messages += 1
        aftersales.open_aftersale(self.world, store, order, type=kind, reason=reason, rng=self.rng)
        self.report.aftersales += 1
        self.report.by_type[kind] = self.report.by_type.get(kind, 0) + 1

    def change_address(self, store: StoreState, buyer: Buyer, order: SimOrder) -> None:
        if order.status != OrderStatus.TO_SHIP:
            return
        self._say(store, buyer, "地址写错了，能帮我改一下吗")
        new_address = replace(
            order.address, detail_info=order.address.detail_info.replace("栋", "幢", 1) + "（新）"
        )
        orders.buyer_requests_address_change(self.world, store, order, new_address)

    def kf_chat(self) -> None:
        corp = self.rng.choice(list(self.world.corps.values()))
        if not corp.config.kf_accounts:
            return
        open_kfid = self.rng.choice(corp.config.kf_accounts)
        known = [c for (k, c) in corp.sessions if k == open_kfid]
        external_userid = self.rng.choice(known) if known and self.rng.random() < 0.3 else None
        kf.customer_says(
            self.world,
            corp,
            open_kfid,
            self.rng.choice(data.KF_QUESTIONS),
            rng=self.rng,
            external_userid=external_userid,
        )
        self.report.kf_messages += 1


async def run_scenario(
    world: World,
    name: str,
    *,
    run_index: int,
    duration_s: float | None = None,
    orders_per_minute: float | None = None,
    stores: Sequence[str] | None = None,
) -> ScenarioReport:
    """Play scenario ``name`` on ``stores`` (default: all) and return what it did."""
    try:
        profile = SCENARIOS[name]
    except KeyError:
        raise ValueError(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}") from None
    if duration_s is not None:
        profile = replace(profile, duration_s=duration_s)
    if orders_per_minute is not None:
        profile = replace(profile, orders_per_minute=orders_per_minute)
    chosen = [world.store(appid) for appid in stores] if stores is not None else list(world.stores.values())
    if not chosen:
        raise ValueError("a scenario needs at least one store")
    rng = random.Random(f"{world.seed}:{name}:{run_index}")  # noqa: S311 - simulation
    run = _Run(world, profile, chosen, rng)
    run.build()
    return await run.play(world.time_scale)
