"""The sidebar over HTTP against the simulated platform: what each user sees, and each action once."""

from __future__ import annotations

import re

import sqlalchemy as sa

from desk.accounts.models import Role
from desk.audit.models import AuditEntry, Outcome
from desk.commands.models import OutboundCommand
from tests.ingest.conftest import Platform
from tests.sidebar.support import ACCEPT, HTMX, bind_return_addresses, desk_client, runner, shopper, signed_in


async def test_the_sidebar_shows_the_buyers_orders_and_after_sales_in_the_agents_stores_only(
    platform: Platform, make_user
) -> None:
    mine = await shopper(platform)
    theirs = await shopper(platform, store=1)
    agent = await make_user("xiaochen", Role.AGENT, [platform.stores[0]])
    async with desk_client(platform) as (app, client):
        headers = await signed_in(client, app, agent)
        page = await client.get(f"/inbox/c/{mine.conversation_id}/sidebar", headers=headers)
        assert page.status_code == 200, page.text
        html = page.text
        assert mine.paid.order_id in html
        assert mine.shipped.order_id in html
        assert mine.aftersale.after_sale_order_id in html
        assert "退货退款" in html
        assert "尺码偏小，想退货" in html
        assert "待发货" in html
        assert theirs.paid.order_id not in html
        # The other store's conversation and its orders are not there for this agent.
        other = await client.get(f"/inbox/c/{theirs.conversation_id}/sidebar", headers=headers)
        assert other.status_code == 404
        found = await client.get(
            f"/inbox/c/{mine.conversation_id}/sidebar/find",
            params={"q": theirs.paid.order_id},
            headers=headers,
        )
        assert f'id="found-{theirs.paid.order_id}"' not in found.text
        assert "没有找到" in found.text
        found = await client.get(
            f"/inbox/c/{mine.conversation_id}/sidebar/find", params={"q": mine.paid.order_id}, headers=headers
        )
        assert f'id="found-{mine.paid.order_id}"' in found.text


async def test_phones_are_masked_and_only_managers_reveal_them_each_reveal_audited(
    platform: Platform, make_user
) -> None:
    mine = await shopper(platform)
    agent = await make_user("xiaochen", Role.AGENT, [platform.stores[0]])
    manager = await make_user("dianzhang", Role.MANAGER, [platform.stores[0]])
    full = platform.sim.order(platform.appids[0], mine.shipped.order_id).address.tel_number
    async with desk_client(platform) as (app, client):
        headers = await signed_in(client, app, agent)
        html = (await client.get(f"/inbox/c/{mine.conversation_id}/sidebar", headers=headers)).text
        assert full not in html
        assert "****" in html
        assert "查看完整号码" not in html
        refused = await client.post(
            f"/inbox/c/{mine.conversation_id}/sidebar/orders/{mine.shipped.order_id}/phone", headers=headers
        )
        assert refused.status_code == 403
        assert full not in refused.text

        headers = await signed_in(client, app, manager)
        html = (await client.get(f"/inbox/c/{mine.conversation_id}/sidebar", headers=headers)).text
        assert full not in html  # masked until asked
        assert "查看完整号码" in html
        shown = await client.post(
            f"/inbox/c/{mine.conversation_id}/sidebar/orders/{mine.shipped.order_id}/phone", headers=headers
        )
        assert shown.status_code == 200
        assert full in shown.text
    async with platform.runtime.db.engine.connect() as conn:
        audit = (await conn.execute(sa.select(AuditEntry.action, AuditEntry.actor, AuditEntry.outcome))).all()
    assert [(a.action, a.actor, a.outcome) for a in audit] == [
        ("order.phone.reveal", f"user:{manager.id}", Outcome.SUCCEEDED)
    ]


