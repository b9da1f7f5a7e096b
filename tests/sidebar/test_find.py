"""The sidebar's search box: what it takes as a phone's last four, an order id, or refuses."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from desk.errors import Invalid
from desk.sidebar.find import FindQuery, parse_query


def test_four_digits_are_a_phone_and_longer_ones_an_order_id() -> None:
    assert parse_query(" 2807 ") == FindQuery(digits="2807", by_phone=True)
    assert parse_query("3713 9956 7300 5065 728") == FindQuery(digits="3713995673005065728", by_phone=False)
    for refused in ("", "123", "12345", "37139a", "３７１３９９", "1" * 33, "'; drop table"):
        assert isinstance(parse_query(refused), Invalid), refused


@given(st.text(max_size=60))
def test_any_text_is_a_query_of_ascii_digits_or_a_clear_refusal(text: str) -> None:
    parsed = parse_query(text)
    if isinstance(parsed, Invalid):
        assert parsed.errors["q"].key == "sidebar.error.find_query"
        return
    assert parsed.digits.isascii()
    assert parsed.digits.isdigit()
    assert parsed.by_phone == (len(parsed.digits) == 4)
    assert len(parsed.digits) == 4 or 6 <= len(parsed.digits) <= 32
    assert parsed.digits == "".join(text.split())


@given(st.from_regex(r"\A[0-9]{6,32}\Z", fullmatch=True))
def test_every_order_id_is_taken_as_typed(order_id: str) -> None:
    assert parse_query(order_id) == FindQuery(digits=order_id, by_phone=False)
