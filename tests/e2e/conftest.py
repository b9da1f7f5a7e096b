"""Browser journeys: the real app served by uvicorn, driven by Playwright with Debian's chromium.

One server and one browser per test session (starting either costs about a second); every test
gets a fresh browser context, so no cookies or storage leak between journeys.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import uvicorn
from playwright.async_api import Browser, Page, async_playwright

from desk.app import create_app
from desk.settings import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def live_server(settings: Settings) -> Iterator[str]:
    """The desk app on a free local port, in a thread with its own event loop and runtime.

    ``create_app(settings)`` builds the app's own :class:`~desk.runtime.Runtime` over the test
    database, which the server starts and stops with the app, as ``desk serve`` does.
    """
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    host, port = sock.getsockname()
    app = create_app(settings.with_changes(host=host, port=port))
    # proxy_headers off, as `desk serve` runs it: the app decides whom to believe (desk.proxies).
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", proxy_headers=False))
    failure: list[BaseException] = []

    def serve() -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as exc:  # reported to the test session below
            failure.append(exc)

    thread = threading.Thread(target=serve, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    if not server.started:
        server.should_exit = True
        raise RuntimeError(f"the live server did not start: {failure}")
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        await browser.close()


@pytest.fixture
async def page(browser: Browser, live_server: str) -> AsyncIterator[Page]:
    """A fresh browser context (no cookies) at 1280×800, the size the desk is designed for."""
    context = await browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    page = await context.new_page()
    yield page
    await context.close()
