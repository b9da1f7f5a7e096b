"""What the order search box accepts: an order id or a phone's last four digits, nothing else."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from desk.errors import Invalid
from desk.orders.search import MAX_ORDER_ID_LENGTH, OrderQuery, parse_order_query

# Mostly digits and spaces with some of everything else (full-width digits, letters, quotes).
anything = st.text(alphabet=st.one_of(st.sampled_from(string.digits + " "), st.characters()), max_size=40)


@given(anything)
def test_a_query_is_an_order_id_a_phone_tail_or_refused(q: str) -> None:
    result = parse_order_query(q)
    stripped = q.strip()
    if isinstance(result, Invalid):
        assert stripped
        assert result.errors["q"].key == "orders.search.error.query"
        assert not (stripped.isascii() and stripped.isdigit()) or len(stripped) > MAX_ORDER_ID_LENGTH
    elif not stripped:
        assert result == OrderQuery()
    elif len(stripped) == 4:
        assert result == OrderQuery(phone_tail=stripped)
    else:
        assert result == OrderQuery(order_id=stripped)
        assert stripped.isascii()
        assert stripped.isdigit()


@given(st.text(alphabet=string.digits, min_size=1, max_size=MAX_ORDER_ID_LENGTH))
def test_every_digit_string_is_searchable(digits: str) -> None:
    result = parse_order_query(f"  {digits}\t")
    assert isinstance(result, OrderQuery)
    assert digits in (result.order_id, result.phone_tail)


def test_examples() -> None:
    assert parse_order_query("2807") == OrderQuery(phone_tail="2807")
    assert parse_order_query("3700000000000000001") == OrderQuery(order_id="3700000000000000001")
    assert isinstance(parse_order_query("２８０７"), Invalid)  # full-width digits are not ASCII digits
    assert isinstance(parse_order_query("28 07"), Invalid)
