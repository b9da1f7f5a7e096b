"""The simulated platform's state plus the hooks its rules use: clock, randomness, ids, pushes.

The domain modules (:mod:`.orders`, :mod:`.aftersales`, :mod:`.chat`, :mod:`.kf`) are functions
over a :class:`World`; the :class:`~desk.simulator.simulator.Simulator` wires its push
dispatcher and its scheduler in.

Randomness comes from separate streams so that what a seeded scenario generates does not depend
on what the desk does meanwhile: ``rng`` for content (scenarios, buyer page, Python API),
``reaction_rng`` for what simulated buyers do in response to the desk, ``push_rng`` for the
irregular order of events.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import msgspec

from desk.platform.crypto import MsgCrypt
from desk.simulator.clock import Clock
from desk.simulator.config import SimCorp, SimStore
from desk.simulator.generate import make_catalog, make_person, make_return_addresses
from desk.simulator.ids import IdFactory
from desk.simulator.payloads import ChannelsPush, wecom_xml
from desk.simulator.pushes import OutgoingPush
from desk.simulator.state import Buyer, CorpState, Person, StoreState

__all__ = ["UnknownObjectError", "World"]

SHARED_PERSON_SHARE = 0.15
"""Share of a store's new buyers who already bought at another store (same unionid)."""


def _run(action: Callable[[], object]) -> None:
    """Without a scheduler (a world outside any simulator) a reaction happens at once."""
    action()


class UnknownObjectError(LookupError):
    """A store, corp, buyer, order or after-sale that the simulator does not have."""


class World:
    """Stores, corps and people, and the means to change them and tell the desk."""

    def __init__(self, *, seed: int, clock: Clock, time_scale: float) -> None:
        self.seed = seed
        self.clock = clock
        self.time_scale = time_scale
        self.rng = random.Random(seed)  # noqa: S311 - simulation, not security
        self.reaction_rng = random.Random(f"{seed}:reactions")  # noqa: S311
        self.push_rng = random.Random(f"{seed}:push-order")  # noqa: S311
        self.ids = IdFactory(seed)
        self.stores: dict[str, StoreState] = {}
        self.corps: dict[str, CorpState] = {}
        self.persons: list[Person] = []
        self.crypts: dict[str, MsgCrypt] = {}
        self.emit: Callable[[OutgoingPush], None] = lambda _push: None
        self.schedule: Callable[[float, Callable[[], object]], None] = lambda _delay, fn: _run(fn)

    def now(self) -> int:
        return int(self.clock())

    # -- stores and corps ---------------------------------------------------------------------

    def add_store(self, config: SimStore) -> StoreState:
        """Open a store: a catalogue and two warehouse addresses, both stable for the seed."""
        if config.appid in self.stores:
            raise ValueError(f"store {config.appid} already added")
        index = len(self.stores) + 1
        content_rng = random.Random(f"{self.seed}:store:{index}")  # noqa: S311
        store = StoreState(
            config=config,
            index=index,
            catalog=make_catalog(content_rng, self.ids, index, config.category),
        )
        address_ids = [self.ids.numeric("address") for _ in range(2)]
        for address in make_return_addresses(content_rng, address_ids, config.name, self.now()):
            store.addresses[address.address_id] = address
        self.stores[config.appid] = store
        self.crypts[config.appid] = MsgCrypt(config.token, config.aes_key, config.appid)
        return store

    def add_corp(self, config: SimCorp) -> CorpState:
        if config.corpid in self.corps:
            raise ValueError(f"corp {config.corpid} already added")
        corp = CorpState(config=config)
        self.corps[config.corpid] = corp
        self.crypts[config.corpid] = MsgCrypt(config.token, config.aes_key, config.corpid)
        return corp

    def store(self, appid: str) -> StoreState:
        try:
            return self.stores[appid]
        except KeyError:
            raise UnknownObjectError(f"no simulated store with appid {appid!r}") from None

    def corp(self, corpid: str) -> CorpState:
        try:
            return self.corps[corpid]
        except KeyError:
            raise UnknownObjectError(f"no simulated corp with corpid {corpid!r}") from None

    # -- people -------------------------------------------------------------------------------

    def new_person(self, rng: random.Random) -> Person:
        person = make_person(rng, self.ids)
        self.persons.append(person)
        return person

    def buyer(
        self, store: StoreState, openid: str | None = None, *, rng: random.Random | None = None
    ) -> Buyer:
        """The store's buyer ``openid``, or a new one (sometimes a person known to another store)."""
        if openid is not None:
            try:
                return store.buyers[openid]
            except KeyError:
                raise UnknownObjectError(f"store {store.config.appid} has no buyer {openid!r}") from None
        rng = rng or self.rng
        person = None
        if self.persons and rng.random() < SHARED_PERSON_SHARE:
            candidate = rng.choice(self.persons)
            if not any(b.person is candidate for b in store.buyers.values()):
                person = candidate
        buyer = Buyer(
            openid=self.ids.openid(store.config.appid),
            person=person or self.new_person(rng),
            created_at=self.clock(),
        )
        store.buyers[buyer.openid] = buyer
        return buyer

    # -- pushes and later ---------------------------------------------------------------------

    def push_channels(self, store: StoreState, payload: ChannelsPush, *, ref: str, status: str = "") -> None:
        """Send a store event to the store's push URL (if it has one)."""
        url = store.config.push_url
        if not url:
            return
        self.emit(
            OutgoingPush(
                kind="channels",
                url=url,
                crypt=self.crypts[store.config.appid],
                to_user=store.config.gh_id,
                event=payload.Event,
                ref=ref,
                status=status,
                plaintext=msgspec.json.encode(payload),
                create_time=payload.CreateTime,
            )
        )

    def push_wecom(self, corp: CorpState, fields: dict[str, str | int], *, ref: str) -> None:
        """Send a WeCom callback (XML) to the corp's push URL (if it has one)."""
        url = corp.config.push_url
        if not url:
            return
        self.emit(
            OutgoingPush(
                kind="wecom",
                url=url,
                crypt=self.crypts[corp.config.corpid],
                to_user=corp.config.corpid,
                agent_id=corp.config.agent_id,
                event=str(fields.get("Event", "")),
                ref=ref,
                plaintext=wecom_xml(fields).encode(),
                create_time=int(fields.get("CreateTime", 0)),
            )
        )

    def later(self, sim_seconds: float, action: Callable[[], object]) -> None:
        """Run ``action`` after ``sim_seconds`` of simulated time (real delay × ``time_scale``)."""
        self.schedule(sim_seconds * self.time_scale, action)
