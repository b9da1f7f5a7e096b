"""The after-sales list page: your stores only, filters, deadline soonest first, pages."""

from __future__ import annotations

import re

from desk.accounts.models import Role
from tests.aftersales.test_api import _store_aftersales
from tests.conftest import login


def _rows(page: str) -> list[str]:
    return re.findall(r'data-aftersale="(\d+)"', page)


async def test_the_list_shows_your_stores_waiting_requests_deadline_first(
    client, app, runtime, make_store, make_user
) -> None:
    mine, theirs = await make_store(name="女装店"), await make_store(name="户外店")
    await _store_aftersales(
        runtime,
        mine.id,
        ("2001", "MERCHANT_PROCESSING", 30 * 3600),
        ("2002", "MERCHANT_REFUND_SUCCESS", 0),
        ("2003", "MERCHANT_WAIT_RECEIPT", 3600),
    )
    await _store_aftersales(runtime, theirs.id, ("2004", "MERCHANT_PROCESSING", 60))
    await login(client, app, await make_user("xiaochen", Role.AGENT, [mine]))

    page = (await client.get("/aftersales")).text
    assert _rows(page) == ["2003", "2001"]  # waiting for us, nearest deadline first
    assert 'href="/orders/3700000000000000001#aftersale-2003"' in page
    assert "户外店" not in page
    assert _rows((await client.get("/aftersales", params={"status": ""})).text) == ["2003", "2001", "2002"]
    assert _rows((await client.get("/aftersales", params={"due": "24h"})).text) == ["2003"]
    assert _rows((await client.get("/aftersales", params={"status": "MERCHANT_PROCESSING"})).text) == ["2001"]
    assert (await client.get("/aftersales", params={"store": theirs.id})).status_code == 404
    bad = await client.get("/aftersales", params={"status": "<script>"})
    assert bad.status_code == 422
    assert "没有这个售后状态：&lt;script&gt;" in bad.text
    assert '<a href="/aftersales"' in page  # in the navigation


async def test_the_list_pages_through_many_requests(client, app, runtime, make_store, make_user) -> None:
    store = await make_store()
    await _store_aftersales(
        runtime, store.id, *[(f"4{n:03d}", "MERCHANT_PROCESSING", 600 * (n + 1)) for n in range(35)]
    )
    await login(client, app, await make_user("xiaochen", Role.AGENT, [store]))
    first = (await client.get("/aftersales")).text
    assert len(_rows(first)) == 30
    assert _rows(first)[0] == "4000"
    assert 'rel="next" href="/aftersales?store=&amp;status=actionable&amp;due=&amp;page=2"' in first
    second = (await client.get("/aftersales", params={"page": 2})).text
    assert _rows(second) == [f"4{n:03d}" for n in range(30, 35)]
    assert 'rel="next"' not in second
