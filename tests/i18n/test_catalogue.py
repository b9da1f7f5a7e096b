"""The message catalogues: both languages complete, and no UI text hard-coded in templates."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from desk import i18n
from desk.i18n import DEFAULT_LANGUAGE, LANGUAGES, Message, catalogue, negotiate, translate
from desk.paths import TEMPLATES_DIR

I18N_DIR = Path(i18n.__file__).parent
CJK = re.compile(
    r"[\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]"
)
JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.S)
LITERAL_KEY = re.compile(r"""\bt\(\s*["']([\w.]+)["']\s*[,)]""")


def placeholders(text: i18n.Text) -> set[str]:
    forms = text.values() if isinstance(text, dict) else [text]
    return {name for form in forms for _, name, _, _ in string.Formatter().parse(form) if name}


def templates() -> list[Path]:
    return sorted(TEMPLATES_DIR.rglob("*.html"))


def test_every_language_has_exactly_the_same_keys_and_placeholders() -> None:
    reference = catalogue(DEFAULT_LANGUAGE)
    for language in LANGUAGES:
        messages = catalogue(language)
        assert messages.keys() == reference.keys(), language
        for key, text in messages.items():
            assert placeholders(text) == placeholders(reference[key]), (language, key)


def test_plural_forms_are_those_each_language_has() -> None:
    for language in LANGUAGES:
        for key, text in catalogue(language).items():
            if isinstance(text, dict):
                expected = {"one", "other"} if language == "en" else {"other"}
                assert set(text) == expected, (language, key)
                assert all("{count}" in form for form in text.values()), (language, key)


@pytest.mark.parametrize(
    ("language", "count", "expected"),
    [
        ("en", 1, "1 field needs fixing"),
        ("en", 2, "2 fields need fixing"),
        ("en", 0, "0 fields need fixing"),
        ("zh-CN", 1, "有 1 处需要修改"),
        ("zh-CN", 3, "有 3 处需要修改"),
    ],
)
def test_counted_messages_take_the_plural_form_of_their_language(
    language: str, count: int, expected: str
) -> None:
    assert translate(language, "form.fix_errors", count=count).startswith(expected)


def test_every_language_has_the_same_files() -> None:
    files = {language: {p.name for p in (I18N_DIR / language).glob("*.toml")} for language in LANGUAGES}
    assert len({frozenset(names) for names in files.values()}) == 1, files


@pytest.mark.parametrize("path", templates(), ids=lambda p: str(p.relative_to(TEMPLATES_DIR)))
def test_templates_hold_no_chinese_text_outside_the_catalogue(path: Path) -> None:
    source = JINJA_COMMENT.sub("", path.read_text())
    found = CJK.findall(source)
    assert not found, f"{path}: UI text belongs in desk/i18n/*/*.toml: {''.join(found)}"


def test_every_literal_key_a_template_uses_exists() -> None:
    known = catalogue(DEFAULT_LANGUAGE)
    missing = {
        (path.name, key)
        for path in templates()
        for key in LITERAL_KEY.findall(path.read_text())
        if key not in known
    }
    assert not missing


def test_translate_fills_placeholders_and_falls_back() -> None:
    assert translate("zh-CN", "login.throttled", seconds=42) == "登录失败次数过多，请在 42 秒后重试。"
    assert (
        translate("en", "login.throttled", seconds=42) == "Too many failed logins. Try again in 42 seconds."
    )
    assert translate("fr", "nav.inbox") == "工作台"
    assert translate("en", "no.such.key") == "no.such.key"
    assert Message("form.too_long", {"max": 64}).render("en") == "At most 64 characters."


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        (("en",), "en"),
        ((None, "en-US,en;q=0.9"), "en"),
        (("zh-TW",), "zh-CN"),
        (("fr", None), "zh-CN"),
        ((), "zh-CN"),
    ],
)
def test_negotiate(candidates: tuple[str | None, ...], expected: str) -> None:
    assert negotiate(*candidates) == expected
