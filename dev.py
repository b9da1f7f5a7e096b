#!/usr/bin/env python3
"""Set-up commands for a fresh machine that has only Python 3.11+.

    python3 dev.py demo      install what the demo needs, then start it (URL and logins printed)
    python3 dev.py test      install what the tests need, then run the whole test suite

Both create ``.venv/`` beside this file on first use and reinstall only when ``pyproject.toml``
changes. Anything after the command is passed on (``python3 dev.py demo --port 9000``,
``python3 dev.py test -k ingest``). Standard library only: this runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
CHROMIUM = Path("/usr/bin/chromium")


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def ensure_venv(extra: str) -> None:
    """Create the venv and install the project (with ``extra``) unless already current."""
    if not PYTHON.exists():
        say(f"creating {VENV.relative_to(ROOT)}")
        venv.create(VENV, with_pip=True)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    stamp = VENV / f".installed-{extra or 'base'}-{digest}"
    if stamp.exists():
        return
    say("installing desk and its dependencies (first run only; about a minute)")
    target = f"{ROOT}[{extra}]" if extra else str(ROOT)
    subprocess.run(
        # -qq: errors only; some machines' pip configuration prints pages of harmless warnings.
        [str(PYTHON), "-m", "pip", "install", "-qq", "--disable-pip-version-check", "-e", target],
        check=True,
    )
    for old in VENV.glob(f".installed-{extra or 'base'}-*"):
        old.unlink()
    stamp.touch()


def ensure_chromium() -> None:
    """The browser tests drive Debian's chromium; install it with apt when we may."""
    if CHROMIUM.exists():
        return
    apt = shutil.which("apt-get")
    if apt and os.geteuid() == 0:
        say("installing Debian's chromium for the browser tests")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if subprocess.run([apt, "install", "-y", "-q", "chromium"], env=env, check=False).returncode:
            subprocess.run([apt, "update", "-q"], env=env, check=True)
            subprocess.run([apt, "install", "-y", "-q", "chromium"], env=env, check=True)
        return
    sys.exit(
        "The browser tests need Chromium at /usr/bin/chromium. Install it (Debian/Ubuntu: "
        "`sudo apt-get install chromium`) and run this command again."
    )


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - this file runs before we know the interpreter
        sys.exit(f"desk needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not argv or argv[0] not in {"demo", "test"}:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    os.chdir(ROOT)
    if command == "demo":
        ensure_venv("")
        return subprocess.call([str(BIN / "desk"), "demo", *rest])
    ensure_venv("dev")
    ensure_chromium()
    return subprocess.call([str(PYTHON), "-m", "pytest", *rest])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
