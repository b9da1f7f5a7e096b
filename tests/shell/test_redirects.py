"""Redirect targets taken from the request stay on this site."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desk.shell.redirects import local_path


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/inbox?x=1", "/inbox?x=1"),
        ("http://testserver/inbox", "/inbox"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("http://testserver.evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("/a\r\nSet-Cookie: x=1", "/"),
        ("", "/"),
    ],
)
def test_local_path(target: str, expected: str) -> None:
    assert local_path(target, base_url="http://testserver/") == expected


@given(st.text())
def test_the_result_is_always_a_same_site_path(target: str) -> None:
    result = local_path(target, base_url="http://testserver")
    assert result.startswith("/")
    assert not result.startswith(("//", "/\\"))
