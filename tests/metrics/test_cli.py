"""``desk metrics rebuild`` and ``desk metrics report`` against the test database."""

from __future__ import annotations

import sqlalchemy as sa

from desk.accounts.models import Role
from desk.metrics.models import MetricRollup
from desk.runtime import Runtime
from tests.inbox.support import buyer_writes
from tests.metrics.support import figures, local, replies, settle
from tests.shell.helpers import run_cli

DAY = "2026-12-01"


async def a_day_of_chats(runtime: Runtime, make_store, make_user):
    store = await make_store(name="旗舰店")
    agent = await make_user("agent", Role.AGENT, stores=[store])
    fast = await buyer_writes(runtime, store, "a", local(DAY, "10:00:00"))
    slow = await buyer_writes(runtime, store, "b", local(DAY, "10:00:00"))
    await replies(runtime, agent, fast, local(DAY, "10:01:00"))
    await replies(runtime, agent, slow, local(DAY, "10:05:00"))
    return store


async def test_rebuild_recomputes_rollups_that_went_wrong(
    settings, runtime: Runtime, make_store, make_user
) -> None:
    store = await a_day_of_chats(runtime, make_store, make_user)
    await settle(runtime)
    async with runtime.db.engine.begin() as conn:
        await conn.execute(sa.update(MetricRollup).values(consultations=99, answered_in_time=0))
    assert (await figures(runtime, [store.id], DAY)).consultations == 99

    result = await run_cli(settings, "metrics", "rebuild", "--since", "2026-11-30", "--lang", "en")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Rollups from 2026-11-30 rebuilt from 4 facts.\n"
    assert "Rebuilding rollups" in result.stderr  # the progress bar
    day = await figures(runtime, [store.id], DAY)
    assert (day.consultations, day.answered_in_time) == (2, 1)


async def test_rebuild_refuses_a_bad_since(settings, runtime: Runtime) -> None:
    result = await run_cli(settings, "metrics", "rebuild", "--since", "30")
    assert result.exit_code == 2
    assert "--since: '30' is neither a number of days like 30d nor a date like 2026-11-01" in result.stderr


async def test_report_prints_the_days_figures_per_store(
    settings, runtime: Runtime, make_store, make_user
) -> None:
    await a_day_of_chats(runtime, make_store, make_user)
    await make_store(name="新店")

    result = await run_cli(settings, "metrics", "report", "--day", DAY)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "2026-12-01 新店",
        "  暂无数据",
        "2026-12-01 旗舰店",
        "  3分钟人工回复率 50.0%（1/2）",
        "  考核时段外咨询 0 个，3分钟回复率 暂无数据",
        "  首次响应时长（秒）中位数 180，P90 300",
        "  售后 0 单 / 支付订单 0 单，售后率 暂无数据",
        "  仅退款平均完结 暂无数据 秒（0 单），退货退款平均完结 暂无数据 秒（0 单）",
        "  自动完结占比 暂无数据",
    ]
    english = await run_cli(settings, "metrics", "report", "--day", DAY, "--store", "旗舰店", "--lang", "en")
    assert english.stdout.splitlines()[:2] == [
        "2026-12-01 旗舰店",
        "  3-minute human reply rate 50.0% (1/2)",
    ]


async def test_report_refuses_a_bad_day_or_an_unknown_store(settings, runtime: Runtime, make_store) -> None:
    await make_store(name="旗舰店")
    bad_day = await run_cli(settings, "metrics", "report", "--day", "2026-13-01")
    assert bad_day.exit_code == 2
    assert "'2026-13-01' is not a date like 2026-12-01" in bad_day.stderr
    unknown = await run_cli(settings, "metrics", "report", "--day", DAY, "--store", "nope")
    assert unknown.exit_code == 2
    assert "--store: no active store has the key or name 'nope'" in unknown.stderr


async def test_window_sets_the_stores_window_and_deadline_for_new_consultations(
    settings, runtime: Runtime, make_store, make_user
) -> None:
    store = await make_store(name="旗舰店")
    agent = await make_user("agent", Role.AGENT, stores=[store])
    shown = await run_cli(settings, "metrics", "window", "旗舰店")
    assert shown.stdout == "旗舰店: 08:00–24:00, 180 s\n"

    changed = await run_cli(settings, "metrics", "window", store.key, "--to", "23:00", "--deadline", "600")
    assert changed.exit_code == 0, changed.output
    assert changed.stdout == "旗舰店: 08:00–23:00, 600 s\n"
    late = await buyer_writes(runtime, store, "a", local(DAY, "23:00:00"))
    slow = await buyer_writes(runtime, store, "b", local(DAY, "22:00:00"))
    await replies(runtime, agent, late, local(DAY, "23:01:00"))
    await replies(runtime, agent, slow, local(DAY, "22:09:00"))
    day = await figures(runtime, [store.id], DAY)
    assert (day.consultations, day.answered_in_time, day.outside_consultations) == (1, 1, 1)


async def test_window_refuses_bad_times_and_unknown_stores(settings, runtime: Runtime, make_store) -> None:
    await make_store(name="旗舰店")
    bad = await run_cli(settings, "metrics", "window", "旗舰店", "--from", "25:00")
    assert bad.exit_code == 2
    assert "'25:00' is not a time between 00:00 and 24:00" in bad.stderr
    empty = await run_cli(settings, "metrics", "window", "旗舰店", "--from", "08:00", "--to", "08:00")
    assert "the window would be empty" in empty.stderr
    unknown = await run_cli(settings, "metrics", "window", "nope", "--deadline", "60")
    assert unknown.exit_code == 2
    assert "no store has the key or name 'nope'" in unknown.stderr
