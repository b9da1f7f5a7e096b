"""Each simulated store sells what its name (or its config) says, and its buyers ask about that."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from desk.demo import DEMO_STORES
from desk.simulator import ManualClock, SimStore, Simulator, demo_store
from desk.simulator.catalog import CATEGORY_NAMES, category_for_name, category_questions, products
from desk.simulator.data import CATEGORIES, GENERAL_CATEGORY, STORE_NAMES
from tests.simulator.support import channels_token

KEYWORD_CHARS = {c for spec in CATEGORIES.values() for k in spec.keywords for c in k}


def titles(category: str) -> set[str]:
    return {title for (title, _), _ in products(category)}


def store_named(name: str, n: int = 1, category: str = "") -> SimStore:
    """A store configured as ``desk demo`` configures one: credentials and the name it has in the desk."""
    made = demo_store(n)
    return SimStore(
        appid=made.appid,
        secret=made.secret,
        token=made.token,
        aes_key=made.aes_key,
        name=name,
        category=category,
    )


def test_the_demo_stores_sell_what_their_names_say() -> None:
    fashion, outdoor, baby = (store_named(name).category for name in DEMO_STORES)
    assert (fashion, outdoor, baby) == ("fashion", "outdoor", "baby")


def test_every_shop_name_the_simulator_makes_up_has_its_goods() -> None:
    assert all(category_for_name(name) != GENERAL_CATEGORY for name in STORE_NAMES)


def test_a_category_in_the_config_wins_over_the_name() -> None:
    assert store_named("萌宝母婴好物", category="outdoor").category == "outdoor"
    assert store_named("wx0123456789").category == GENERAL_CATEGORY


def test_an_unknown_category_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"unknown store category 'toys'.*baby, fashion"):
        store_named("玩具店", category="toys")


def test_every_category_has_enough_goods_for_a_store() -> None:
    for category in CATEGORY_NAMES:
        goods = products(category)
        assert len(goods) >= 6, category  # a store shows six products
        assert all(skus and all(price > 0 for _, price in skus) for (_, skus), _ in goods)
    assert titles(GENERAL_CATEGORY) == set().union(*(titles(c) for c in CATEGORIES))


@given(st.text(max_size=30))
def test_any_name_gets_a_known_category(name: str) -> None:
    assert category_for_name(name) in CATEGORY_NAMES


@given(st.text(alphabet=st.characters(exclude_characters="".join(KEYWORD_CHARS)), max_size=30))
def test_a_name_without_a_keyword_is_a_general_store(name: str) -> None:
    assert category_for_name(name) == GENERAL_CATEGORY


@given(
    st.text(alphabet=st.characters(exclude_characters="".join(KEYWORD_CHARS)), max_size=10),
    st.sampled_from([(c, k) for c, spec in CATEGORIES.items() for k in spec.keywords]),
    st.text(alphabet=st.characters(exclude_characters="".join(KEYWORD_CHARS)), max_size=10),
)
def test_a_keyword_anywhere_in_the_name_names_its_category(
    prefix: str, keyword: tuple[str, str], suffix: str
) -> None:
    category, word = keyword
    assert category_for_name(f"{prefix}{word}{suffix}") == category


async def test_orders_read_over_the_api_carry_the_stores_own_goods() -> None:
    sim = Simulator(seed=4, time_scale=0.0, clock=ManualClock(1_780_000_000.0))
    stores = [sim.add_store(store_named(name, n)) for n, name in enumerate(DEMO_STORES, start=1)]
    seen: dict[str, set[str]] = {}
    async with sim.serving() as base_url, httpx.AsyncClient(base_url=base_url) as api:
        for store in stores:
            token = await channels_token(api, store)
            orders = [sim.create_order(store.appid) for _ in range(12)]
            for order in orders:
                reply = await api.post(
                    "/channels/ec/order/get",
                    params={"access_token": token},
                    json={"order_id": order.order_id},
                )
                lines = reply.json()["order"]["order_detail"]["product_infos"]
                seen.setdefault(store.category, set()).update(line["title"] for line in lines)
    for category, sold in seen.items():
        assert sold <= titles(category), category
        assert len(sold) >= 3  # not one product over and over
    assert set(seen) == {"fashion", "outdoor", "baby"}


async def test_buyers_ask_what_buyers_of_the_category_ask() -> None:
    sim = Simulator(seed=6, time_scale=0.0, clock=ManualClock(1_780_000_000.0))
    baby = sim.add_store(store_named("萌宝母婴好物", 1))
    outdoor = sim.add_store(store_named("山野户外专营店", 2))
    await sim.run_scenario("live-burst", duration_s=120, orders_per_minute=300)

    def texts(store: SimStore) -> set[str]:
        return {m.text for m in sim.ground_truth().stores[store.appid].buyer_messages if m.msg_type == "text"}

    assert texts(baby) & set(category_questions("baby"))
    assert texts(outdoor) & set(category_questions("outdoor"))
    assert not texts(baby) & set(category_questions("outdoor"))
    assert not texts(outdoor) & set(category_questions("baby"))
