"""The freshness rule for pushes, on its own: any text as a timestamp, any clock, any allowance."""

from __future__ import annotations

import hypothesis.strategies as st
import pytest
from hypothesis import given

from desk.ingest.receiver import PushRefusedError, require_fresh

NOW = 1_796_000_000.0


@given(offset=st.integers(-(10**9), 10**9), max_skew=st.integers(1, 86_400))
def test_a_timestamp_is_taken_exactly_when_within_the_allowance(offset: int, max_skew: int) -> None:
    timestamp = str(int(NOW) + offset)
    if offset < -int(NOW):
        return  # before 1970: not Unix seconds at all (covered below)
    if abs(offset) <= max_skew:
        require_fresh(timestamp, now=NOW, max_skew_s=max_skew)
        return
    with pytest.raises(PushRefusedError) as refused:
        require_fresh(timestamp, now=NOW, max_skew_s=max_skew)
    assert refused.value.status == 401
    assert ("old" if offset < 0 else "in the future") in refused.value.reason


@given(timestamp=st.text(max_size=40) | st.from_regex(r"[0-9]{1,14}", fullmatch=True))
def test_any_text_is_taken_or_refused_with_a_4xx_that_says_why(timestamp: str) -> None:
    well_formed = timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12
    if well_formed and abs(int(timestamp) - NOW) <= 300:
        require_fresh(timestamp, now=NOW, max_skew_s=300)
        return
    with pytest.raises(PushRefusedError) as refused:
        require_fresh(timestamp, now=NOW, max_skew_s=300)
    if well_formed:
        assert refused.value.status == 401
        assert "DESK_PUSH_MAX_SKEW" in refused.value.reason
    else:
        assert refused.value.status == 400
        assert repr(timestamp[:20]) in refused.value.reason
