"""Typed settings, read once from ``DESK_*`` environment variables.

Every setting has an embedded default so that ``desk demo`` and the test suite run with nothing
configured: an SQLite file under ``./var/`` (with a generated secret key beside it), no Redis, the
in-process worker. Production sets
``DESK_DATABASE_URL`` and ``DESK_REDIS_URL`` (see ``.env.example``).

An unknown ``DESK_*`` variable is an error rather than silently ignored: a typo such as
``DESK_DATABSE_URL`` would otherwise start the app on the wrong database.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from sqlalchemy.engine import make_url

from desk.proxies import parse_trusted_proxies

__all__ = ["SECRET_KEY_FILE", "Settings", "SettingsError", "load_settings"]

SECRET_KEY_FILE = "secret.key"  # noqa: S105 - a file name, not a secret
"""Name of the generated secret key's file, kept in the SQLite database's folder."""

Worker = Literal["embedded", "off"]
Language = Literal["zh-CN", "en"]


class SettingsError(ValueError):
    """A ``DESK_*`` value that cannot be used; the message names the variable and what is expected."""


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    """Everything the app reads from its environment. Tests build their own instead of patching."""

    database_url: str = "sqlite+aiosqlite:///./var/desk.db"
    """SQLAlchemy async URL. ``sqlite+aiosqlite:///path`` (embedded) or ``postgresql+asyncpg://…``."""
    redis_url: str | None = None
    """When set: sessions, caches, throttling and realtime fan-out go through Redis."""
    secret_key: str = ""
    """Signs sessions and encrypts store secrets at rest; every process of one desk needs the same.
    Empty: only with an SQLite file, whose folder then keeps a generated key (see
    :meth:`resolved_secret_key`); required with PostgreSQL."""
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""
    """Base URL the platform reaches us at; used to print a store's push URL. Default: host and port."""
    language: Language = "zh-CN"
    debug: bool = False
    log_level: str = "INFO"
    cookie_secure: bool = False
    """Mark every cookie ``Secure``. Without it, cookies are still ``Secure`` on requests that came over
    https (directly, or through a trusted proxy that says so in ``X-Forwarded-Proto``)."""
    trusted_proxies: str = ""
    """Reverse proxies (addresses or CIDR networks, comma-separated) whose ``X-Forwarded-For`` and
    ``X-Forwarded-Proto`` are believed. Empty: none, the connecting address is the client."""
    worker: Worker = "embedded"
    """``embedded`` runs the event worker inside the web process; ``off`` leaves it to ``desk worker``."""
    channels_api_base: str = "https://api.weixin.qq.com"
    wecom_api_base: str = "https://qyapi.weixin.qq.com"
    platform_timeout_s: float = 10.0
    """Seconds to wait for one platform API answer before the client retries or gives up."""
    db_pool_size: int = 20
    """PostgreSQL pool size per process. Sized to concurrency: the default 5 halves ingest throughput."""
    ingest_batch_max: int = 256
    """Most pushes committed together by the ingest writer (group commit)."""
    ingest_batch_wait_ms: float = 2.0
    """How long the writer waits for more pushes once it has one, before committing."""
    worker_batch: int = 200
    worker_concurrency: int = 32
    """Platform API calls in flight at once per worker process (also sizes its HTTP pool)."""
    worker_loops: int = 2
    """Claim loops per worker process (``desk worker``); the embedded worker runs one."""
    worker_max_attempts: int = 8
    """After this many failed tries an event is parked for an admin to inspect and replay."""
    worker_lease_s: float = 60.0
    """How long a claimed event stays claimed; a worker killed mid-batch is retried after this."""
    worker_poll_s: float = 0.5
    """How often an idle worker looks for events when nothing in its process woke it."""
    worker_backoff_base_s: float = 2.0
    """First retry delay of a failed event; doubles per attempt (with jitter) up to the max."""
    worker_backoff_max_s: float = 600.0
    command_lease_s: float = 60.0
    """How long a claimed outbound command stays claimed; a runner killed mid-call is retried after this."""
    command_max_attempts: int = 30
    """Tries of a command the platform could not answer (outage, busy) before it is marked failed."""
    command_backoff_base_s: float = 1.0
    command_backoff_max_s: float = 30.0
    """Retry delays of a command double from the base up to this: a few minutes' outage is ridden out."""
    intercept_webhook_url: str = ""
    """Where to ask the courier to stop a parcel (订单拦截): a URL that receives a JSON POST per
    interception. Empty: interceptions are only recorded, for an agent to arrange by phone."""
    auto_resolve_hours: float = 24.0
    """Open conversations with nothing said for this long (and nobody waiting) are resolved; 0: never."""
    rules_enabled: bool = True
    """The global kill switch of automation rules. Off: triggers are still recorded, but each is
    closed without evaluating any rule (switching back on does not replay what happened meanwhile)."""
    rules_load_defaults: bool = True
    """Load the shipped rules (``rules/``) into a desk that has never had any, when a worker starts."""
    rules_fuse_per_hour: int = 200
    """At most this many auto-approvals per rule and store within an hour; beyond, the rule holds back."""
    reconcile_interval_s: float = 600.0
    reconcile_overlap_s: float = 300.0
    """Each reconciliation re-lists this much before its watermark (platform indexes lag a little)."""
    event_retention_days: int = 30
    """Applied (done / ignored) events older than this are deleted; unfinished ones are always kept."""
    login_free_failures: int = 5
    """Failed logins of one account, from browsers it has not signed in on, before each further try
    must wait (1 s, doubling per failure up to ``login_backoff_max_s``). Known browsers are exempt."""
    login_address_free_failures: int = 30
    """Failed logins from one client address (any usernames) before its tries must wait likewise."""
    login_backoff_max_s: int = 300
    """The longest wait between two login tries that back-off imposes."""

    push_max_skew: Annotated[int, msgspec.Meta(ge=1)] = 300
    """Seconds a push's signed timestamp may be away from this server's clock, either way.

    Older or future pushes are refused (401), so a captured push cannot be replayed later. Keep
    the server's clock in sync (NTP): a clock off by more than this refuses every push.
    """

    def __post_init__(self) -> None:
        # Checked here so that a typo stops the app at start, naming the variable.
        try:
            parse_trusted_proxies(self.trusted_proxies)
        except ValueError as exc:
            raise ValueError(f"DESK_TRUSTED_PROXIES: {exc}") from None
        for name in ("login_free_failures", "login_address_free_failures", "login_backoff_max_s"):
            if getattr(self, name) < 1:
                raise ValueError(f"DESK_{name.upper()}: must be at least 1")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def with_changes(self, **changes: object) -> Settings:
        """A copy with some fields replaced (tests, ``desk demo``)."""
        return msgspec.structs.replace(self, **changes)

    def secret_key_file(self) -> Path | None:
        """Where the generated secret key is kept: beside the SQLite database file, or None when
        the database is not a file (PostgreSQL, in-memory SQLite) and ``DESK_SECRET_KEY`` is required.

        The key follows the database, not the working directory: a command run from another
        folder against the same database finds the same key (and a different database, its own).
        """
        url = make_url(self.database_url)
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return None
        return Path(url.database).resolve().parent / SECRET_KEY_FILE

    def secret_key_source(self) -> str:
        """Where the key in use comes from, for messages: ``DESK_SECRET_KEY`` or the key file."""
        if self.secret_key:
            return "DESK_SECRET_KEY"
        path = self.secret_key_file()
        return str(path) if path else "DESK_SECRET_KEY (not set)"

    def resolved_secret_key(self) -> str:
        """The configured key, or the one generated once and kept beside the SQLite database.

        Losing the key makes stored store secrets unreadable, so the generated one is written to
        disk with owner-only permissions and reused on every later start.

        Raises:
            SettingsError: ``DESK_SECRET_KEY`` is empty and the database is not an SQLite file.
        """
        if self.secret_key:
            return self.secret_key
        path = self.secret_key_file()
        if path is None:
            raise SettingsError(
                "DESK_SECRET_KEY must be set when the database is not an SQLite file: "
                "every web, worker and command-line process of this desk must use the same key"
            )
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        # Written whole to a private temporary file, then linked into place: a process starting at
        # the same moment either finds no file or a complete one, and the first link wins.
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(key)
            os.link(temporary, path)
        except FileExistsError:
            return path.read_text().strip()
        finally:
            temporary.unlink(missing_ok=True)
        return key


_FIELDS = frozenset(Settings.__struct_fields__)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``DESK_*`` variables.

    Raises:
        SettingsError: for an unknown ``DESK_*`` name or a value of the wrong type, naming both.
    """
    env = os.environ if environ is None else environ
    raw: dict[str, str] = {}
    for name, value in env.items():
        if not name.startswith("DESK_"):
            continue
        key = name.removeprefix("DESK_").lower()
        if key not in _FIELDS:
            known = ", ".join(f"DESK_{f.upper()}" for f in sorted(_FIELDS))
            raise SettingsError(f"unknown setting {name}; known settings: {known}")
        raw[key] = value
    try:
        # strict=False lets msgspec turn "8000" into 8000 and "true" into True, as env values are text.
        return msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        if str(exc).startswith("DESK_"):  # a check of __post_init__, which names its variable
            raise SettingsError(f"invalid value for {exc}") from None
        field = str(exc).rsplit("$.", 1)[-1].rstrip("`") if "$." in str(exc) else ""
        name = f"DESK_{field.upper()}" if field else "a DESK_* variable"
        raise SettingsError(f"invalid value for {name}: {exc}") from None
