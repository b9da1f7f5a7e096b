"""``/api/v1/rules`` and ``/api/v1/rule-runs``: TOML or JSON in, 422 with paths, versions, roles, scoping."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest
from hypothesis import given, settings

from desk.accounts.models import Role, User
from desk.accounts.tokens import issue_token
from desk.rules.editing import get_rule, list_versions, to_toml
from desk.rules.files import RuleFileError
from desk.rules.model import Rule
from desk.rules.schemas import rule_from_body
from desk.runtime import Runtime
from tests.rules.strategies import rules
from tests.rules.test_pages import REFUND, add_run, shipped  # noqa: F401  (fixture)

TOML = {"content-type": "application/toml"}


async def bearer(runtime: Runtime, user: User) -> dict[str, str]:
    async with runtime.db.session() as session:
        token, _ = await issue_token(session, await session.get_one(User, user.id), "integration")
    return {"authorization": f"Bearer {token}"}


@given(rules())
@settings(max_examples=60, deadline=None)
def test_a_rule_sent_as_json_or_toml_reads_back_the_same(rule: Rule) -> None:
    assert rule_from_body(to_toml(rule).encode(), "application/toml") == rule
    assert rule_from_body(msgspec.json.encode(rule), "application/json") == rule


def test_json_errors_carry_the_same_paths_as_toml() -> None:
    body = {
        "id": "x",
        "name": "n",
        "trigger": {"event": "aftersale.created"},
        "conditions": {"all": [{"refund_amount_fen": {"max": "many"}}]},
        "actions": [{"type": "approve"}],
    }
    with pytest.raises(RuleFileError) as caught:
        rule_from_body(msgspec.json.encode(body), "application/json")
    assert [e.path for e in caught.value.errors] == ["rules[0].conditions.all[0].refund_amount_fen.max"]
    for raw, kind in ((b"[1]", "application/json"), (b"{", "application/json"), (b"x", "text/plain")):
        with pytest.raises(RuleFileError):
            rule_from_body(raw, kind)
    with pytest.raises(RuleFileError, match="unknown key"):
        rule_from_body(msgspec.json.encode({**body, "a b": 1}), "application/json")


async def test_an_admin_token_reads_updates_and_creates_rules(client, runtime, shipped, make_user) -> None:  # noqa: F811
    headers = await bearer(runtime, await make_user("root", Role.ADMIN))
    listed = await client.get("/api/v1/rules", headers=headers)
    assert listed.status_code == 200
    assert REFUND in [r["id"] for r in listed.json()]
    one = (await client.get(f"/api/v1/rules/{REFUND}", headers=headers)).json()
    assert one["version"] == 1
    assert [v["version"] for v in one["versions"]] == [1]
    bad = one["toml"].replace("{ max = 50000 }", '{ max = "50000" }')
    refused = await client.put(f"/api/v1/rules/{REFUND}", content=bad.encode(), headers={**headers, **TOML})
    assert refused.status_code == 422
    errors = refused.json()["extra"]["errors"]
    assert errors[0]["path"] == "rules[0].conditions.all[3].refund_amount_fen.max"
    assert errors[0]["line"] == 13
    good = one["toml"].replace("{ max = 50000 }", "{ max = 30000 }")
    saved = await client.put(f"/api/v1/rules/{REFUND}", content=good.encode(), headers={**headers, **TOML})
    assert saved.status_code == 200
    assert saved.json()["version"] == 2
    as_json = {**saved.json()["rule"], "enabled": True}
    again = await client.put(f"/api/v1/rules/{REFUND}", json=as_json, headers=headers)
    assert again.json()["version"] == 3
    assert again.json()["enabled"] is True
    same = await client.put(f"/api/v1/rules/{REFUND}", json=as_json, headers=headers)
    assert same.json()["version"] == 3
    new = {**as_json, "id": "api-made", "name": "接口创建"}
    created = await client.post("/api/v1/rules", json=new, headers=headers)
    assert created.status_code == 201
    assert (await client.post("/api/v1/rules", json=new, headers=headers)).status_code == 422
    assert (
        await client.put("/api/v1/rules/nope", json={**new, "id": "nope"}, headers=headers)
    ).status_code == 404
    renamed = await client.put(f"/api/v1/rules/{REFUND}", json=new, headers=headers)
    assert renamed.status_code == 422
    async with runtime.db.session() as session:
        record = await get_rule(session, rule_id=REFUND)
        assert record is not None
        assert [v.version for v in await list_versions(session, record.pk)] == [3, 2, 1]
        assert await get_rule(session, rule_id="api-made") is not None


async def test_manager_tokens_read_only_and_runs_are_scoped(
    client,
    runtime,
    shipped,  # noqa: F811
    make_store,
    make_user,
) -> None:
    mine, theirs = await make_store("我的店"), await make_store("别人的店")
    done = await add_run(runtime, mine.id, REFUND, "done", dt.timedelta(minutes=5))
    failed = await add_run(runtime, mine.id, REFUND, "failed", dt.timedelta(minutes=4))
    await add_run(runtime, theirs.id, REFUND, "done", dt.timedelta(minutes=3))
    headers = await bearer(runtime, await make_user("boss", Role.MANAGER, [mine]))
    assert (await client.get(f"/api/v1/rules/{REFUND}", headers=headers)).status_code == 200
    body = (await client.get(f"/api/v1/rules/{REFUND}", headers=headers)).json()["rule"]
    assert (await client.put(f"/api/v1/rules/{REFUND}", json=body, headers=headers)).status_code == 403
    assert (await client.post("/api/v1/rules", json=body, headers=headers)).status_code == 403
    runs = (await client.get("/api/v1/rule-runs", headers=headers)).json()
    assert [r["id"] for r in runs] == [failed, done]
    assert runs[0]["conditions"][0]["value"] == 4200
    filtered = await client.get(
        "/api/v1/rule-runs", params={"outcome": "done", "rule": REFUND}, headers=headers
    )
    assert [r["id"] for r in filtered.json()] == [done]
    assert (
        await client.get("/api/v1/rule-runs", params={"outcome": "x"}, headers=headers)
    ).status_code == 400
    agent = await bearer(runtime, await make_user("chen", Role.AGENT, [mine]))
    assert (await client.get("/api/v1/rules", headers=agent)).status_code == 403
    assert (await client.get("/api/v1/rule-runs", headers=agent)).status_code == 403


async def test_the_rules_api_is_in_the_openapi_schema(client) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert {"/api/v1/rules", "/api/v1/rules/{rule_id}", "/api/v1/rule-runs"} <= set(paths)
    assert {"get", "post"} <= set(paths["/api/v1/rules"])
    assert "put" in paths["/api/v1/rules/{rule_id}"]
    for operation in (paths["/api/v1/rules"]["post"], paths["/api/v1/rules/{rule_id}"]["put"]):
        assert {"application/toml", "application/json"} <= set(operation["requestBody"]["content"])
