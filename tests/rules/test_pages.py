"""The rules admin pages: list and toggles, the TOML editor with inline errors, versions, diff,
roll back, the runs page; roles, CSRF and store scoping."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from desk.accounts.models import Role
from desk.db import utcnow
from desk.paths import RULES_DIR
from desk.rules.editing import get_rule, list_versions
from desk.rules.models import RuleRun
from desk.rules.storage import import_rules, read_dir
from desk.runtime import Runtime
from tests.conftest import login

REFUND = "refund-unshipped-4h"


@pytest.fixture
async def shipped(runtime: Runtime) -> None:
    async with runtime.db.session() as session:
        await import_rules(session, read_dir(RULES_DIR), saved_by="defaults")


async def pk_of(runtime: Runtime, rule_id: str = REFUND) -> int:
    async with runtime.db.session() as session:
        record = await get_rule(session, rule_id=rule_id)
        assert record is not None
        return record.pk


async def csrf_form(client, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200
    match = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert match
    return match[1]


async def add_run(runtime: Runtime, store_id: int, rule_id: str, outcome: str, age: dt.timedelta) -> int:
    async with runtime.db.session() as session:
        run = RuleRun(
            store_id=store_id,
            rule_id=rule_id,
            rule_version=1,
            event="aftersale.created",
            subject="aftersale:3001",
            conditions=[
                {
                    "path": "conditions.all[3].refund_amount_fen",
                    "predicate": "refund_amount_fen",
                    "held": True,
                    "value": 4200,
                }
            ],
            actions=[
                {
                    "index": 0,
                    "type": "approve",
                    "status": outcome if outcome != "partial" else "done",
                    "detail": "command 9",
                }
            ],
            outcome=outcome,
            created_at=utcnow() - age,
        )
        session.add(run)
        await session.flush()
        return run.id


async def test_the_settings_page_links_the_rules_and_the_list_shows_toggles_and_hits(
    client, app, runtime, shipped, make_store, make_user
) -> None:
    store = await make_store("旗舰店")
    admin = await make_user("root", Role.ADMIN)
    await add_run(runtime, store.id, REFUND, "done", dt.timedelta(hours=2))
    await add_run(runtime, store.id, REFUND, "done", dt.timedelta(days=3))
    await add_run(runtime, store.id, REFUND, "done", dt.timedelta(days=9))
    await login(client, app, admin)
    settings = await client.get("/settings")
    assert 'href="/settings/rules"' in settings.text
    page = await client.get("/settings/rules")
    assert page.status_code == 200
    row = re.search(rf'<tr class="rule-row" data-rule-id="{REFUND}".*?</tr>', page.text, re.S)
    assert row
    assert '<td class="hits-day">1</td>' in row[0]
    assert '<td class="hits-week">2</td>' in row[0]
    assert 'data-enabled="false"' in row[0]
    assert "开启" in row[0]


async def test_a_toggle_saves_a_new_version_and_needs_csrf(client, app, runtime, shipped, make_user) -> None:
    admin = await make_user("root", Role.ADMIN)
    await login(client, app, admin)
    pk = await pk_of(runtime)
    token = await csrf_form(client, "/settings/rules")
    refused = await client.post(f"/settings/rules/{pk}/enabled", data={"enabled": "true"})
    assert refused.status_code == 403
    done = await client.post(f"/settings/rules/{pk}/enabled", data={"enabled": "true", "_csrf_token": token})
    assert done.status_code in (301, 302, 303)
    async with runtime.db.session() as session:
        record = await get_rule(session, pk=pk)
        assert record is not None
        assert record.rule.enabled
        versions = await list_versions(session, pk)
    assert [v.version for v in versions] == [2, 1]
    assert versions[0].saved_by == f"user:{admin.id}"
    page = await client.get(f"/settings/rules/{pk}")
    saver = re.search(r'<tr class="version-row selected" data-version="2">.*?</tr>', page.text, re.S)
    assert saver
    assert '<td class="muted">root</td>' in saver[0]
    assert f'href="/settings/rules/runs?rule={REFUND}"' in page.text


async def test_a_typo_is_shown_inline_with_its_path_and_line_and_saves_nothing(
    client, app, runtime, shipped, make_user
) -> None:
    await login(client, app, await make_user("root", Role.ADMIN))
    pk = await pk_of(runtime)
    token = await csrf_form(client, f"/settings/rules/{pk}")
    page = await client.get(f"/settings/rules/{pk}")
    text = re.search(r'<textarea id="f-toml"[^>]*>(.*?)</textarea>', page.text, re.S)
    assert text
    toml = text[1].replace("&#34;", '"').replace("&quot;", '"')
    bad = toml.replace("{ max = 50000 }", '{ max = "5万" }')
    assert bad != toml
    answer = await client.post(f"/settings/rules/{pk}", data={"toml": bad, "_csrf_token": token})
    assert answer.status_code == 400
    assert "rules[0].conditions.all[3].refund_amount_fen.max" in answer.text
    assert "第 13 行" in answer.text
    assert "5万" in answer.text  # the text typed is kept in the editor
    async with runtime.db.session() as session:
        assert [v.version for v in await list_versions(session, pk)] == [1]
    good = toml.replace("{ max = 50000 }", "{ max = 30000 }")
    saved = await client.post(f"/settings/rules/{pk}", data={"toml": good, "_csrf_token": token})
    assert saved.status_code in (301, 302, 303)
    shown = await client.get(f"/settings/rules/{pk}")
    assert 'data-version="2"' in shown.text
    assert '<span class="diff-del">-  { refund_amount_fen = { max = 50000 } },</span>' in shown.text
    assert '<span class="diff-add">+  { refund_amount_fen = { max = 30000 } },</span>' in shown.text


async def test_the_id_cannot_change_and_html_in_a_rule_is_escaped(
    client, app, runtime, shipped, make_user
) -> None:
    await login(client, app, await make_user("root", Role.ADMIN))
    pk = await pk_of(runtime)
    token = await csrf_form(client, f"/settings/rules/{pk}")
    async with runtime.db.session() as session:
        record = await get_rule(session, pk=pk)
        assert record is not None
    from desk.rules.editing import to_toml

    toml = to_toml(record.rule)
    renamed = toml.replace(f'id = "{REFUND}"', 'id = "other"')
    answer = await client.post(f"/settings/rules/{pk}", data={"toml": renamed, "_csrf_token": token})
    assert answer.status_code == 400
    assert "the id cannot change" in answer.text
    named = re.sub(r'^name = ".*"$', 'name = "<script>alert(1)</script>"', toml, flags=re.M)
    saved = await client.post(f"/settings/rules/{pk}", data={"toml": named, "_csrf_token": token})
    assert saved.status_code in (301, 302, 303)
    page = await client.get(f"/settings/rules/{pk}")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


async def test_roll_back_saves_the_old_version_as_a_new_one(client, app, runtime, shipped, make_user) -> None:
    await login(client, app, await make_user("root", Role.ADMIN))
    pk = await pk_of(runtime)
    token = await csrf_form(client, "/settings/rules")
    await client.post(f"/settings/rules/{pk}/enabled", data={"enabled": "true", "_csrf_token": token})
    back = await client.post(f"/settings/rules/{pk}/rollback", data={"version": "1", "_csrf_token": token})
    assert back.status_code in (301, 302, 303)
    missing = await client.post(f"/settings/rules/{pk}/rollback", data={"version": "9", "_csrf_token": token})
    assert missing.status_code == 404
    async with runtime.db.session() as session:
        versions = await list_versions(session, pk)
        record = await get_rule(session, pk=pk)
    assert [v.version for v in versions] == [3, 2, 1]
    assert versions[0].rule == versions[2].rule
    assert record is not None
    assert not record.rule.enabled


async def test_a_new_rule_starts_from_the_template_and_a_taken_id_is_refused(
    client, app, runtime, shipped, make_user
) -> None:
    await login(client, app, await make_user("root", Role.ADMIN))
    page = await client.get("/settings/rules/new")
    assert page.status_code == 200
    assert "my-new-rule" in page.text
    token = await csrf_form(client, "/settings/rules/new")
    from desk.rules.editing import NEW_RULE_TEMPLATE

    created = await client.post("/settings/rules/new", data={"toml": NEW_RULE_TEMPLATE, "_csrf_token": token})
    assert created.status_code in (301, 302, 303)
    again = await client.post("/settings/rules/new", data={"toml": NEW_RULE_TEMPLATE, "_csrf_token": token})
    assert again.status_code == 400
    assert "already taken" in again.text
    two = NEW_RULE_TEMPLATE + NEW_RULE_TEMPLATE.replace("my-new-rule", "second")
    assert (
        "expected exactly one [[rules]] table"
        in (await client.post("/settings/rules/new", data={"toml": two, "_csrf_token": token})).text
    )


async def test_a_manager_reads_but_cannot_edit_and_an_agent_sees_nothing(
    client, app, runtime, shipped, make_store, make_user
) -> None:
    store = await make_store()
    pk = await pk_of(runtime)
    await login(client, app, await make_user("boss", Role.MANAGER, [store]))
    page = await client.get(f"/settings/rules/{pk}")
    assert page.status_code == 200
    assert "readonly" in page.text
    assert "回滚到此版本" not in page.text
    listing = await client.get("/settings/rules")
    assert "/enabled" not in listing.text
    token = client.cookies.get("desk_csrf", "")
    assert (
        await client.post(f"/settings/rules/{pk}/enabled", data={"enabled": "true", "_csrf_token": token})
    ).status_code == 403
    assert (await client.get("/settings/rules/new")).status_code == 403


async def test_agents_cannot_open_the_rules(client, app, shipped, make_store, make_user) -> None:
    await login(client, app, await make_user("chen", Role.AGENT, [await make_store()]))
    assert (await client.get("/settings/rules")).status_code == 403
    assert (await client.get("/settings/rules/runs")).status_code == 403


async def test_the_runs_page_filters_pages_and_shows_only_the_users_stores(
    client, app, runtime, shipped, make_store, make_user
) -> None:
    mine, theirs = await make_store("我的店"), await make_store("别人的店")
    done = await add_run(runtime, mine.id, REFUND, "done", dt.timedelta(minutes=5))
    failed = await add_run(runtime, mine.id, "return-bound-address", "failed", dt.timedelta(minutes=4))
    hidden = await add_run(runtime, theirs.id, REFUND, "done", dt.timedelta(minutes=3))
    await login(client, app, await make_user("boss", Role.MANAGER, [mine]))
    page = await client.get("/settings/rules/runs")
    ids = [int(i) for i in re.findall(r'data-run-id="(\d+)"', page.text)]
    assert ids == [failed, done]
    assert hidden not in ids
    assert "conditions.all[3].refund_amount_fen" in page.text
    assert "4200" in page.text
    by_rule = await client.get("/settings/rules/runs", params={"rule": REFUND})
    assert [int(i) for i in re.findall(r'data-run-id="(\d+)"', by_rule.text)] == [done]
    by_outcome = await client.get("/settings/rules/runs", params={"outcome": "failed", "store": str(mine.id)})
    assert [int(i) for i in re.findall(r'data-run-id="(\d+)"', by_outcome.text)] == [failed]


async def test_the_runs_page_pages_back(
    client, app, runtime, shipped, make_store, make_user, monkeypatch
) -> None:
    from desk.rules import runs

    monkeypatch.setattr(runs, "PAGE_SIZE", 2)
    monkeypatch.setattr(runs.run_page, "__kwdefaults__", {"before": None, "size": 2})
    store = await make_store()
    made = [await add_run(runtime, store.id, REFUND, "done", dt.timedelta(minutes=10 - i)) for i in range(3)]
    await login(client, app, await make_user("root", Role.ADMIN))
    first = await client.get("/settings/rules/runs")
    assert [int(i) for i in re.findall(r'data-run-id="(\d+)"', first.text)] == [made[2], made[1]]
    older = re.search(r'href="/settings/rules/runs\?([^"]+)" rel="next"', first.text)
    assert older
    second = await client.get("/settings/rules/runs?" + older[1].replace("&amp;", "&"))
    assert [int(i) for i in re.findall(r'data-run-id="(\d+)"', second.text)] == [made[0]]
    async with runtime.db.session() as session:
        assert (await session.execute(sa.select(sa.func.count()).select_from(RuleRun))).scalar_one() == 3
