"""``desk demo`` and ``desk simulate``: the desk driven by the built-in WeChat platform simulator.

``desk demo`` is a living desk in one command — SQLite, the simulator, seeded stores and users.

The demo database lives in ``./var/demo.db`` and is kept between runs (``--reset`` starts over).
Store credentials are random per demo database; the simulator is configured from them on every
start, so its signed pushes verify against what the desk stored.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import secrets
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
import msgspec
import sqlalchemy as sa
import uvicorn

from desk import migrate
from desk.accounts.models import Role, User
from desk.accounts.services import NewUserForm, UserService
from desk.app import INTERACTIVE_GRACE_S, create_app
from desk.cli_base import fail, load_cli_settings, main, open_runtime, require_free_port, run
from desk.errors import Invalid
from desk.inbox.quick_replies import QuickReplyForm, ReplySet, create_reply
from desk.runtime import Runtime
from desk.settings import Settings
from desk.stores.models import Store, WeComCorp
from desk.stores.services import CheckFailed, CorpForm, CorpService, StoreForm, StoreService

if TYPE_CHECKING:
    from desk.simulator import Simulator

# The simulator is imported by the commands that run it, not with this module: every `desk`
# command imports the command modules, and only `desk demo` / `desk simulate` need a fake platform.
SCENARIO_NAMES = ("live-burst", "quiet")
"""The simulator's scenarios (``desk.simulator.SCENARIOS``; a test keeps the two the same)."""

__all__ = ["DEMO_QUICK_REPLIES", "DEMO_STORES", "DEMO_USERS", "seed_demo"]

T = TypeVar("T")


class DemoUser(msgspec.Struct, frozen=True):
    username: str
    display_name: str
    role: Role
    password: str
    stores: tuple[int, ...]
    """Indexes into DEMO_STORES; admins see every store anyway."""


DEMO_STORES = ("潮流女装旗舰店", "山野户外专营店", "萌宝母婴好物")
DEMO_USERS = (
    DemoUser("admin", "管理员 王芳", Role.ADMIN, "admin-demo-2026", (0, 1, 2)),
    DemoUser("manager", "店长 李强", Role.MANAGER, "manager-demo-2026", (0, 1, 2)),
    DemoUser("agent1", "客服 小陈", Role.AGENT, "agent1-demo-2026", (0, 1)),
    DemoUser("agent2", "客服 小刘", Role.AGENT, "agent2-demo-2026", (2,)),
    DemoUser("warehouse", "仓库 老周", Role.WAREHOUSE, "warehouse-demo-2026", (0, 1, 2)),
)
DEMO_CORP = "山野集团企业微信"

# Shared quick replies: the same everyday answers in every store, plus a size guide of its own.
DEMO_QUICK_REPLIES = (
    ("欢迎语", "亲，您好！欢迎光临{店铺名称}，我是客服，请问有什么可以帮您？"),
    (
        "发货时间",
        "亲，您的订单 {订单号} 我们会在付款后 48 小时内发出，发货后可以在订单详情里查看物流哦。",
    ),
    (
        "物流查询",
        "亲，您的包裹已由{快递公司}发出，快递单号 {物流单号}，可以在订单详情里查看最新物流。"
        "如果 3 天没有更新，告诉我，我帮您联系快递。",
    ),
    (
        "退换货说明",
        "亲，本店支持 7 天无理由退换货（商品不影响二次销售）。请在订单详情里申请售后，"
        "寄回时在包裹里放一张纸条写上订单号 {订单号}，我们收到后 48 小时内处理。",
    ),
    ("改地址", "亲，订单还没发货的话可以改地址：请在订单详情里点「修改地址」，我这边马上帮您确认。"),
    ("感谢好评", "感谢亲的支持！收到货满意的话，麻烦给个五星好评，有任何问题随时找我们～"),
)
DEMO_SIZE_GUIDES = (
    "亲，尺码建议：身高 155–160cm、体重 45–50kg 选 S，160–165cm、50–55kg 选 M，"
    "165–170cm、55–62kg 选 L。告诉我您的身高体重，我帮您推荐～",
    "亲，徒步鞋建议比平时的运动鞋大半码，穿厚袜子时留出脚趾的空间；冲锋衣是宽松版型，按平时尺码选就好。",
    "亲，宝宝衣服按身高选：73 码适合 66–73cm，80 码适合 73–80cm，90 码适合 80–90cm。"
    "宝宝长得快，可以选大一码哦。",
)


def _aes_key() -> str:
    # 32 random bytes in base64 without the trailing "=": the 43 characters WeChat expects.
    return base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def _created(result: T | Invalid | CheckFailed, what: str) -> T:
    if isinstance(result, Invalid):  # the demo's own data: failing here is a bug, not bad input
        raise RuntimeError(f"could not seed {what}: {result.one_line()}")
    if isinstance(result, CheckFailed):
        raise RuntimeError(f"could not seed {what}: the connection test failed")
    return result


