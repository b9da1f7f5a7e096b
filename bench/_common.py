"""What the benchmarks share: a throwaway PostgreSQL database, desk processes, small helpers.

Benchmarks run as scripts (``python bench/NAME.py``), so this is imported as ``_common`` from the
script's own folder. They measure on this machine, against its PostgreSQL (``DESK_DATABASE_URL``,
default the local server) and Redis (``DESK_REDIS_URL``) when set.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

__all__ = [
    "ROOT",
    "asyncpg_dsn",
    "create_database",
    "desk_env",
    "drop_database",
    "free_port",
    "log",
    "percentile",
    "process",
    "server_url",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def log(message: str) -> None:
    print(message, flush=True)


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p`` quantile (0–1) of ``values`` by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


# -- database ------------------------------------------------------------------------------------


def server_url() -> str:
    configured = os.environ.get("DESK_DATABASE_URL", "")
    if configured.startswith("postgresql"):
        return configured
    return "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def create_database(base: str) -> str:
    name = f"desk_bench_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(asyncpg_dsn(make_url(base).set(database="postgres").render_as_string(False)))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return make_url(base).set(database=name).render_as_string(hide_password=False)


async def drop_database(url: str) -> None:
    name = make_url(url).database
    conn = await asyncpg.connect(asyncpg_dsn(make_url(url).set(database="postgres").render_as_string(False)))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


# -- desk processes ----------------------------------------------------------------------------------


@contextmanager
def process(
    args: list[str], env: dict[str, str], port: int | None, name: str
) -> Iterator[subprocess.Popen[bytes]]:
    """A subprocess, ready when its port answers ``/healthz`` (or at once without a port), stopped
    after. Its output goes to a file (an unread pipe would block it once full)."""
    with tempfile.TemporaryFile() as output:
        yield from _supervised(args, env, port, name, output)


def _supervised(
    args: list[str], env: dict[str, str], port: int | None, name: str, output: Any
) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)

    def tail() -> str:
        output.seek(0)
        return str(output.read().decode(errors="replace")[-3000:])

    try:
        deadline = time.monotonic() + 90
        while port is not None and time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited: {tail()}")
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            if port is not None:
                raise RuntimeError(f"{name} did not start: {tail()}")
        yield proc
    finally:
        if proc.poll() is not None and proc.returncode not in (0, -signal.SIGTERM):
            log(f"{name} had exited ({proc.returncode}): {tail()}")
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def desk_env(url: str, secret_key: str, **extra: str) -> dict[str, str]:
    """The environment of a desk process on ``url``: nothing of the caller's ``DESK_*`` but Redis."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env.update(
        DESK_DATABASE_URL=url,
        DESK_SECRET_KEY=secret_key,
        DESK_LOG_LEVEL="WARNING",
        DESK_WORKER="off",
    )
    if os.environ.get("DESK_REDIS_URL"):
        env["DESK_REDIS_URL"] = os.environ["DESK_REDIS_URL"]
    env.update(extra)
    return env
