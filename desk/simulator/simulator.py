"""The simulator's Python API: set it up, serve it over HTTP, make buyers act, read the truth.

```python
sim = Simulator(seed=1, time_scale=0.01)
sim.add_store(demo_store(1, push_url="http://127.0.0.1:8000/webhooks/channels/k1"))
async with sim.serving() as base_url:          # the desk's clients use base_url
    order = sim.create_order(appid)             # pushes order events to the desk
    sim.buyer_says(appid, order.openid, "什么时候发货")
    await sim.drain()
    truth = sim.ground_truth()
```
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

import uvicorn

from desk.simulator import aftersales, chat, kf, orders, scenarios
from desk.simulator.api import ApiContext
from desk.simulator.clock import Clock, wall_clock
from desk.simulator.config import SimCorp, SimStore
from desk.simulator.errcodes import ApiError
from desk.simulator.faults import Faults
from desk.simulator.generate import make_postal_address
from desk.simulator.pushes import PushAttempt, PushDispatcher
from desk.simulator.scenarios import ScenarioReport
from desk.simulator.state import (
    ExternalContact,
    KfMessage,
    KfSent,
    PostalAddress,
    SentMessage,
    SimAfterSale,
    SimOrder,
    StoreState,
)
from desk.simulator.tokens import ROTATION_OVERLAP, TOKEN_TTL, TokenBook
from desk.simulator.truth import GroundTruth, snapshot
from desk.simulator.world import UnknownObjectError, World

if TYPE_CHECKING:
    from litestar import Litestar

__all__ = ["Simulator"]

log = logging.getLogger(__name__)


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside someone else's event loop: it must not take over the process's signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Simulator:
    """A fake WeChat platform (Channels stores and WeCom corps) for the desk's demo, tests and benchmarks.

    ``seed`` makes everything the simulator generates reproducible; ``time_scale`` multiplies
    the delays it waits for (push retries, scenario pacing, simulated buyers reacting): 1.0 is
    real time, 0.01 a hundred times faster, 0 at once. ``clock`` is where the platform's
    timestamps come from (see :class:`~desk.simulator.clock.ManualClock` for tests).
    ``token_ttl`` and ``token_overlap`` shorten access tokens' lives and their hand-over (7200 s
    and 300 s on the platform) for tests that watch several token lifetimes go by.
    """

    def __init__(
        self,
        seed: int = 1,
        time_scale: float = 1.0,
        faults: Faults | None = None,
        *,
        clock: Clock = wall_clock,
        push_concurrency: int = 32,
        push_timeout: float = 5.0,
        token_ttl: float = TOKEN_TTL,
        token_overlap: float = ROTATION_OVERLAP,
    ) -> None:
        if time_scale < 0:
            raise ValueError("time_scale must be ≥ 0")
        self.seed = seed
        self.time_scale = time_scale
        self.world = World(seed=seed, clock=clock, time_scale=time_scale)
        self.tokens = TokenBook(clock, ttl=token_ttl, overlap=token_overlap)
        self.dispatcher = PushDispatcher(
            clock, time_scale=time_scale, concurrency=push_concurrency, timeout=push_timeout, seed=seed
        )
        self.api = ApiContext(world=self.world, tokens=self.tokens, faults=faults or Faults())
        self.world.emit = self.dispatcher.enqueue
        self.world.schedule = self._schedule
        self.base_url: str | None = None
        self.scenario_runs = 0
        self.scenario_task: asyncio.Task[ScenarioReport] | None = None
        self.last_report: ScenarioReport | None = None
        self._reactions: set[asyncio.TimerHandle] = set()
        self._reactions_idle = asyncio.Event()
        self._reactions_idle.set()
        self._app: Litestar | None = None

    # -- configuration -----------------------------------------------------------------------

    @property
    def faults(self) -> Faults:
        return self.api.faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        self.api.faults = faults

    def add_store(self, store: SimStore) -> SimStore:
        self.world.add_store(store)
        return store

    def add_corp(self, corp: SimCorp) -> SimCorp:
        self.world.add_corp(corp)
        return corp

    @property
    def stores(self) -> list[SimStore]:
        return [s.config for s in self.world.stores.values()]

    @property
    def corps(self) -> list[SimCorp]:
        return [c.config for c in self.world.corps.values()]

    @property
    def app(self) -> Litestar:
        """The Litestar app serving the API and the buyer page (built once)."""
        if self._app is None:
            from desk.simulator.app import create_app

            self._app = create_app(self)
        return self._app

    # -- serving -------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def serving(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve the platform with uvicorn in this event loop; yields its base URL.

        ``port=0`` picks a free port. Pushes are delivered while serving; on exit, pushes not yet
        delivered and reactions not yet due are abandoned (``drain()`` first to wait for them).
        """
        # IPPROTO_TCP explicitly: asyncio turns Nagle off (TCP_NODELAY) only for sockets that say
        # they are TCP, and with Nagle on every small reply waits ~40 ms for a delayed ACK.
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        config = uvicorn.Config(
            self.app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="on",
            ws="none",
            timeout_graceful_shutdown=2,
        )
        server = _EmbeddedServer(config)
        task = asyncio.create_task(server.serve(sockets=[sock]), name="sim-uvicorn")
        try:
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("the simulator's server stopped while starting")
                await asyncio.sleep(0.01)
            bound_port = sock.getsockname()[1]
            self.base_url = f"http://{host if ':' not in host else f'[{host}]'}:{bound_port}"
            self.dispatcher.start()
            yield self.base_url
        finally:
            await self.aclose()
            server.should_exit = True
            await task
            sock.close()
            self.base_url = None

    async def aclose(self) -> None:
        """Stop the scenario, reactions and push delivery (what is still pending is dropped)."""
        if self.scenario_task is not None and not self.scenario_task.done():
            self.scenario_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.scenario_task
        for handle in self._reactions:
            handle.cancel()
        self._reactions.clear()
        self._reactions_idle.set()
        await self.dispatcher.stop()

    # -- time ----------------------------------------------------------------------------------

    def _schedule(self, delay: float, action: Callable[[], object]) -> None:
        """Run a simulated reaction (a buyer posting a return, a refund settling) after ``delay`` s."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # set up outside any event loop: react at once
            self._react(action, None)
            return

        def fire() -> None:
            self._react(action, handle)

        handle = loop.call_later(max(0.0, delay), fire)
        self._reactions.add(handle)
        self._reactions_idle.clear()

    def _react(self, action: Callable[[], object], handle: asyncio.TimerHandle | None) -> None:
        try:
            action()
        except (ApiError, UnknownObjectError) as exc:  # the world moved on meanwhile
            log.debug("simulated reaction skipped: %s", exc)
        finally:
            if handle is not None:
                self._reactions.discard(handle)
                if not self._reactions:
                    self._reactions_idle.set()

    async def drain(self, timeout: float = 60.0) -> None:  # noqa: ASYNC109 - the contract's signature
        """Wait until every push is acknowledged or given up and every pending reaction happened.

        Raises:
            TimeoutError: still busy after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"simulator still busy after {timeout} s: {self.dispatcher.pending} pushes, "
                    f"{len(self._reactions)} reactions pending"
                )
            if self._reactions:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._reactions_idle.wait(), remaining)
                continue
            await self.dispatcher.drain(max(remaining, 0.001))
            if not self._reactions and self.dispatcher.pending == 0:
                return

    # -- lookups -------------------------------------------------------------------------------

    def store_state(self, appid: str) -> StoreState:
        return self.world.store(appid)

    def order(self, appid: str, order_id: str) -> SimOrder:
        order = self.world.store(appid).orders.get(order_id)
        if order is None:
            raise UnknownObjectError(f"store {appid} has no order {order_id}")
        return order

    def aftersale(self, appid: str, after_sale_order_id: str) -> SimAfterSale:
        aftersale = self.world.store(appid).aftersales.get(after_sale_order_id)
        if aftersale is None:
            raise UnknownObjectError(f"store {appid} has no after-sale {after_sale_order_id}")
        return aftersale

    # -- buyers and orders ---------------------------------------------------------------------

    def new_buyer(self, appid: str) -> str:
        """A new buyer of the store; returns their openid."""
        return self.world.buyer(self.world.store(appid)).openid

    def create_order(
        self,
        appid: str,
        openid: str | None = None,
        *,
        items: list[tuple[str, int]] | None = None,
        paid: bool = True,
        order_scene: int | None = None,
    ) -> SimOrder:
        """A buyer (new when ``openid`` is None) orders ``items`` — (sku_id, count) — or random
        products, and pays at once unless ``paid=False``; the order's events are pushed."""
        store = self.world.store(appid)
        buyer = self.world.buyer(store, openid)
        return orders.create_order(
            self.world, store, buyer, rng=self.world.rng, items=items, paid=paid, order_scene=order_scene
        )

    def pay_order(self, appid: str, order_id: str) -> None:
        orders.pay_order(self.world, self.world.store(appid), self.order(appid, order_id))

    def ship_order(self, appid: str, order_id: str) -> None:
        orders.ship_order(self.world, self.world.store(appid), self.order(appid, order_id))

    def confirm_order(self, appid: str, order_id: str) -> None:
        orders.confirm_order(self.world, self.world.store(appid), self.order(appid, order_id))

    def cancel_order(self, appid: str, order_id: str, *, cancel_type: int = 1) -> None:
        orders.cancel_order(
            self.world, self.world.store(appid), self.order(appid, order_id), cancel_type=cancel_type
        )

    def request_address_change(
        self, appid: str, order_id: str, address: PostalAddress | None = None
    ) -> PostalAddress:
        """The buyer asks to ship the order elsewhere (a new random address unless given)."""
        order = self.order(appid, order_id)
        if address is None:
            address = make_postal_address(self.world.rng, order.address.user_name, order.address.tel_number)
        orders.buyer_requests_address_change(self.world, self.world.store(appid), order, address)
        return address

    # -- chat ----------------------------------------------------------------------------------

    def buyer_says(
        self,
        appid: str,
        openid: str,
        text: str | None = None,
        *,
        order_id: str | None = None,
        product_id: str | None = None,
        image_url: str | None = None,
    ) -> str:
        """The buyer writes to the store (text, or shares an order / a product / an image);
        returns the ``msg_id`` of the ``commkf_send_msg_to_kf`` push."""
        store = self.world.store(appid)
        buyer = self.world.buyer(store, openid)
        if order_id is not None:
            msg_type, payload = "order_share", {"order_share": {"order_id": order_id}}
        elif product_id is not None:
            msg_type, payload = "product_share", {"product_share": {"product_id": product_id}}
        elif image_url is not None:
            msg_type, payload = "image", {"image": {"cos_url": image_url}}
        elif text:
            msg_type, payload = "text", {"text": {"content": text}}
        else:
            raise ValueError("say something: text, order_id, product_id or image_url")
        return chat.buyer_says(self.world, store, buyer, msg_type, payload).msg_id

    def sent_messages(self, appid: str, openid: str | None = None) -> list[SentMessage]:
        """What the desk sent to the store's buyers (to ``openid`` only, if given)."""
        sent = self.world.store(appid).sent
        return [m for m in sent if openid is None or m.open_id == openid]

    # -- after-sales ---------------------------------------------------------------------------

    def open_aftersale(
        self,
        appid: str,
        order_id: str,
        type: str = "REFUND",
        reason: str = "NO_LONGER_WANT",
        *,
        reason_text: str | None = None,
        sku_id: str | None = None,
        count: int | None = None,
        desc: str | None = None,
    ) -> SimAfterSale:
        """The buyer applies for an after-sale (``REFUND``, ``RETURN``, ``EXCHANGE``) on the order."""
        store = self.world.store(appid)
        return aftersales.open_aftersale(
            self.world,
            store,
            self.order(appid, order_id),
            type=type,
            reason=reason,
            rng=self.world.rng,
            reason_text=reason_text,
            sku_id=sku_id,
            count=count,
            desc=desc,
        )

    def buyer_ships_return(self, appid: str, after_sale_order_id: str) -> None:
        """The buyer posts the goods back now (otherwise they do so a little after the agreement)."""
        aftersales.buyer_ships_return(
            self.world, self.world.store(appid), self.aftersale(appid, after_sale_order_id)
        )

    def buyer_cancels_aftersale(self, appid: str, after_sale_order_id: str) -> None:
        aftersales.buyer_cancels(
            self.world, self.world.store(appid), self.aftersale(appid, after_sale_order_id)
        )

    def buyer_complains(self, appid: str, after_sale_order_id: str) -> str:
        """The buyer disputes the rejection of their request now (纠纷); returns the complaint id.
        (Left alone, some rejected buyers do so a while after the rejection.)"""
        return aftersales.buyer_complains(
            self.world, self.world.store(appid), self.aftersale(appid, after_sale_order_id)
        )

    def close_complaint(self, appid: str, after_sale_order_id: str, status: int = 116) -> None:
        """The platform closes the dispute (116), or moves it to another ``complaint_status``."""
        aftersales.close_complaint(
            self.world, self.world.store(appid), self.aftersale(appid, after_sale_order_id), status
        )

    # -- WeCom ---------------------------------------------------------------------------------

    def kf_customer_says(
        self, corpid: str, open_kfid: str, external_userid: str | None, text: str
    ) -> KfMessage:
        """A customer (new when ``external_userid`` is None) writes to a kf account; the corp gets
        ``kf_msg_or_event`` and reads the message with ``sync_msg``."""
        return kf.customer_says(
            self.world,
            self.world.corp(corpid),
            open_kfid,
            text,
            rng=self.world.rng,
            external_userid=external_userid,
        )

    def kf_sent(self, corpid: str) -> list[KfSent]:
        """What the desk sent through ``kf/send_msg`` and ``kf/send_msg_on_event``."""
        return list(self.world.corp(corpid).sent)

    def add_external_contact(
        self, corpid: str, config_id: str, *, external_userid: str | None = None
    ) -> ExternalContact:
        """A buyer scans a 联系我 QR code: the corp gets ``change_external_contact`` with its state."""
        corp = self.world.corp(corpid)
        way = corp.contact_ways.get(config_id)
        if way is None:
            raise UnknownObjectError(f"corp {corpid} has no contact way {config_id}")
        customer = corp.customers.get(external_userid or "")
        person = customer.person if customer else self.world.new_person(self.world.rng)
        return kf.add_external_contact(
            self.world,
            corp,
            userid=way.users[0],
            person=person,
            state=way.state,
            external_userid=external_userid,
        )

    # -- scenarios, truth, pushes --------------------------------------------------------------

    async def run_scenario(
        self,
        name: str,
        *,
        duration_s: float | None = None,
        orders_per_minute: float | None = None,
        stores: list[str] | None = None,
    ) -> ScenarioReport:
        """Play ``quiet`` or ``live-burst``; returns once every event is generated (pushes keep
        flowing: ``drain()`` waits for them)."""
        self.scenario_runs += 1
        report = await scenarios.run_scenario(
            self.world,
            name,
            run_index=self.scenario_runs,
            duration_s=duration_s,
            orders_per_minute=orders_per_minute,
            stores=stores,
        )
        self.last_report = report
        return report

    def start_scenario(self, name: str, **options: Any) -> asyncio.Task[ScenarioReport]:
        """Run a scenario in the background (the index page's buttons); one at a time."""
        if self.scenario_task is not None and not self.scenario_task.done():
            raise RuntimeError("a scenario is already running")
        self.scenario_task = asyncio.create_task(
            self.run_scenario(name, **options), name=f"sim-scenario-{name}"
        )
        return self.scenario_task

    def ground_truth(self) -> GroundTruth:
        return snapshot(self.world.stores, self.world.corps)

    @property
    def push_log(self) -> list[PushAttempt]:
        """Every push attempt so far, oldest first."""
        return list(self.dispatcher.log)

    def drop_next_pushes(self, n: int) -> None:
        """Lose the next ``n`` pushes silently (the desk must reconcile to find what they said)."""
        self.dispatcher.drop_next(n)