async def seed_demo(runtime: Runtime) -> bool:
    """Create the demo stores (with shared quick replies), WeCom corp and users unless the
    database already has users.

    Goes through the same services as the settings pages, so demo data obeys every rule an
    admin's input does. Returns whether anything was created.
    """
    async with runtime.db.session() as session:
        if await session.scalar(sa.select(sa.func.count()).select_from(User)):
            return False
        stores = StoreService(session, runtime.secrets)
        created = [
            _created(
                await stores.create(
                    StoreForm(
                        name=name,
                        appid=f"wxdemo{n:02d}{secrets.token_hex(5)}",
                        appsecret=secrets.token_hex(16),
                        token=secrets.token_hex(8),
                        aes_key=_aes_key(),
                    )
                ),
                name,
            )
            for n, name in enumerate(DEMO_STORES, start=1)
        ]
        corp = CorpForm(
            name=DEMO_CORP,
            corpid=f"wwdemo{secrets.token_hex(6)}",
            secret=secrets.token_hex(16),
            token=secrets.token_hex(8),
            aes_key=_aes_key(),
            default_store_id=str(created[1].id),
        )
        _created(await CorpService(session, runtime.secrets).create(corp), DEMO_CORP)
        for store, size_guide in zip(created, DEMO_SIZE_GUIDES, strict=True):
            for title, text in (*DEMO_QUICK_REPLIES, ("尺码建议", size_guide)):
                reply = QuickReplyForm(title=title, text=text)
                _created(await create_reply(session, ReplySet.shared(store.id), reply), title)
        users = UserService(session)
        for spec in DEMO_USERS:
            form = NewUserForm(
                username=spec.username,
                display_name=spec.display_name,
                role=spec.role.value,
                stores=[str(created[i].id) for i in spec.stores],
                password=spec.password,
            )
            _created(await users.create(form), spec.username)
    return True


async def configure_simulator(runtime: Runtime, simulator: Simulator, desk_url: str) -> None:
    """Register every active store and corp of the desk with the simulator, pushing to ``desk_url``."""
    from desk.simulator import SimCorp, SimStore

    box = runtime.secrets
    async with runtime.db.session() as session:
        for store in await session.scalars(sa.select(Store).where(Store.is_active)):
            simulator.add_store(
                SimStore(
                    appid=store.appid,
                    secret=box.decrypt(store.appsecret_enc),
                    token=box.decrypt(store.token_enc),
                    aes_key=box.decrypt(store.aes_key_enc),
                    push_url=f"{desk_url}/webhooks/channels/{store.key}",
                    name=store.name,
                )
            )
        for corp in await session.scalars(sa.select(WeComCorp)):
            simulator.add_corp(
                SimCorp(
                    corpid=corp.corpid,
                    secret=box.decrypt(corp.secret_enc),
                    token=box.decrypt(corp.token_enc),
                    aes_key=box.decrypt(corp.aes_key_enc),
                    push_url=f"{desk_url}/webhooks/wecom/{corp.key}",
                    kf_accounts=["wkdemo-kf-01"],
                )
            )


def _banner(settings: Settings, sim_url: str, scenario: str) -> str:
    width = max(len(u.username) for u in DEMO_USERS)
    pw = max(len(u.password) for u in DEMO_USERS)
    role = max(len(u.role.value) for u in DEMO_USERS)
    lines = [
        "",
        "desk demo is running",
        f"  desk:            {settings.base_url}/",
        f"  buyer simulator: {sim_url}/sim/buyer   (chat as a buyer, place orders, ask for refunds)",
        f"  platform faults: {sim_url}/sim/#faults (fail API calls or token calls, lose pushes)",
        f"  scenario:        {scenario}",
        "  logins:",
        *(
            f"    {u.username:<{width}}  {u.password:<{pw}}  {u.role.value:<{role}}  {u.display_name}"
            for u in DEMO_USERS
        ),
        "",
        "Press Ctrl-C to stop. Data is kept in ./var/demo.db (--reset starts over).",
        "",
    ]
    return "\n".join(lines)


class _Server(uvicorn.Server):
    """uvicorn inside our event loop: Ctrl-C is handled by the demo, which stops both servers."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class DemoOptions(msgspec.Struct, frozen=True, kw_only=True):
    """What ``desk demo`` was asked for on its command line."""

    host: str
    port: int
    sim_port: int
    scenario: str
    seed: int
    var: Path


def demo_settings(options: DemoOptions) -> Settings:
    """The desk's settings for the demo: its own SQLite file, the embedded worker, the simulator."""
    base = load_cli_settings()
    sim_url = f"http://{options.host}:{options.sim_port}"
    return base.with_changes(
        database_url=f"sqlite+aiosqlite:///{options.var / 'demo.db'}",
        host=options.host,
        port=options.port,
        worker="embedded",
        channels_api_base=sim_url,
        wecom_api_base=sim_url,
        reconcile_interval_s=min(base.reconcile_interval_s, 120.0),
        # Keep the terminal for the banner; DESK_LOG_LEVEL still asks for more.
        log_level=os.environ.get("DESK_LOG_LEVEL", "WARNING"),
    )