async def test_a_double_approve_and_a_colleagues_make_one_acceptapply_with_the_sku_address(
    platform: Platform, make_user
) -> None:
    mine = await shopper(platform)
    bound, _default = await bind_return_addresses(platform, mine.aftersale)
    chen = await make_user("小陈", Role.AGENT, [platform.stores[0]])
    liu = await make_user("小刘", Role.AGENT, [platform.stores[0]])
    url = f"/inbox/c/{mine.conversation_id}/sidebar/aftersales/{mine.aftersale.after_sale_order_id}/approve"
    async with desk_client(platform) as (app, client):
        headers = await signed_in(client, app, chen)
        html = (await client.get(f"/inbox/c/{mine.conversation_id}/sidebar", headers=headers)).text
        assert f'<option value="{bound}" selected>' in html  # the SKU's address, chosen for them
        forged = await client.post(url, data={"address_id": bound}, headers=HTMX)  # no CSRF token
        assert forged.status_code == 403
        first = await client.post(url, data={"address_id": bound}, headers=headers)
        again = await client.post(url, data={"address_id": bound}, headers=headers)
        assert first.status_code == 200, first.text
        assert "已提交" in first.text
        assert again.status_code == 422
        assert "已由 小陈 处理" in again.text
        headers = await signed_in(client, app, liu)
        colleague = await client.post(url, data={"address_id": bound}, headers=headers)
        assert colleague.status_code == 422
        assert "已由 小陈 处理" in colleague.text
        await runner(platform).drain()
        assert platform.sim.api.calls_by_path[ACCEPT] == 1
        sim_aftersale = platform.sim.aftersale(platform.appids[0], mine.aftersale.after_sale_order_id)
        assert sim_aftersale.return_address_id == bound
        html = (await client.get(f"/inbox/c/{mine.conversation_id}/sidebar", headers=headers)).text
        assert "小陈 的操作已完成" in html
        assert "待买家退货" in html
    async with platform.runtime.db.engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(OutboundCommand))).scalar() == 1


async def test_a_refused_decision_keeps_the_after_sale_actionable_and_says_why(
    platform: Platform, make_user
) -> None:
    mine = await shopper(platform, kind="REFUND")
    agent = await make_user("小陈", Role.AGENT, [platform.stores[0]])
    base = f"/inbox/c/{mine.conversation_id}/sidebar/aftersales/{mine.aftersale.after_sale_order_id}"
    async with desk_client(platform) as (app, client):
        headers = await signed_in(client, app, agent)
        no_reason = await client.post(f"{base}/reject", data={"reject_reason_type": ""}, headers=headers)
        assert no_reason.status_code == 422
        assert "拒绝售后必须选择平台提供的拒绝原因" in no_reason.text
        assert 'data-sb-action="approve"' in no_reason.text  # still actionable
        form = await client.get(f"{base}/reject-form", headers=headers)
        assert form.status_code == 200
        assert 'name="reject_reason_type"' in form.text
        assert "商品已发货" in form.text  # the platform's own reasons for a refund-only request
        approved = await client.post(f"{base}/approve", headers=headers)
        assert approved.status_code == 200
        # The buyer cancels before the worker runs: nothing is sent, the agent sees why.
        platform.sim.buyer_cancels_aftersale(platform.appids[0], mine.aftersale.after_sale_order_id)
        await runner(platform).drain()
        assert platform.sim.api.calls_by_path[ACCEPT] == 0
        html = (await client.get(f"/inbox/c/{mine.conversation_id}/sidebar", headers=headers)).text
        assert "小陈 的操作失败" in html
        assert "仅退款" in html
        unknown = await client.post(
            f"/inbox/c/{mine.conversation_id}/sidebar/aftersales/999999/approve", headers=headers
        )
        assert unknown.status_code == 422
        assert "找不到这个售后单" in unknown.text


async def test_an_address_change_is_accepted_from_the_sidebar_once(platform: Platform, make_user) -> None:
    mine = await shopper(platform)
    # A new order, its change asked before the desk reads it: one read sees both (a change asked
    # within the same second as an order already read could look no fresher than the stored copy).
    order = platform.sim.create_order(platform.appids[0], mine.openid)
    platform.sim.request_address_change(platform.appids[0], order.order_id)
    await platform.settle()
    agent = await make_user("小陈", Role.AGENT, [platform.stores[0]])
    url = f"/inbox/c/{mine.conversation_id}/sidebar/orders/{order.order_id}/address-change/accept"
    async with desk_client(platform) as (app, client):
        headers = await signed_in(client, app, agent)
        html = (await client.get(f"/inbox/c/{mine.conversation_id}/sidebar", headers=headers)).text
        assert "买家申请修改收货地址" in html
        first = await client.post(url, headers=headers)
        again = await client.post(url, headers=headers)
        assert first.status_code == 200
        assert again.status_code == 422
        assert "已经处理过了" in again.text
        await runner(platform).drain()
        assert platform.sim.api.calls_by_path["order/addressmodify/accept"] == 1
        html = (await client.get(f"/inbox/c/{mine.conversation_id}/sidebar", headers=headers)).text
        assert "买家申请修改收货地址" not in html
        assert "小陈 的操作已完成" in html


