"""Fixtures for ingest tests: WeCom corps, signed pushes, event counts."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import msgspec
import pytest
import sqlalchemy as sa
import uvicorn
from litestar import Litestar

from desk.ingest.models import EventSource, EventState, PlatformEvent
from desk.ingest.worker import Worker
from desk.ingest.writer import EventRow, EventWriter
from desk.platform.crypto import MsgCrypt
from desk.platform.events import decode_channels_event
from desk.runtime import Runtime
from desk.settings import Settings
from desk.simulator import Simulator, demo_corp, demo_store
from desk.stores.clients import PlatformClients
from desk.stores.models import Store, WeComCorp
from tests.conftest import TEST_AES_KEY


@pytest.fixture
def make_corp(runtime: Runtime) -> Any:
    """Create a WeCom corp with encrypted test credentials: ``await make_corp(default_store=store)``."""
    counter = iter(range(1, 10_000))

    async def factory(default_store: Store | None = None, **fields: Any) -> WeComCorp:
        n = next(counter)
        box = runtime.secrets
        async with runtime.db.session() as session:
            corp = WeComCorp(
                key=fields.pop("key", secrets.token_hex(8)),
                name=f"测试企业{n}",
                corpid=fields.pop("corpid", f"wwtest{n:08d}"),
                secret_enc=box.encrypt(fields.pop("secret", f"corp-secret-{n}")),
                token_enc=box.encrypt(fields.pop("token", f"corptoken{n}")),
                aes_key_enc=box.encrypt(fields.pop("aes_key", TEST_AES_KEY)),
                default_store_id=default_store.id if default_store else None,
                **fields,
            )
            session.add(corp)
        return corp

    return factory


def store_crypt(runtime: Runtime, store: Store) -> MsgCrypt:
    box = runtime.secrets
    return MsgCrypt(box.decrypt(store.token_enc), box.decrypt(store.aes_key_enc), store.appid)


def corp_crypt(runtime: Runtime, corp: WeComCorp) -> MsgCrypt:
    box = runtime.secrets
    return MsgCrypt(box.decrypt(corp.token_enc), box.decrypt(corp.aes_key_enc), corp.corpid)


def channels_push(
    crypt: MsgCrypt, event: dict[str, Any] | bytes, *, at: float | None = None
) -> tuple[str, bytes]:
    """The query string and JSON body the platform POSTs for ``event`` (spec §5), signed at ``at``
    (default: now)."""
    message = event if isinstance(event, bytes) else msgspec.json.encode(event)
    timestamp, nonce = str(int(time.time() if at is None else at)), secrets.token_hex(5)
    encrypt, msg_signature = crypt.seal(message, timestamp, nonce)
    query = {
        "signature": crypt.signature(timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": msg_signature,
    }
    body = msgspec.json.encode({"ToUserName": "gh_test", "Encrypt": encrypt})
    return urlencode(query), body


def wecom_push(crypt: MsgCrypt, xml: str, *, at: float | None = None) -> tuple[str, bytes]:
    """The query string and XML body WeCom POSTs for the callback ``xml`` (spec §8), signed at
    ``at`` (default: now)."""
    timestamp, nonce = str(int(time.time() if at is None else at)), secrets.token_hex(5)
    encrypt, msg_signature = crypt.seal(xml, timestamp, nonce)
    query = urlencode({"msg_signature": msg_signature, "timestamp": timestamp, "nonce": nonce})
    body = f"<xml><ToUserName><![CDATA[{crypt.receive_id}]]></ToUserName><AgentID>1</AgentID>"
    body += f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    return query, body.encode()


def order_event(order_id: str, event: str = "channels_ec_order_pay", create_time: int = 1700000000) -> dict:
    return {
        "ToUserName": "gh_test",
        "FromUserName": "o_buyer",
        "CreateTime": create_time,
        "MsgType": "event",
        "Event": event,
        "order_info": {"order_id": order_id, "pay_time": create_time},
    }


def commkf_event(openid: str, msg_id: str, text: str, create_time: int = 1700000000) -> dict:
    return {
        "ToUserName": "gh_test",
        "FromUserName": openid,
        "CreateTime": create_time,
        "MsgType": "event",
        "Event": "commkf_send_msg_to_kf",
        "msg_id": msg_id,
        "msg_type": "text",
        "msg_event": "EVENT_TYPE_SEND_MSG",
        "text": {"content": text},
    }


async def events(runtime: Runtime, *where: Any) -> list[Any]:
    """Stored events (oldest first), optionally filtered."""
    async with runtime.db.engine.connect() as conn:
        stmt = sa.select(PlatformEvent.__table__).where(*where).order_by(PlatformEvent.id)
        return list((await conn.execute(stmt)).all())


async def count_by_state(runtime: Runtime) -> dict[EventState, int]:
    async with runtime.db.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(PlatformEvent.state, sa.func.count()).group_by(PlatformEvent.state)
        )
        return {EventState(state): n for state, n in rows}


async def insert_events(runtime: Runtime, store: Store, payloads: list[dict[str, Any]]) -> list[int]:
    """Store Channels events as the webhook would (bypassing HTTP); returns their ids."""
    writer = EventWriter(runtime.db, batch_wait_ms=0)
    await writer.start()
    try:
        for payload in payloads:
            raw = msgspec.json.encode(payload)
            event = decode_channels_event(raw)
            await writer.submit(
                EventRow(
                    source=EventSource.CHANNELS,
                    store_id=store.id,
                    corp_id=None,
                    event_type=event.Event,
                    dedup_key=event.dedup_key(),
                    payload=raw.decode(),
                    state=EventState.PENDING,
                )
            )
    finally:
        await writer.stop()
    return [e.id for e in await events(runtime)][-len(payloads) :]


# -- the desk served for real, and the simulated platform pushing to it ---------------------------


@asynccontextmanager
async def serve_app(app: Litestar) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a free port in this event loop; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_config=None, log_level="warning", access_log=False, lifespan="on")
    server = _EmbeddedServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the test runner keeps its signals
        yield


@dataclass
class Platform:
    """A simulator serving two stores and a WeCom corp that push to a desk served for real."""

    sim: Simulator
    runtime: Runtime
    """Over the test database, with API base URLs pointing at the simulator."""
    clients: PlatformClients
    stores: list[Store]
    appids: list[str]
    corp: WeComCorp
    corpid: str
    open_kfid: str
    desk_url: str

    def worker(self, **changes: Any) -> Worker:
        settings = self.runtime.settings.with_changes(
            worker_backoff_base_s=0.01, worker_backoff_max_s=0.05, **changes
        )
        return Worker(self.runtime.db, settings, self.clients)

    async def settle(self, worker: Worker | None = None) -> None:
        """Deliver every push, then apply every event (retries included) until nothing is left."""
        await self.sim.drain(timeout=60)
        worker = worker or self.worker()
        for _ in range(400):
            await worker.drain()
            counts = await count_by_state(self.runtime)
            if not counts.get(EventState.PENDING) and not counts.get(EventState.PROCESSING):
                return
            await asyncio.sleep(0.02)  # retries wait for their (short) backoff
        raise AssertionError(f"events still waiting: {await count_by_state(self.runtime)}")


@pytest.fixture
async def platform(
    app: Litestar, runtime: Runtime, settings: Settings, make_store: Any, make_corp: Any
) -> AsyncIterator[Platform]:
    seed = secrets.randbelow(1_000_000)  # fresh appids: cached access tokens of other tests never apply
    sim = Simulator(seed=seed, time_scale=0.001)
    async with serve_app(app) as desk_url:
        stores, appids = [], []
        for n in (1, 2):
            key = secrets.token_hex(8)
            config = sim.add_store(demo_store(n, push_url=f"{desk_url}/webhooks/channels/{key}", seed=seed))
            stores.append(
                await make_store(
                    name=config.name,
                    key=key,
                    appid=config.appid,
                    appsecret=config.secret,
                    token=config.token,
                    aes_key=config.aes_key,
                )
            )
            appids.append(config.appid)
        corp_key = secrets.token_hex(8)
        corp_config = sim.add_corp(demo_corp(1, push_url=f"{desk_url}/webhooks/wecom/{corp_key}", seed=seed))
        corp = await make_corp(
            default_store=stores[0],
            key=corp_key,
            corpid=corp_config.corpid,
            secret=corp_config.secret,
            token=corp_config.token,
            aes_key=corp_config.aes_key,
        )
        async with sim.serving() as base_url:
            platform_runtime = Runtime(
                settings.with_changes(
                    channels_api_base=base_url, wecom_api_base=base_url, platform_timeout_s=2.0
                )
            )
            clients = PlatformClients(platform_runtime)
            try:
                yield Platform(
                    sim=sim,
                    runtime=platform_runtime,
                    clients=clients,
                    stores=stores,
                    appids=appids,
                    corp=corp,
                    corpid=corp_config.corpid,
                    open_kfid=corp_config.kf_accounts[0],
                    desk_url=desk_url,
                )
            finally:
                await clients.aclose()
                await platform_runtime.stop()
