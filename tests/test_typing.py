"""What the type checker cannot enforce itself: every ``type: ignore`` left in desk says why.

mypy (``.ci/run``, configured in ``pyproject.toml``) already refuses an ignore without an error
code (``ignore-without-code``) and one that no longer silences anything (``warn_unused_ignores``).
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

DESK = Path(__file__).resolve().parent.parent / "desk"
IGNORE = re.compile(r"type:\s*ignore(?P<codes>\[[^\]]*\])?(?P<rest>.*)")


def unexplained_ignores(source: str) -> list[int]:
    """Lines whose ``type: ignore`` lacks a code or a reason (``# type: ignore[code]  # why``)."""
    lines = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type != tokenize.COMMENT:
            continue
        match = IGNORE.search(token.string)
        if match is None:
            continue
        reason = match["rest"].strip().removeprefix("#").strip()
        if not match["codes"] or len(reason) < 8:
            lines.append(token.start[0])
    return lines


def test_the_check_tells_explained_from_bare_ignores() -> None:
    source = (
        "a = 1  # type: ignore\n"
        "b = 2  # type: ignore[misc]\n"
        "c = 3  # type: ignore[misc]  # click's stub calls it a ClassVar\n"
        "d = '# type: ignore'\n"
    )
    assert unexplained_ignores(source) == [1, 2]


def test_every_type_ignore_in_desk_names_its_code_and_says_why() -> None:
    offenders = [
        f"{path.relative_to(DESK.parent)}:{line}"
        for path in sorted(DESK.rglob("*.py"))
        for line in unexplained_ignores(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