async def run_demo(options: DemoOptions) -> None:
    settings = demo_settings(options)
    click.echo("applying migrations to ./var/demo.db …")
    await migrate.upgrade_async(settings.database_url)
    async with open_runtime(settings) as seeding:
        seeded = await seed_demo(seeding)
        if seeded:
            click.echo(f"seeded {len(DEMO_STORES)} stores, a WeCom corp and {len(DEMO_USERS)} users")
        from desk.simulator import Simulator

        simulator = Simulator(seed=options.seed)
        await configure_simulator(seeding, simulator, settings.base_url)

    server = _Server(
        # proxy_headers off, as in `desk serve`: desk.proxies decides whom to believe.
        uvicorn.Config(
            create_app(settings),
            host=options.host,
            port=options.port,
            log_level="warning",
            proxy_headers=False,
            timeout_graceful_shutdown=INTERACTIVE_GRACE_S,
        )
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async with simulator.serving(host=options.host, port=options.sim_port) as sim_url:
        serving = asyncio.create_task(server.serve())
        while not server.started:
            if serving.done():
                serving.result()  # start-up failed: raise its error (e.g. port in use)
                return
            await asyncio.sleep(0.05)
        click.echo(_banner(settings, sim_url, options.scenario))
        traffic = (
            asyncio.create_task(_traffic(simulator, options.scenario, warm_up=seeded))
            if options.scenario != "none"
            else None
        )
        await stop.wait()
        click.echo("stopping …")
        if traffic:
            traffic.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await traffic
        server.should_exit = True
        await serving


async def _traffic(simulator: Simulator, scenario: str, *, warm_up: bool) -> None:
    """Keep the demo alive: the chosen scenario, over and over.

    A fresh demo first plays a short, small live burst so that the pages have orders, after-sales
    and waiting buyers within the first minute instead of after a quiet afternoon's trickle.
    """
    if warm_up:
        await simulator.run_scenario("live-burst", duration_s=45, orders_per_minute=40)
    while True:
        await simulator.run_scenario(scenario)


@main.command()
@click.option("--port", default=8000, show_default=True, help="Port of the desk.")
@click.option("--sim-port", type=int, default=None, help="Port of the simulator (default: --port + 1).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--scenario",
    type=click.Choice(["quiet", "live-burst", "none"]),
    default="quiet",
    show_default=True,
    help="Traffic the simulator generates.",
)
@click.option("--seed", default=2026, show_default=True, help="Makes the simulated traffic repeatable.")
@click.option("--reset", is_flag=True, help="Delete the demo database and start over.")
def demo(sim_port: int | None, reset: bool, **options: Any) -> None:
    """Start the demo: desk + simulator + seeded stores and users; prints the URL and logins."""
    sim_port = sim_port or options["port"] + 1
    require_free_port(options["host"], options["port"], "--port")
    require_free_port(options["host"], sim_port, "--sim-port")
    var = Path("var").resolve()
    var.mkdir(parents=True, exist_ok=True)
    if reset:
        for path in var.glob("demo.db*"):
            path.unlink()
    run(run_demo(DemoOptions(**options, sim_port=sim_port, var=var)))


@main.command()
@click.option("--target", required=True, help="Base URL of the desk to push to, e.g. http://127.0.0.1:8000.")
@click.option("--scenario", type=click.Choice(SCENARIO_NAMES), default="live-burst", show_default=True)
@click.option("--port", default=8900, show_default=True, help="Port of the simulator's platform API.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--seed", default=1, show_default=True)
@click.option("--orders-per-minute", type=float, default=None, help="Override the scenario's order rate.")
@click.option("--duration", type=float, default=None, help="Seconds per scenario run.")
@click.option("--once", is_flag=True, help="Play the scenario once instead of over and over.")
def simulate(target: str, **options: Any) -> None:
    """Drive a desk with simulated platform traffic.

    Reads the desk's stores and WeCom corps from its database (DESK_DATABASE_URL, DESK_SECRET_KEY),
    pushes their events to TARGET and serves the platform API the desk calls back; start that desk
    with DESK_CHANNELS_API_BASE and DESK_WECOM_API_BASE set to the URL printed.
    """
    from desk.simulator import Simulator
    from desk.simulator.runner import serve_until_stopped

    settings = load_cli_settings()
    require_free_port(options["host"], options["port"], "--port")
    simulator = Simulator(seed=options["seed"])

    async def prepare() -> None:
        async with open_runtime(settings) as runtime:
            await configure_simulator(runtime, simulator, target.rstrip("/"))

    run(prepare())
    if not simulator.stores:
        raise fail("the desk's database has no active stores: add one with `desk stores add` first")
    api = f"http://{options['host']}:{options['port']}"
    click.echo(f"simulating {len(simulator.stores)} store(s) pushing to {target}")
    click.echo(f"the desk must call the simulator: DESK_CHANNELS_API_BASE={api} DESK_WECOM_API_BASE={api}")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            serve_until_stopped(
                simulator,
                host=options["host"],
                port=options["port"],
                scenario=options["scenario"],
                orders_per_minute=options["orders_per_minute"],
                duration_s=options["duration"],
                repeat=not options["once"],
            )
        )
