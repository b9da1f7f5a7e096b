"""Vendored front-end files are the exact published versions VENDOR.md names."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "static"


def test_vendored_files_match_their_recorded_checksums() -> None:
    rows = re.findall(
        r"^\| `(vendor/[^`]+)` \|.*\| `([0-9a-f]{64})` \|$", (STATIC / "VENDOR.md").read_text(), re.M
    )
    vendored = {p.relative_to(STATIC).as_posix() for p in (STATIC / "vendor").rglob("*") if p.is_file()}
    assert {name for name, _ in rows} == vendored
    for name, digest in rows:
        assert hashlib.sha256((STATIC / name).read_bytes()).hexdigest() == digest, name


def test_htmx_is_the_2_0_line() -> None:
    assert re.search(r'version:"2\.0\.\d+"', (STATIC / "vendor" / "htmx-2.0.11.min.js").read_text())
