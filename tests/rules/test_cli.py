"""``desk rules check / import / export`` on the shipped files and on broken ones."""

from __future__ import annotations

import shutil
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner

from desk.cli import main
from desk.rules.files import dump, load
from desk.rules.models import RuleRow, RuleVersion
from tests.shell.helpers import run_cli

SHIPPED = Path(__file__).parents[2] / "rules"


def check(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["rules", "check", str(path)])
    return result.exit_code, result.output


def test_the_shipped_files_are_valid_and_in_the_canonical_form() -> None:
    files = sorted(SHIPPED.glob("*.toml"))
    assert [f.name for f in files] == ["refunds.toml", "replies.toml", "tags.toml"]
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert dump(load(text, str(path))) == text
        code, output = check(path)
        assert code == 0, output
        assert "all valid" in output


def test_money_moving_defaults_are_disabled_and_harmless_ones_enabled() -> None:
    enabled = {
        rule.id: rule.enabled
        for path in SHIPPED.glob("*.toml")
        for rule in load(path.read_text(encoding="utf-8"), str(path))
    }
    assert enabled == {
        "refund-unshipped-4h": False,
        "return-bound-address": False,
        "welcome": True,
        "placate-90s": True,
        "tag-size": True,
        "tag-logistics": True,
        "tag-refund": True,
        "tag-address": True,
    }


def test_check_prints_every_error_with_file_line_and_path_and_exits_1(tmp_path: Path) -> None:
    text = (SHIPPED / "refunds.toml").read_text(encoding="utf-8")
    bad = tmp_path / "auto_refund.toml"
    bad.write_text(
        text.replace("{ max = 4 }", '{ max = "4" }').replace("priority = 20", "priority = -1"),
        encoding="utf-8",
    )
    code, output = check(bad)
    assert code == 1
    lines = output.strip().splitlines()
    assert lines[0] == (
        f"{bad}:12: rules[0].conditions.all[2].order_age_hours.max: expected a number, got a string"
    )
    assert lines[1] == f"{bad}:24: rules[1].priority: expected an integer >= 0"
    assert lines[2] == "Error: 2 errors; nothing was saved"
    assert "Traceback" not in output


def test_check_of_a_missing_file_says_so(tmp_path: Path) -> None:
    code, output = check(tmp_path / "nope.toml")
    assert code == 1
    assert "cannot read" in output


async def count(runtime, table) -> int:
    async with runtime.db.transaction() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one())


async def test_import_then_export_gives_back_the_same_files(settings, runtime, tmp_path: Path) -> None:
    result = await run_cli(settings, "rules", "import", str(SHIPPED))
    assert result.exit_code == 0, result.output
    assert "8 created, 0 updated (new version), 0 unchanged" in result.output
    out = tmp_path / "out"
    result = await run_cli(settings, "rules", "export", str(out))
    assert result.exit_code == 0, result.output
    for path in SHIPPED.glob("*.toml"):
        assert (out / path.name).read_text(encoding="utf-8") == path.read_text(encoding="utf-8")
    assert sorted(p.name for p in out.iterdir()) == ["refunds.toml", "replies.toml", "tags.toml"]


async def test_importing_again_keeps_versions_and_a_change_is_a_new_version(
    settings, runtime, tmp_path
) -> None:
    work = tmp_path / "rules"
    shutil.copytree(SHIPPED, work)
    assert (await run_cli(settings, "rules", "import", str(work))).exit_code == 0
    again = await run_cli(settings, "rules", "import", str(work))
    assert "0 created, 0 updated (new version), 8 unchanged" in again.output
    refunds = work / "refunds.toml"
    refunds.write_text(
        refunds.read_text(encoding="utf-8").replace("{ max = 4 }", "{ max = 2 }"), encoding="utf-8"
    )
    changed = await run_cli(settings, "rules", "import", str(work))
    assert "0 created, 1 updated (new version), 7 unchanged" in changed.output
    async with runtime.db.transaction() as conn:
        row = (
            await conn.execute(sa.select(RuleRow.__table__).where(RuleRow.rule_id == "refund-unshipped-4h"))
        ).one()
    assert row.version == 2
    assert row.body["conditions"]["all"][2] == {"order_age_hours": {"max": 2}}
    assert await count(runtime, RuleVersion.__table__) == 9


async def test_an_import_with_one_bad_rule_saves_nothing_and_lists_every_error(
    settings, runtime, tmp_path
) -> None:
    work = tmp_path / "rules"
    shutil.copytree(SHIPPED, work)
    tags = work / "tags.toml"
    tags.write_text(
        tags.read_text(encoding="utf-8").replace('type = "tag_buyer"', 'type = "tag"'), encoding="utf-8"
    )
    replies = work / "replies.toml"
    replies.write_text(
        replies.read_text(encoding="utf-8").replace("{store_name}", "{shop}"), encoding="utf-8"
    )
    result = await run_cli(settings, "rules", "import", str(work))
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if not line.startswith("Error:")]
    assert len(errors) == 5  # the reply's variable, and each of the four tag rules' unknown action
    assert errors[0].startswith(f"{replies}:10: rules[0].actions[0].text: unknown variable {{shop}}")
    assert errors[1].startswith(f"{tags}:10: rules[0].actions[0].type: unknown action 'tag'")
    assert "Error: 5 errors; nothing was saved" in result.output
    assert await count(runtime, RuleRow.__table__) == 0


async def test_the_same_id_in_two_files_is_refused(settings, runtime, tmp_path) -> None:
    work = tmp_path / "rules"
    shutil.copytree(SHIPPED, work)
    shutil.copy(work / "replies.toml", work / "more.toml")
    result = await run_cli(settings, "rules", "import", str(work))
    assert result.exit_code == 1
    assert "id 'welcome' is also in" in result.output
    assert await count(runtime, RuleRow.__table__) == 0