async def test_an_order_card_goes_into_the_chat_once_and_only_for_this_buyers_orders(
    platform: Platform, make_user
) -> None:
    mine = await shopper(platform)
    theirs = await shopper(platform)
    agent = await make_user("小陈", Role.AGENT, [platform.stores[0]])
    base = f"/inbox/c/{mine.conversation_id}/sidebar/orders"
    async with desk_client(platform) as (app, client):
        headers = await signed_in(client, app, agent)
        html = (await client.get(f"/inbox/c/{mine.conversation_id}/sidebar", headers=headers)).text
        assert f"/orders/{mine.paid.order_id}/card" in html
        form = {"request_id": "card-test-1"}
        first = await client.post(f"{base}/{mine.paid.order_id}/card", data=form, headers=headers)
        again = await client.post(f"{base}/{mine.paid.order_id}/card", data=form, headers=headers)
        assert first.status_code == 200, first.text
        assert again.status_code == 200
        assert "订单卡片已发送" in first.text
        other = await client.post(
            f"{base}/{theirs.paid.order_id}/card", data={"request_id": "card-test-2"}, headers=headers
        )
        assert other.status_code == 422
        assert "只能发送这位买家在本店铺的订单" in other.text
        await runner(platform).drain()
    sent = platform.sim.sent_messages(platform.appids[0], mine.openid)
    assert [(m.msg_type, m.payload) for m in sent] == [
        ("order_share", {"order_share": {"order_id": mine.paid.order_id}})
    ]
    assert platform.sim.api.calls_by_path["commkf/sendmsg"] == 1


async def test_a_platform_failure_is_told_in_chinese_and_the_after_sale_can_be_approved_again(
    platform: Platform, make_user
) -> None:
    mine = await shopper(platform)
    bound, default = await bind_return_addresses(platform, mine.aftersale)
    agent = await make_user("小陈", Role.AGENT, [platform.stores[0]])
    url = f"/inbox/c/{mine.conversation_id}/sidebar/aftersales/{mine.aftersale.after_sale_order_id}/approve"
    async with desk_client(platform) as (app, client):
        headers = await signed_in(client, app, agent)
        # An address the platform no longer has (deleted in the store backend since the last sync).
        stale = await client.post(url, data={"address_id": "404404"}, headers=headers)
        assert stale.status_code == 200
        await runner(platform).drain()
        html = (await client.get(f"/inbox/c/{mine.conversation_id}/sidebar", headers=headers)).text
        assert "小陈 的操作失败" in html
        assert "退货地址无效" in html  # errcode 10021062, in words
        assert 'data-sb-action="approve"' in html  # still actionable
        retried = await client.post(url, data={"address_id": default}, headers=headers)
        assert retried.status_code == 200, retried.text
        again = await client.post(url, data={"address_id": default}, headers=headers)
        assert again.status_code == 422  # the retry itself is still one command
        await runner(platform).drain()
    assert platform.sim.api.calls_by_path[ACCEPT] == 2
    sim_aftersale = platform.sim.aftersale(platform.appids[0], mine.aftersale.after_sale_order_id)
    assert sim_aftersale.status == "USER_WAIT_RETURN"
    assert sim_aftersale.return_address_id == default != bound


async def test_a_shipped_refund_only_request_is_intercepted_and_an_exchange_reads_as_one(
    platform: Platform, make_user
) -> None:
    refund = await shopper(platform, kind="REFUND")
    exchange = await shopper(platform, kind="EXCHANGE")
    agent = await make_user("小陈", Role.AGENT, [platform.stores[0]])
    async with desk_client(platform) as (app, client):
        headers = await signed_in(client, app, agent)
        html = (await client.get(f"/inbox/c/{exchange.conversation_id}/sidebar", headers=headers)).text
        assert "换货" in html
        assert "同意换货" in html
        assert "仅退款" not in html
        assert "拦截包裹" not in html  # only refund-only requests on shipped orders are intercepted
        base = f"/inbox/c/{refund.conversation_id}/sidebar/aftersales/{refund.aftersale.after_sale_order_id}"
        html = (await client.get(f"/inbox/c/{refund.conversation_id}/sidebar", headers=headers)).text
        assert "拦截包裹" in html
        first = await client.post(f"{base}/intercept", headers=headers)
        assert first.status_code == 200, first.text
        assert "已申请拦截" in first.text
        assert "拦截包裹" not in first.text  # asked once; the request waits for the courier
        await runner(platform).drain()
        assert platform.sim.api.calls_by_path[ACCEPT] == 0  # the refund waits for the courier
        html = (await client.get(f"/inbox/c/{refund.conversation_id}/sidebar", headers=headers)).text
        match = re.search(r'/interceptions/(\d+)/confirmed"', html)
        assert match is not None, "the agent is offered to confirm the interception"
        confirmed = await client.post(
            f"/inbox/c/{refund.conversation_id}/sidebar/interceptions/{match[1]}/confirmed", headers=headers
        )
        assert confirmed.status_code == 200, confirmed.text
        twice = await client.post(
            f"/inbox/c/{refund.conversation_id}/sidebar/interceptions/{match[1]}/confirmed", headers=headers
        )
        assert twice.status_code == 422
        await runner(platform).drain()
    async with platform.runtime.db.engine.connect() as conn:
        commands = (await conn.execute(sa.select(OutboundCommand.kind).order_by(OutboundCommand.id))).all()
    assert [c.kind for c in commands] == ["order.intercept", "aftersale.accept"]
    assert platform.sim.api.calls_by_path[ACCEPT] == 1


