"""Driving desk as its users do: forms posted with the CSRF token, and the ``desk`` command."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from click.testing import CliRunner, Result

from desk.cli import main
from desk.settings import Settings
from tests.conftest import TEST_PASSWORD, csrf_headers


async def post_form(client: httpx.AsyncClient, url: str, data: dict[str, Any]) -> httpx.Response:
    """POST ``data`` url-encoded with the CSRF token, fetching a page first if there is no cookie yet."""
    if "desk_csrf" not in client.cookies:
        await client.get("/login")
    return await client.post(url, data=data, headers=csrf_headers(client))


async def login_with_form(
    client: httpx.AsyncClient, username: str, password: str = TEST_PASSWORD, next_path: str = "/"
) -> httpx.Response:
    """Log in through the login form, as a person would."""
    return await post_form(client, "/login", {"username": username, "password": password, "next": next_path})


async def run_cli(settings: Settings, *args: str, input: str | None = None) -> Result:
    """Run ``desk ARGS`` against the test database.

    In a thread: the command runs its own event loop, which cannot nest inside the test's.
    """
    env = {
        "DESK_DATABASE_URL": settings.database_url,
        "DESK_SECRET_KEY": settings.secret_key,
        "DESK_CHANNELS_API_BASE": settings.channels_api_base,
        "DESK_WECOM_API_BASE": settings.wecom_api_base,
        "DESK_PUBLIC_URL": settings.public_url,
    }
    return await asyncio.to_thread(CliRunner().invoke, main, list(args), env=env, input=input)
