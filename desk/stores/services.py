"""Connecting stores and WeCom corps: validated credentials, encrypted at rest, shown masked.

Shared by the settings pages and the CLI. A refused form returns :class:`~desk.errors.Invalid`
(a message per field) and writes nothing. Credentials that pass are tested against the platform
before they are saved (when the service has a :class:`~desk.stores.connection.ConnectionChecker`):
if the platform refuses them or cannot be reached, nothing is saved and :class:`CheckFailed` says
why — unless the form says to save anyway, then the store is saved with that problem recorded as
its connection state. Secrets (appsecret, push token, EncodingAESKey) are encrypted with the
runtime's :class:`~desk.secret_box.SecretBox` before they reach the database, and only ever
shown back masked.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from desk.accounts.models import User
from desk.accounts.scoping import scoped
from desk.db import utcnow
from desk.errors import Invalid
from desk.i18n import Message
from desk.secret_box import SecretBox, SecretError, mask
from desk.settings import Settings
from desk.stores.connection import ConnectionChecker
from desk.stores.health import encode_problem, record_connection
from desk.stores.models import Store, TokenApi, WeComCorp
from desk.stores.validation import (
    check_aes_key,
    check_appid,
    check_corpid,
    check_name,
    check_push_token,
    check_secret,
)

__all__ = [
    "CheckFailed",
    "CorpForm",
    "CorpService",
    "MaskedSecrets",
    "StoreForm",
    "StoreService",
    "UnreadableSecrets",
    "all_stores",
    "corp_push_url",
    "find_store",
    "new_push_key",
    "push_url_warning",
    "store_push_url",
    "stores_visible_to",
    "unreadable_secrets",
]

log = logging.getLogger(__name__)

Check = Callable[[str], Message | None]


class StoreForm(msgspec.Struct, kw_only=True):
    """A store as the admin types it. On edit, a blank secret field keeps the stored value."""

    name: str = ""
    appid: str = ""
    appsecret: str = ""
    token: str = ""
    aes_key: str = ""
    token_api: str = TokenApi.STABLE.value
    """A :class:`~desk.stores.models.TokenApi` value."""
    save_anyway: bool = False
    """Save even though the connection test fails (the admin saw why and confirmed)."""


class CorpForm(msgspec.Struct, kw_only=True):
    """A WeCom corp as the admin types it. On edit, a blank secret field keeps the stored value."""

    name: str = ""
    corpid: str = ""
    secret: str = ""
    token: str = ""
    aes_key: str = ""
    default_store_id: str = ""
    """A store id, or empty for none (buyers arriving through the corp's kf then have no store)."""
    save_anyway: bool = False
    """Save even though the connection test fails (the admin saw why and confirmed)."""


class CheckFailed(msgspec.Struct, frozen=True):
    """The platform refused the credentials (or could not be reached); nothing was saved."""

    problem: Message


class MaskedSecrets(msgspec.Struct, frozen=True):
    """A store's or corp's secrets as admins see them after saving: the last characters only.

    ``readable`` is False when the secret key in use cannot decrypt them (it changed, or the row
    was written by a process with another key): the masks are then empty and the admin must enter
    the secrets again.
    """

    secret: str
    token: str
    aes_key: str
    readable: bool = True


UNREADABLE = MaskedSecrets(secret="", token="", aes_key="", readable=False)


class UnreadableSecrets(msgspec.Struct, frozen=True):
    """Saved stores and corps whose secrets the key in use cannot decrypt, by name."""

    stores: list[str]
    corps: list[str]
    total: int
    """How many stores and corps are saved in all."""

    def __bool__(self) -> bool:
        return bool(self.stores or self.corps)


def new_push_key() -> str:
    """The random public slug naming a store or corp in its push URL (128 bits, URL-safe)."""
    return secrets.token_urlsafe(16)


def _unreachable_from_the_internet(host: str) -> bool:
    if host.lower() in {"", "localhost"} or host.lower().endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False  # a name: assume it resolves publicly
    return address.is_loopback or address.is_unspecified or address.is_private or address.is_link_local


def push_url_warning(settings: Settings) -> Message | None:
    """Why the platform cannot deliver to this desk's push URLs, or None.

    Push URLs are built from ``DESK_PUBLIC_URL`` (else the listening host and port); a loopback,
    unspecified or private address there cannot be reached by WeChat's servers. No warning while
    the platform is itself on such an address (the built-in simulator), which reaches it fine.
    """
    public = urlsplit(settings.base_url).hostname or ""
    platform = urlsplit(settings.channels_api_base).hostname or ""
    if not _unreachable_from_the_internet(public) or _unreachable_from_the_internet(platform):
        return None
    return Message("stores.push_url_unreachable", {"host": public})


def store_push_url(settings: Settings, store: Store) -> str:
    """Where the platform sends this store's pushes; entered in the store backend's 消息推送."""
    return f"{settings.base_url}/webhooks/channels/{store.key}"


def corp_push_url(settings: Settings, corp: WeComCorp) -> str:
    """Where WeCom sends this corp's callbacks; entered as the WeCom app's receive-message URL."""
    return f"{settings.base_url}/webhooks/wecom/{corp.key}"


FormT = TypeVar("FormT", StoreForm, CorpForm)


def _stripped(form: FormT) -> FormT:
    # Values pasted from the platform's console often carry stray spaces or a newline.
    texts = {f: value.strip() for f in form.__struct_fields__ if isinstance(value := getattr(form, f), str)}
    return msgspec.structs.replace(form, **texts)


def _check_secrets(
    values: dict[str, tuple[str, Check]], *, required: bool, errors: dict[str, Message]
) -> None:
    """Check secret fields; blank ones are an error when ``required`` (a new account, or stored
    secrets that cannot be decrypted) and mean "keep" otherwise."""
    for field, (value, check) in values.items():
        if (value or required) and (problem := check(value)):
            errors[field] = problem


def _masked(box: SecretBox, secret_enc: str, token_enc: str, aes_key_enc: str) -> MaskedSecrets:
    try:
        return MaskedSecrets(
            secret=mask(box.decrypt(secret_enc)),
            token=mask(box.decrypt(token_enc)),
            aes_key=mask(box.decrypt(aes_key_enc)),
        )
    except SecretError:
        return UNREADABLE


def _readable(box: SecretBox, *ciphertexts: str) -> bool:
    try:
        for ciphertext in ciphertexts:
            box.decrypt(ciphertext)
    except SecretError:
        return False
    return True


async def unreadable_secrets(session: AsyncSession, box: SecretBox) -> UnreadableSecrets:
    """The saved stores and corps whose secrets ``box`` cannot decrypt.

    A process about to save credentials checks this first: if its key cannot read what is already
    saved, it is not the key the rest of the desk uses, and what it wrote would be unreadable there.
    """
    stores = (
        await session.execute(sa.select(Store.name, Store.appsecret_enc, Store.token_enc, Store.aes_key_enc))
    ).all()
    corps = (
        await session.execute(
            sa.select(WeComCorp.name, WeComCorp.secret_enc, WeComCorp.token_enc, WeComCorp.aes_key_enc)
        )
    ).all()
    return UnreadableSecrets(
        stores=[row[0] for row in stores if not _readable(box, *row[1:])],
        corps=[row[0] for row in corps if not _readable(box, *row[1:])],
        total=len(stores) + len(corps),
    )


async def _taken(
    session: AsyncSession,
    column: InstrumentedAttribute[str],
    value: str,
    current: Store | WeComCorp | None,
) -> bool:
    """Whether a row other than ``current`` already holds ``value`` in the unique ``column``."""
    model = column.class_
    stmt = sa.select(model.id).where(column == value)
    if current is not None:
        stmt = stmt.where(model.id != current.id)
    return await session.scalar(stmt.limit(1)) is not None


async def all_stores(session: AsyncSession) -> list[Store]:
    """Every store, active first, then by name: admins' view (everyone else goes through scoping)."""
    return list(await session.scalars(sa.select(Store).order_by(Store.is_active.desc(), Store.name)))


async def find_store(session: AsyncSession, ref: str) -> Store | None:
    """The store whose push key or name is ``ref`` (how the CLI names stores); the key wins."""
    return await session.scalar(
        sa.select(Store)
        .where(sa.or_(Store.key == ref, Store.name == ref))
        .order_by((Store.key == ref).desc(), Store.id)
        .limit(1)
    )


async def stores_visible_to(session: AsyncSession, user: User) -> list[Store]:
    """The stores ``user`` works for (every store for admins), active first, then by name."""
    stmt = scoped(sa.select(Store), Store.id, user).order_by(Store.is_active.desc(), Store.name)
    return list(await session.scalars(stmt))


class StoreService:
    """Add, change, list and (de)activate Channels stores.

    With a ``checker``, saving tests the credentials against the platform first (see the module
    docstring); without one (seeding the demo) they are saved untested.
    """

    def __init__(
        self, session: AsyncSession, box: SecretBox, checker: ConnectionChecker | None = None
    ) -> None:
        self.session = session
        self.box = box
        self.checker = checker

    async def list_stores(self) -> list[Store]:
        return await all_stores(self.session)

    async def get(self, store_id: int) -> Store | None:
        return await self.session.get(Store, store_id)

    def masked(self, store: Store) -> MaskedSecrets:
        return _masked(self.box, store.appsecret_enc, store.token_enc, store.aes_key_enc)

    async def _test(self, form: StoreForm, secret: str) -> Message | None:
        if self.checker is None:
            return None
        return await self.checker.check_store(
            form.appid, secret, stable_token=form.token_api != TokenApi.CLASSIC
        )

    async def create(self, form: StoreForm) -> Store | Invalid | CheckFailed:
        """Connect a store. Every field is required; the appid and the name must not belong to
        another store; the platform must accept the appid and secret, or the admin says to save
        anyway (the store then starts with that problem as its connection state)."""
        form = _stripped(form)
        errors = await self._check(form, current=None)
        if errors:
            return Invalid(errors)
        problem = await self._test(form, form.appsecret)
        if problem is not None and not form.save_anyway:
            return CheckFailed(problem)
        store = Store(
            key=new_push_key(),
            name=form.name,
            appid=form.appid,
            appsecret_enc=self.box.encrypt(form.appsecret),
            token_enc=self.box.encrypt(form.token),
            aes_key_enc=self.box.encrypt(form.aes_key),
            token_api=form.token_api,
            connection_error=encode_problem(problem) if problem else None,
            connection_error_at=utcnow() if problem else None,
        )
        self.session.add(store)
        await self.session.flush()
        if problem is not None:
            log.warning(
                "store %d (%s) saved although its connection test failed: %s",
                store.id,
                store.name,
                problem.render("en"),
            )
        return store

    async def update(self, store: Store, form: StoreForm) -> Store | Invalid | CheckFailed:
        """Change a store. Blank secret fields keep the stored secrets — unless those cannot be
        decrypted, then all three are required again; the push key never changes (the platform
        would lose the URL). The credentials are tested as on :meth:`create`, and the outcome
        becomes the store's connection state."""
        form = _stripped(form)
        errors = await self._check(form, current=store)
        if errors:
            return Invalid(errors)
        problem = await self._test(form, form.appsecret or self.box.decrypt(store.appsecret_enc))
        if problem is not None and not form.save_anyway:
            return CheckFailed(problem)
        store.name = form.name
        store.appid = form.appid
        store.token_api = form.token_api
        if form.appsecret:
            store.appsecret_enc = self.box.encrypt(form.appsecret)
        if form.token:
            store.token_enc = self.box.encrypt(form.token)
        if form.aes_key:
            store.aes_key_enc = self.box.encrypt(form.aes_key)
        await self.session.flush()
        if self.checker is not None:
            await record_connection(await self.session.connection(), Store, store.id, problem)
            await self.session.refresh(store, ["connection_error", "connection_error_at"])
        return store

    async def set_active(self, store: Store, active: bool) -> Store:
        """Deactivate (or reactivate) a store. It stays, with its data, for history and scoping."""
        store.is_active = active
        await self.session.flush()
        return store

    async def _check(self, form: StoreForm, current: Store | None) -> dict[str, Message]:
        keep_allowed = current is not None and _readable(
            self.box, current.appsecret_enc, current.token_enc, current.aes_key_enc
        )
        errors: dict[str, Message] = {}
        if problem := check_name(form.name):
            errors["name"] = problem
        elif await _taken(self.session, Store.name, form.name, current):
            errors["name"] = Message("stores.error.name_taken")
        if problem := check_appid(form.appid):
            errors["appid"] = problem
        elif await _taken(self.session, Store.appid, form.appid, current):
            errors["appid"] = Message("stores.error.appid_taken")
        if form.token_api not in {api.value for api in TokenApi}:
            errors["token_api"] = Message("stores.error.token_api")
        _check_secrets(
            {
                "appsecret": (form.appsecret, check_secret),
                "token": (form.token, check_push_token),
                "aes_key": (form.aes_key, check_aes_key),
            },
            required=not keep_allowed,
            errors=errors,
        )
        return errors


class CorpService:
    """Add, change, list and (de)activate WeCom corps; saving tests the credentials first, as
    :class:`StoreService` does."""

    def __init__(
        self, session: AsyncSession, box: SecretBox, checker: ConnectionChecker | None = None
    ) -> None:
        self.session = session
        self.box = box
        self.checker = checker

    async def list_corps(self) -> list[WeComCorp]:
        """Every corp, active first, then by name."""
        stmt = sa.select(WeComCorp).order_by(WeComCorp.is_active.desc(), WeComCorp.name)
        return list(await self.session.scalars(stmt))

    async def get(self, corp_id: int) -> WeComCorp | None:
        return await self.session.get(WeComCorp, corp_id)

    def masked(self, corp: WeComCorp) -> MaskedSecrets:
        return _masked(self.box, corp.secret_enc, corp.token_enc, corp.aes_key_enc)

    async def _test(self, form: CorpForm, secret: str) -> Message | None:
        return None if self.checker is None else await self.checker.check_corp(form.corpid, secret)

    async def create(self, form: CorpForm) -> WeComCorp | Invalid | CheckFailed:
        """Connect a WeCom corp. Every field but the default store is required; corpids are
        unique; WeCom must accept the corpid and secret, or the admin says to save anyway."""
        form = _stripped(form)
        errors, default_store_id = await self._check(form, current=None)
        if errors:
            return Invalid(errors)
        problem = await self._test(form, form.secret)
        if problem is not None and not form.save_anyway:
            return CheckFailed(problem)
        corp = WeComCorp(
            key=new_push_key(),
            name=form.name,
            corpid=form.corpid,
            secret_enc=self.box.encrypt(form.secret),
            token_enc=self.box.encrypt(form.token),
            aes_key_enc=self.box.encrypt(form.aes_key),
            default_store_id=default_store_id,
            connection_error=encode_problem(problem) if problem else None,
            connection_error_at=utcnow() if problem else None,
        )
        self.session.add(corp)
        await self.session.flush()
        if problem is not None:
            log.warning(
                "WeCom corp %d (%s) saved although its connection test failed: %s",
                corp.id,
                corp.name,
                problem.render("en"),
            )
        return corp

    async def update(self, corp: WeComCorp, form: CorpForm) -> WeComCorp | Invalid | CheckFailed:
        """Change a corp; blank secret fields keep the stored secrets unless those cannot be
        decrypted (then all three are required again). Tested as on :meth:`create`."""
        form = _stripped(form)
        errors, default_store_id = await self._check(form, current=corp)
        if errors:
            return Invalid(errors)
        problem = await self._test(form, form.secret or self.box.decrypt(corp.secret_enc))
        if problem is not None and not form.save_anyway:
            return CheckFailed(problem)
        corp.name = form.name
        corp.corpid = form.corpid
        corp.default_store_id = default_store_id
        if form.secret:
            corp.secret_enc = self.box.encrypt(form.secret)
        if form.token:
            corp.token_enc = self.box.encrypt(form.token)
        if form.aes_key:
            corp.aes_key_enc = self.box.encrypt(form.aes_key)
        await self.session.flush()
        if self.checker is not None:
            await record_connection(await self.session.connection(), WeComCorp, corp.id, problem)
            await self.session.refresh(corp, ["connection_error", "connection_error_at"])
        return corp

    async def set_active(self, corp: WeComCorp, active: bool) -> WeComCorp:
        """Deactivate (or reactivate) a corp. It stays, with its history, and can be reactivated."""
        corp.is_active = active
        await self.session.flush()
        return corp

    async def _check(
        self, form: CorpForm, current: WeComCorp | None
    ) -> tuple[dict[str, Message], int | None]:
        errors: dict[str, Message] = {}
        keep_allowed = current is not None and _readable(
            self.box, current.secret_enc, current.token_enc, current.aes_key_enc
        )
        if problem := check_name(form.name):
            errors["name"] = problem
        if problem := check_corpid(form.corpid):
            errors["corpid"] = problem
        elif await _taken(self.session, WeComCorp.corpid, form.corpid, current):
            errors["corpid"] = Message("stores.error.corpid_taken")
        _check_secrets(
            {
                "secret": (form.secret, check_secret),
                "token": (form.token, check_push_token),
                "aes_key": (form.aes_key, check_aes_key),
            },
            required=not keep_allowed,
            errors=errors,
        )
        default_store_id = None
        if form.default_store_id:
            ref = form.default_store_id
            is_id = ref.isascii() and ref.isdigit() and len(ref) < 19
            store = await self.session.get(Store, int(ref)) if is_id else None
            if store is None:
                errors["default_store_id"] = Message("stores.error.unknown_store")
            else:
                default_store_id = store.id
        return errors, default_store_id
