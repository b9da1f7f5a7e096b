"""The app shell: start page per role, navigation by role, language switch, section pages."""

from __future__ import annotations

import re

import pytest

from desk.accounts.models import Role
from desk.shell.controllers import SETTINGS_SECTIONS
from tests.conftest import login


def nav_labels(html: str) -> list[str]:
    nav = re.search(r'<nav class="nav"[^>]*>(.*?)</nav>', html, re.S).group(1)
    return re.findall(r">([^<]+)</a>", nav)


@pytest.mark.parametrize(
    ("role", "start", "nav"),
    [
        (Role.WAREHOUSE, "/warehouse", ["扫码退单"]),
        (Role.AGENT, "/inbox", ["工作台", "售后"]),
        (Role.MANAGER, "/dashboard", ["工作台", "售后", "数据", "纠纷", "操作记录"]),
        (Role.ADMIN, "/settings", ["工作台", "售后", "数据", "纠纷", "操作记录", "设置"]),
    ],
)
async def test_each_role_starts_on_its_page_and_sees_its_navigation(
    client, app, make_user, role, start, nav
) -> None:
    await login(client, app, await make_user("someone", role))
    r = await client.get("/", follow_redirects=False)
    assert r.headers["location"] == start
    page = await client.get(start)
    assert page.status_code == 200
    assert nav_labels(page.text) == nav
    assert 'class="active" aria-current="page"' in page.text


@pytest.mark.parametrize(
    ("role", "path"), [(Role.AGENT, "/dashboard"), (Role.AGENT, "/settings"), (Role.MANAGER, "/settings")]
)
async def test_pages_above_the_role_are_403(client, app, make_user, role, path) -> None:
    await login(client, app, await make_user("someone", role))
    r = await client.get(path)
    assert r.status_code == 403
    assert "你的角色没有访问此页面的权限" in r.text


async def test_pages_offer_only_my_stores(client, app, make_user, make_store) -> None:
    mine, _theirs = await make_store("我的店"), await make_store("别人的店")
    await login(client, app, await make_user("boss", Role.MANAGER, [mine]))
    inbox = await client.get("/inbox")
    assert ">我的店</option>" in inbox.text
    assert "别人的店" not in inbox.text
    dashboard = await client.get("/dashboard")
    assert "3 分钟人工回复率" in dashboard.text
    assert "我的店" in dashboard.text


async def test_settings_links_every_section_that_exists(client, app, make_user) -> None:
    await login(client, app, await make_user("root", Role.ADMIN))
    page = await client.get("/settings")
    for path in ("/settings/stores", "/settings/wecom", "/settings/users"):
        assert f'href="{path}"' in page.text
    # Sections of other domains (events) appear exactly when their page is mounted.
    routes = app.route_handler_method_map
    for section in SETTINGS_SECTIONS:
        assert (f'href="{section.path}"' in page.text) == (section.path in routes)


async def test_language_switch_sets_a_cookie_and_returns_to_the_page(client, app, make_user) -> None:
    await login(client, app, await make_user("alice", Role.AGENT))
    r = await client.get("/lang/en", headers={"referer": "http://testserver/inbox"}, follow_redirects=False)
    assert r.headers["location"] == "/inbox"
    page = await client.get("/inbox")
    assert '<html lang="en">' in page.text
    assert "Inbox" in page.text
    assert "工作台" not in page.text
    await client.get("/lang/zh-CN")
    assert "工作台" in (await client.get("/inbox")).text


async def test_language_switch_ignores_unknown_languages_and_foreign_referers(client) -> None:
    r = await client.get("/lang/xx", headers={"referer": "https://evil.example/"}, follow_redirects=False)
    assert r.headers["location"] == "/"
    assert "desk_lang" not in r.cookies
    page = await client.get("/login")
    assert '<html lang="zh-CN">' in page.text


async def test_the_login_page_follows_the_language_cookie(client) -> None:
    await client.get("/lang/en")
    page = await client.get("/login")
    assert "Log in" in page.text


async def test_the_desk_has_a_favicon_for_browsers_and_pages(client) -> None:
    icon = await client.get("/favicon.ico")  # asked for without a session, by every browser
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert "max-age=86400" in icon.headers["cache-control"]
    page = await client.get("/login")
    assert '<link rel="icon" href="/favicon.ico" sizes="32x32">' in page.text
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page.text
    svg = await client.get("/static/favicon.svg")
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
