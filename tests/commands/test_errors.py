"""Platform errcodes in words: every code agents meet has a meaning in both languages, and an
unknown one still says what the platform said."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desk.commands.errors import describe_error
from desk.i18n import LANGUAGES
from desk.inbox.commands import OUTCOME_UNKNOWN
from desk.simulator import errcodes

# The codes agents and admins meet (spec §1, §3, §6), and the desk's own "outcome unknown".
MET_BY_AGENTS = [
    errcodes.COMMKF_REPLY_WINDOW_CLOSED,
    errcodes.COMMKF_REPLY_LIMIT,
    errcodes.COMMKF_INVALID_OPENID,
    errcodes.BUSY,
    errcodes.INVALID_CREDENTIAL,
    errcodes.TOKEN_EXPIRED,
    45009,
    errcodes.KF_WRONG_STATE,
    errcodes.KF_BAD_OPEN_KFID,
    errcodes.KF_NOT_FOUND,
    OUTCOME_UNKNOWN,
    10021046,
    10021068,
    errcodes.AFTERSALE_REFUND_TOO_OFTEN,
    errcodes.AFTERSALE_WRONG_STATUS,
    10021041,
    errcodes.AFTERSALE_NOT_FOUND,
    10021057,
    10021051,
    errcodes.AFTERSALE_RETURN_ADDRESS_MISSING,
    errcodes.AFTERSALE_RETURN_ADDRESS_INVALID,
]


@pytest.mark.parametrize("code", MET_BY_AGENTS)
def test_codes_agents_meet_have_their_own_meaning_in_every_language(code: int) -> None:
    message = describe_error(code, "some errmsg rid: 1234")
    assert message.key == f"errcode.{code}"
    texts = {language: message.render(language) for language in LANGUAGES}
    assert all(text and text != message.key for text in texts.values()), texts
    assert texts["zh-CN"] != texts["en"]


def test_meanings_say_what_the_agent_can_do() -> None:
    assert "48" in describe_error(45015, "").render("zh-CN")
    assert "5" in describe_error(45047, "").render("en")
    assert "余额" in describe_error(10021046, "").render("zh-CN")
    assert "negotiate" in describe_error(10021068, "").render("en")


def test_an_unknown_code_names_itself_and_the_platforms_message() -> None:
    message = describe_error(99999, "system error rid: 6523-abc")
    assert message.render("zh-CN") == "平台返回错误 99999：system error rid: 6523-abc"
    assert message.render("en") == "The platform answered error 99999: system error rid: 6523-abc"


def test_a_failure_without_a_code_shows_the_reason() -> None:
    assert describe_error(None, "platform unreachable after 8 tries").render("en") == (
        "Error: platform unreachable after 8 tries"
    )
    assert describe_error(None, "  ").render("zh-CN") == "出错：?"


@given(code=st.one_of(st.none(), st.integers(min_value=-(2**63), max_value=2**63 - 1)), detail=st.text())
def test_every_code_and_detail_gives_a_text_in_every_language(code: int | None, detail: str) -> None:
    message = describe_error(code, detail)
    for language in LANGUAGES:
        text = message.render(language)
        assert text
        if message.key.endswith(("fallback", "without_code")) and detail.strip():
            assert detail.strip() in text
        if message.key.endswith("fallback"):
            assert str(code) in text
