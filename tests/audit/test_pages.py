"""The audit trail page and its CSV export: scoped, filtered, paged, streamed, safe in a spreadsheet."""

from __future__ import annotations

import csv
import io
import re

import sqlalchemy as sa

from desk.accounts.models import Role
from desk.audit.models import AuditEntry, Outcome
from desk.audit.queries import CSV_COLUMNS, EXPORT_BATCH, PAGE_SIZE
from desk.audit.service import Actor, open_entry, refused
from desk.runtime import Runtime
from tests.conftest import login


def ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-audit-id="(\d+)"', html)]


async def record(
    runtime: Runtime, store_id: int, actor: Actor, action: str, outcome: Outcome, reason: str = ""
) -> int:
    async with runtime.db.session() as session:
        if outcome is Outcome.REFUSED:
            return await refused(
                session,
                store_id=store_id,
                actor=actor,
                action=action,
                subject="aftersale:2001",
                why="aftersales.error.already_handled",
            )
        return await open_entry(
            session,
            store_id=store_id,
            actor=actor,
            action=action,
            subject="aftersale:2001",
            reason=reason,
            outcome=outcome,
        )


async def test_a_manager_sees_every_action_of_their_stores_and_filters_it(
    client, app, runtime, make_store, make_user
) -> None:
    mine, theirs = await make_store("我的店"), await make_store("别人的店")
    chen = await make_user("xiaochen", Role.AGENT, [mine])
    rule = Actor.rule(7, "七天无理由自动同意")
    approved = await record(
        runtime, mine.id, Actor.user(chen.id, "小陈"), "aftersale.approve", Outcome.SUCCEEDED
    )
    automated = await record(
        runtime, mine.id, rule, "aftersale.approve", Outcome.FAILED, reason="金额 < 50 元"
    )
    stopped = await record(runtime, mine.id, Actor.user(chen.id, "小陈"), "aftersale.reject", Outcome.REFUSED)
    noted = await record(runtime, mine.id, Actor("system", "desk"), "order.merchant_note", Outcome.PENDING)
    await record(runtime, theirs.id, rule, "aftersale.approve", Outcome.SUCCEEDED)
    await login(client, app, await make_user("manager", Role.MANAGER, [mine]))

    page = await client.get("/audit")

    assert page.status_code == 200
    assert ids(page.text) == [noted, stopped, automated, approved]  # newest first, their store only
    assert "同意售后" in page.text
    assert "修改商家备注" in page.text
    assert "七天无理由自动同意" in page.text
    assert "金额 &lt; 50 元" in page.text  # escaped
    assert "规则" in page.text
    assert 'href="/audit"' in page.text  # in the navigation
    by_rule = await client.get("/audit", params={"actor": "rule:7"})
    assert ids(by_rule.text) == [automated]
    by_outcome = await client.get("/audit", params={"outcome": "refused"})
    assert ids(by_outcome.text) == [stopped]
    other_store = await client.get("/audit", params={"store": str(theirs.id)})
    assert ids(other_store.text) == []
    nonsense = await client.get("/audit", params={"store": "x", "outcome": "maybe", "before": "-1"})
    assert ids(nonsense.text) == [noted, stopped, automated, approved]


async def test_agents_cannot_read_the_trail(client, app, make_store, make_user) -> None:
    await login(client, app, await make_user("agent", Role.AGENT, [await make_store()]))
    assert (await client.get("/audit")).status_code == 403
    assert (await client.get("/audit/export.csv")).status_code == 403


async def test_the_trail_pages_back_by_entry(client, app, runtime, make_store, make_user) -> None:
    store = await make_store()
    actor = Actor("system", "desk")
    made = [
        await record(runtime, store.id, actor, "aftersale.approve", Outcome.SUCCEEDED) for _ in range(120)
    ]
    await login(client, app, await make_user("root", Role.ADMIN))

    seen: list[int] = []
    url = "/audit?outcome=succeeded"
    for _ in range(4):
        page = await client.get(url)
        seen += ids(page.text)
        older = re.search(r'href="(/audit\?[^"]+)" rel="next"', page.text)
        if older is None:
            break
        url = older.group(1).replace("&amp;", "&")
        assert "outcome=succeeded" in url  # the filters stay
    assert seen == sorted(made, reverse=True)
    assert len(ids((await client.get("/audit")).text)) == PAGE_SIZE


async def test_the_export_is_every_matching_entry_as_csv_safe_for_spreadsheets(
    client, app, runtime, make_store, make_user
) -> None:
    mine, theirs = await make_store("我的店"), await make_store("别人的店")
    actor = Actor.user(1, "小陈")
    async with runtime.db.engine.begin() as conn:  # more than one batch of the export
        await conn.execute(
            sa.insert(AuditEntry.__table__),
            [
                {
                    "store_id": mine.id,
                    "actor": actor.key,
                    "actor_name": actor.name,
                    "action": "aftersale.approve",
                    "subject": f"aftersale:{n}",
                    "reason": '=HYPERLINK("http://evil")' if n == 0 else f"第 {n} 单",
                    "details": {"status": "MERCHANT_PROCESSING"},
                    "outcome": Outcome.SUCCEEDED.value,
                }
                for n in range(EXPORT_BATCH + 5)
            ],
        )
    await record(runtime, mine.id, actor, "aftersale.reject", Outcome.FAILED)
    await record(runtime, theirs.id, actor, "aftersale.approve", Outcome.SUCCEEDED)
    await login(client, app, await make_user("manager", Role.MANAGER, [mine]))

    r = await client.get("/audit/export.csv", params={"outcome": "succeeded"})

    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    body = rows[1:]
    assert len(body) == EXPORT_BATCH + 5  # their store's entry and the failed one left out
    assert {row[2] for row in body} == {"我的店"}
    assert {row[7] for row in body} == {"succeeded"}
    ids_exported = [int(row[0]) for row in body]
    assert ids_exported == sorted(ids_exported, reverse=True)
    assert len(set(ids_exported)) == len(ids_exported)
    poisoned = next(row for row in body if row[6] == "aftersale:0")
    assert poisoned[10] == '\'=HYPERLINK("http://evil")'
    assert '"status": "MERCHANT_PROCESSING"' in poisoned[11]
