"""The variables' values for a conversation's buyer, read from the orders the desk stored."""

from __future__ import annotations

from desk.accounts.models import Role
from desk.inbox.access import conversation_for
from desk.inbox.reply_variables import (
    VARIABLES,
    BuyerFacts,
    buyer_facts,
    unfilled_variables,
    unknown_variables,
    values_for,
)
from desk.runtime import Runtime
from tests.inbox.quick_reply_support import T0, buyer_writes, channels_order, parcel, save_orders


async def facts_for(runtime: Runtime, admin, conversation_id: int) -> BuyerFacts:
    async with runtime.db.session() as session:
        return await buyer_facts(session, await conversation_for(session, admin, conversation_id))


def test_variables_left_unfilled_in_an_outgoing_text_are_found() -> None:
    assert unfilled_variables("林小梅您好，单号 ｛物流单号｝，订单 {订单号}、{订单号}，{^_^} {订单编号}") == [
        "物流单号",
        "订单号",
    ]
    assert unfilled_variables("林小梅您好，单号 SF1") == []


def test_unknown_variables_are_listed_once_in_order() -> None:
    assert unknown_variables("{订单号}{订单编号} {x} {订单编号}{^_^}") == ["订单编号", "x"]
    assert unknown_variables("亲{买家昵称}，{订单号} {物流单号} {快递公司} {店铺名称}") == []


async def test_the_latest_order_and_the_newest_parcel_of_the_latest_shipped_order(
    runtime: Runtime, make_store, make_user
) -> None:
    store = await make_store("山野户外专营店")
    admin = await make_user("root", Role.ADMIN)
    conversation_id = await buyer_writes(runtime, store.id, "o_lin", nickname="林小梅")
    await save_orders(
        runtime,
        store.id,
        channels_order(
            "3700000000000000001",
            "o_lin",
            created=T0,
            parcels=[parcel("SF100", "顺丰速运", at=T0 + 100), parcel("YT200", "圆通速递", at=T0 + 50)],
        ),
        channels_order("3700000000000000002", "o_lin", created=T0 + 86400),  # newer, not shipped yet
        channels_order("3700000000000000009", "o_other", created=T0 + 2 * 86400, parcels=[parcel("SF999")]),
    )
    facts = await facts_for(runtime, admin, conversation_id)
    assert facts == BuyerFacts(
        nickname="林小梅",
        store_name="山野户外专营店",
        order_id="3700000000000000002",
        waybill_id="SF100",
        courier="顺丰速运",
    )
    assert values_for(facts) == {
        "买家昵称": "林小梅",
        "订单号": "3700000000000000002",
        "物流单号": "SF100",
        "快递公司": "顺丰速运",
        "店铺名称": "山野户外专营店",
    }
    assert values_for(facts).keys() == VARIABLES.keys()


async def test_another_stores_orders_of_the_same_openid_are_not_this_buyers(
    runtime: Runtime, make_store, make_user
) -> None:
    ours, theirs = await make_store("潮流女装旗舰店"), await make_store("萌宝母婴好物")
    admin = await make_user("root", Role.ADMIN)
    conversation_id = await buyer_writes(runtime, ours.id, "o_same")
    await save_orders(
        runtime, theirs.id, channels_order("3700000000000000005", "o_same", parcels=[parcel("SF5")])
    )
    facts = await facts_for(runtime, admin, conversation_id)
    assert facts == BuyerFacts(store_name="潮流女装旗舰店")


async def test_a_chat_not_linked_to_a_buyer_finds_orders_by_openid(
    runtime: Runtime, make_store, make_user
) -> None:
    store = await make_store()
    admin = await make_user("root", Role.ADMIN)
    conversation_id = await buyer_writes(runtime, store.id, "o_unlinked", linked=False)
    await save_orders(runtime, store.id, channels_order("3700000000000000007", "o_unlinked"))
    facts = await facts_for(runtime, admin, conversation_id)
    assert facts.order_id == "3700000000000000007"
    assert facts.waybill_id == ""
    assert facts.nickname == ""


async def test_a_buyer_without_orders_or_nickname_has_only_the_store_name(
    runtime: Runtime, make_store, make_user
) -> None:
    store = await make_store("萌宝母婴好物")
    admin = await make_user("root", Role.ADMIN)
    conversation_id = await buyer_writes(runtime, store.id, "o_new")
    values = values_for(await facts_for(runtime, admin, conversation_id))
    assert {name for name, value in values.items() if value} == {"店铺名称"}
