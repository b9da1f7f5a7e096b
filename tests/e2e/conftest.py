"""Browser journeys: the real app served by uvicorn, driven by Playwright with Debian's chromium.

One server and one browser per test session (starting either costs about a second); every test
gets a fresh browser context, so no cookies or storage leak between journeys.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
import uvicorn
from playwright.async_api import Browser, Page, async_playwright

from desk.app import INTERACTIVE_GRACE_S, create_app
from desk.runtime import Runtime
from desk.settings import Settings
from desk.simulator import Simulator, demo_store
from desk.stores.models import Store

T = TypeVar("T")
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
    server = uvicorn.Server(
        uvicorn.Config(
            app, log_level="warning", proxy_headers=False, timeout_graceful_shutdown=INTERACTIVE_GRACE_S
        )
    )
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
        assert not thread.is_alive(), "the live server did not stop"


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        await browser.close()


# Chromium reports most violations on the console itself; the event catches the rest (it is
# added through the DevTools protocol, which the page's CSP does not govern).
_REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) =>
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline code"}`));
"""


@pytest.fixture
async def page(browser: Browser, live_server: str) -> AsyncIterator[Page]:
    """A fresh browser context (no cookies) at 1280×800, the size the desk is designed for.

    Every journey doubles as a check of the desk's CSP: a violation on any page fails the test.
    """
    context = await browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    await context.add_init_script(_REPORT_CSP_VIOLATIONS)
    page = await context.new_page()
    violations: list[str] = []  # console messages about CSP violations, with the page's URL
    page.on(
        "console",
        lambda message: (
            violations.append(f"{page.url}: {message.text}")
            if "Content Security Policy" in message.text or message.text.startswith("CSP violation")
            else None
        ),
    )
    yield page
    await context.close()
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)


# -- the desk with its worker, and the simulated platform it talks to ------------------------------


@dataclass
class SimDesk:
    """A desk served for real with its embedded worker, and the simulator it talks to over HTTP."""

    url: str
    sim_url: str
    simulator: Simulator
    stores: list[Store]
    loop: asyncio.AbstractEventLoop
    """The event loop the simulator and the desk run in (another thread's)."""

    async def on_platform(self, action: Callable[[], T]) -> T:
        """Run ``action`` (a call on :attr:`simulator`, say ``ship_order``) in the simulator's own
        thread: its pushes and timers belong to that loop and must not be touched from the test's."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def call() -> None:
            try:
                future.set_result(action())
            except BaseException as exc:  # handed to the test
                future.set_exception(exc)

        self.loop.call_soon_threadsafe(call)
        return await asyncio.wrap_future(future)


@pytest.fixture
async def sim_desk(settings: Settings, runtime: Runtime, make_store: Any) -> AsyncIterator[SimDesk]:
    """Two stores connected to a simulator; the desk (with ``DESK_WORKER=embedded``) and the
    simulator both run in a thread of their own, as ``desk demo`` runs them."""
    seed = secrets.randbelow(1_000_000)
    simulator = Simulator(seed=seed)
    desk_sock, sim_sock = _free_socket(), _free_socket()
    desk_url = f"http://127.0.0.1:{desk_sock.getsockname()[1]}"
    sim_port = sim_sock.getsockname()[1]
    sim_sock.close()  # the simulator binds its own port
    stores = []
    for n in (1, 2):
        config = demo_store(n, push_url="", seed=seed)
        store = await make_store(
            name=config.name,
            appid=config.appid,
            appsecret=config.secret,
            token=config.token,
            aes_key=config.aes_key,
        )
        stores.append(store)
        simulator.add_store(dataclasses.replace(config, push_url=f"{desk_url}/webhooks/channels/{store.key}"))
    sim_url = f"http://127.0.0.1:{sim_port}"
    app = create_app(
        settings.with_changes(
            worker="embedded",
            channels_api_base=sim_url,
            wecom_api_base=sim_url,
            public_url=desk_url,
            worker_poll_s=0.2,
        )
    )
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=INTERACTIVE_GRACE_S)
    )
    started = threading.Event()
    failure: list[BaseException] = []
    loops: list[asyncio.AbstractEventLoop] = []

    async def serve() -> None:
        loops.append(asyncio.get_running_loop())
        async with simulator.serving(port=sim_port):
            task = asyncio.create_task(server.serve(sockets=[desk_sock]))
            while not server.started and not task.done():  # noqa: ASYNC110 - uvicorn has no event to wait on
                await asyncio.sleep(0.02)
            started.set()
            await task

    def run() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:  # reported below
            failure.append(exc)
            started.set()

    thread = threading.Thread(target=run, name="sim-desk", daemon=True)
    thread.start()
    await asyncio.to_thread(started.wait, 30)
    if failure or not server.started:
        raise RuntimeError(f"the desk or the simulator did not start: {failure}")
    try:
        yield SimDesk(url=desk_url, sim_url=sim_url, simulator=simulator, stores=stores, loop=loops[0])
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 30)
        desk_sock.close()
        # A desk left running would go on applying the events, commands and timers of the tests
        # that follow (they share the database).
        assert not thread.is_alive(), "the desk did not stop: its embedded worker would outlive the test"


def _free_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock
