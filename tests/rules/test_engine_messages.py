"""Rules on buyer messages: keyword tags and the welcome reply, each once, the wait left running."""

from __future__ import annotations

import sqlalchemy as sa

from desk.inbox.models import Conversation, Message, Sender
from desk.orders.models import BuyerTag
from desk.rules.engine import RuleEngine
from desk.rules.models import RuleRun
from tests.aftersales.test_actions import runner
from tests.ingest.conftest import Platform

SENDMSG = "commkf/sendmsg"


async def test_keyword_tags_and_one_welcome_for_a_buyers_first_message(platform: Platform) -> None:
    engine = RuleEngine(platform.runtime.db, platform.runtime.clock, name="engine")
    await engine.load_defaults()
    sim, appid = platform.sim, platform.appids[0]
    buyer = sim.new_buyer(appid)
    sim.buyer_says(appid, buyer, "这件尺码偏大吗？")
    await platform.settle()
    assert await engine.run_due() == 2  # message.received and buyer.first_consultation
    sim.buyer_says(appid, buyer, "物流到哪了")
    await platform.settle()
    assert await engine.run_due() == 1
    assert await engine.run_due() == 0
    await runner(platform).drain()
    assert sim.api.calls_by_path[SENDMSG] == 1  # the welcome, once
    async with platform.runtime.db.engine.connect() as conn:
        tags = (await conn.execute(sa.select(BuyerTag.tag, BuyerTag.source))).all()
        messages = (await conn.execute(sa.select(Message.sender, Message.text).order_by(Message.id))).all()
        conversation = (await conn.execute(sa.select(Conversation.waiting_since))).one()
        runs = (await conn.execute(sa.select(RuleRun.rule_id).order_by(RuleRun.id))).scalars().all()
    assert sorted(t.tag for t in tags) == ["尺码", "物流"]
    assert all(t.source.startswith("rule:") for t in tags)
    store_name = platform.stores[0].name
    assert [(m.sender, m.text) for m in messages if m.sender == Sender.AUTO] == [
        (Sender.AUTO, f"您好，欢迎光临{store_name}！请问有什么可以帮您？")
    ]
    # An automatic reply is not a human one: the buyer is still waiting.
    assert conversation.waiting_since is not None
    assert sorted(runs) == ["tag-logistics", "tag-size", "welcome"]