async def test_when_the_platform_wants_a_negotiation_first_the_sidebar_offers_it(
    platform: Platform, make_user
) -> None:
    mine = await shopper(platform, kind="REFUND")
    appid = platform.appids[0]
    platform.sim.aftersale(appid, mine.aftersale.after_sale_order_id).negotiate_before_reject = True
    agent = await make_user("小陈", Role.AGENT, [platform.stores[0]])
    base = f"/inbox/c/{mine.conversation_id}/sidebar/aftersales/{mine.aftersale.after_sale_order_id}"
    async with desk_client(platform) as (app, client):
        headers = await signed_in(client, app, agent)
        html = (await client.get(f"/inbox/c/{mine.conversation_id}/sidebar", headers=headers)).text
        assert "发起协商" not in html
        rejected = await client.post(f"{base}/reject", data={"reject_reason_type": "2"}, headers=headers)
        assert rejected.status_code == 200, rejected.text
        await runner(platform).drain()
        html = (await client.get(f"/inbox/c/{mine.conversation_id}/sidebar", headers=headers)).text
        assert "拒绝前必须先与买家协商" in html  # 10021068 in words
        assert "发起协商" in html
        incomplete = await client.post(
            f"{base}/negotiate", data={"merchant_update_type": "1"}, headers=headers
        )
        assert incomplete.status_code == 422
        assert "请选择协商方式和原因" in incomplete.text
        form = {
            "merchant_update_type": "1",
            "update_reason_type": "6",
            "merchant_update_desc": "可以补发配件",
        }
        negotiated = await client.post(f"{base}/negotiate", data=form, headers=headers)
        assert negotiated.status_code == 200, negotiated.text
        await runner(platform).drain()
    assert platform.sim.api.calls_by_path["aftersale/rejectapply"] == 1
    assert platform.sim.api.calls_by_path["aftersale/merchantupdateaftersale"] == 1
    # The proposal reached the buyer: they are answering it, or (the simulator's clock runs fast)
    # have answered, which ends the platform's demand for a negotiation.
    sim_aftersale = platform.sim.aftersale(appid, mine.aftersale.after_sale_order_id)
    assert sim_aftersale.status == "USER_WAIT_CONFIRM_UPDATE" or not sim_aftersale.negotiate_before_reject


async def test_the_merchant_note_is_written_once_and_a_too_long_one_is_refused_inline(
    platform: Platform, make_user
) -> None:
    mine = await shopper(platform)
    agent = await make_user("小陈", Role.AGENT, [platform.stores[0]])
    url = f"/inbox/c/{mine.conversation_id}/sidebar/orders/{mine.paid.order_id}/note"
    async with desk_client(platform) as (app, client):
        headers = await signed_in(client, app, agent)
        too_long = await client.post(url, data={"note": "长" * 201}, headers=headers)
        assert too_long.status_code == 422
        assert "200" in too_long.text
        first = await client.post(url, data={"note": "客户要求周末送达"}, headers=headers)
        again = await client.post(url, data={"note": "客户要求周末送达"}, headers=headers)
        assert first.status_code == again.status_code == 200
        await runner(platform).drain()
        html = (await client.get(f"/inbox/c/{mine.conversation_id}/sidebar", headers=headers)).text
        assert 'value="客户要求周末送达"' in html
    assert platform.sim.api.calls_by_path["order/merchantnotes/update"] == 1
    assert platform.sim.order(platform.appids[0], mine.paid.order_id).merchant_notes == "客户要求周末送达"


async def test_the_thread_loads_the_sidebar_and_its_orders_link_leads_there(
    platform: Platform, make_user
) -> None:
    mine = await shopper(platform)
    agent = await make_user("小陈", Role.AGENT, [platform.stores[0]])
    async with desk_client(platform) as (app, client):
        headers = await signed_in(client, app, agent)
        page = await client.get(f"/inbox/c/{mine.conversation_id}")
        assert page.status_code == 200
        assert f'hx-get="/inbox/c/{mine.conversation_id}/sidebar"' in page.text
        assert 'class="orders-link" href="#sidebar"' in page.text  # it led to a page that never existed
        assert (
            await client.get(f"/inbox/c/{mine.conversation_id}/sidebar", headers=headers)
        ).status_code == 200
