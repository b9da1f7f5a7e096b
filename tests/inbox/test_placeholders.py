"""The ``{…}`` placeholder parser: what counts as a variable, and filling without surprises."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desk.inbox.placeholders import (
    MAX_NAME_LENGTH,
    Literal,
    PieceKind,
    Placeholder,
    fill,
    parse,
    placeholder_names,
)

# Names as admins write them: Chinese, ASCII letters, digits, underscores.
names = st.text(
    alphabet=st.sampled_from("买家昵称订单号物流单号快递公司店铺名称abcXYZ_019"),
    min_size=1,
    max_size=MAX_NAME_LENGTH,
)
# Text around placeholders, braces excluded so that the pieces cannot merge into other placeholders.
literals = st.text(alphabet=st.characters(blacklist_characters="{}｛｝"), max_size=30)


def rejoined(text: str) -> str:
    return "".join(s.text if isinstance(s, Literal) else s.raw for s in parse(text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("您好", [Literal("您好")]),
        ("{订单号}", [Placeholder("订单号", "{订单号}")]),
        (
            "单号{物流单号}已发出",
            [Literal("单号"), Placeholder("物流单号", "{物流单号}"), Literal("已发出")],
        ),
        # What a Chinese input method types, and spaces people leave inside the braces.
        ("｛订单号｝", [Placeholder("订单号", "｛订单号｝")]),
        ("{ 订单号 }", [Placeholder("订单号", "{ 订单号 }")]),
        ("{\u3000订单号\u3000}", [Placeholder("订单号", "{\u3000订单号\u3000}")]),
        # Braces around anything but a name are text: emoticons, empty braces, lone braces.
        ("好评哦{^_^}", [Literal("好评哦{^_^}")]),
        ("{}", [Literal("{}")]),
        ("{订单号", [Literal("{订单号")]),
        ("{订 单号}", [Literal("{订 单号}")]),
        ("{" + "长" * (MAX_NAME_LENGTH + 1) + "}", [Literal("{" + "长" * (MAX_NAME_LENGTH + 1) + "}")]),
        ("{{订单号}}", [Literal("{"), Placeholder("订单号", "{订单号}"), Literal("}")]),
        ("{a}{b}", [Placeholder("a", "{a}"), Placeholder("b", "{b}")]),
        ("line\n{x}\n", [Literal("line\n"), Placeholder("x", "{x}"), Literal("\n")]),
        ("", []),
    ],
)
def test_parse_examples(text: str, expected: list[object]) -> None:
    assert parse(text) == expected


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=200))
def test_any_text_parses_and_joins_back_to_itself(text: str) -> None:
    segments = parse(text)
    assert rejoined(text) == text
    assert all(not (isinstance(s, Literal) and s.text == "") for s in segments)
    # Two literals never follow each other: the parser does not cut text for nothing.
    kinds = [type(s) for s in segments]
    assert all(not (a is Literal and b is Literal) for a, b in itertools.pairwise(kinds))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="{}｛｝ 订单号a_^", max_size=40))
def test_brace_soup_never_breaks_the_parser(text: str) -> None:
    assert rejoined(text) == text
    for name in placeholder_names(text):
        assert 1 <= len(name) <= MAX_NAME_LENGTH


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(literals, names), max_size=6), literals)
def test_the_names_written_are_the_names_found(pieces: list[tuple[str, str]], tail: str) -> None:
    text = "".join(f"{before}{{{name}}}" for before, name in pieces) + tail
    found = [s.name for s in parse(text) if isinstance(s, Placeholder)]
    assert found == [name for _, name in pieces]
    assert placeholder_names(text) == list(dict.fromkeys(found))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(literals, names), max_size=6), literals, st.data())
def test_filling_replaces_exactly_the_names_with_values(
    pieces: list[tuple[str, str]], tail: str, data: st.DataObject
) -> None:
    text = "".join(f"{before}{{{name}}}" for before, name in pieces) + tail
    used = list(dict.fromkeys(name for _, name in pieces))
    known = data.draw(st.sets(st.sampled_from(used)) if used else st.just(set()))
    values = {name: f"<{name}的值>" for name in known}
    filled = fill(text, values)
    expected = "".join(before + (values.get(name, f"{{{name}}}")) for before, name in pieces)
    assert filled.text == expected + tail
    assert filled.missing == [name for name in used if name not in known]
    assert "".join(piece.text for piece in filled.pieces) == filled.text


def test_a_value_is_inserted_as_is_and_never_read_as_a_placeholder() -> None:
    filled = fill("昵称：{买家昵称}，单号：{订单号}", {"买家昵称": "小{订单号}", "订单号": "370001"})
    assert filled.text == "昵称：小{订单号}，单号：370001"
    assert filled.missing == []


def test_an_empty_value_is_missing_and_the_placeholder_stays_as_written() -> None:
    filled = fill("单号 ｛物流单号｝，订单 {订单号}，再次 {订单号}", {"物流单号": "", "订单号": ""})
    assert filled.text == "单号 ｛物流单号｝，订单 {订单号}，再次 {订单号}"
    assert filled.missing == ["物流单号", "订单号"]
    assert [p.kind for p in filled.pieces if p.kind is not PieceKind.TEXT] == [PieceKind.MISSING] * 3
