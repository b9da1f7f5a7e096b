"""Connecting stores and WeCom corps: validated credentials, encrypted at rest, shown masked.

Shared by the settings pages and the CLI. A refused form returns :class:`~desk.errors.Invalid`
(a message per field) and writes nothing. Secrets (appsecret, push token, EncodingAESKey) are
encrypted with the runtime's :class:`~desk.stores.secrets.SecretBox` before they reach the
database, and only ever shown back masked.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import TypeVar

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from desk.accounts.models import User
from desk.accounts.scoping import scoped
from desk.errors import Invalid
from desk.i18n import Message
from desk.settings import Settings
from desk.stores.models import Store, TokenApi, WeComCorp
from desk.stores.secrets import SecretBox, SecretError, mask
from desk.stores.validation import (
    check_aes_key,
    check_appid,
    check_corpid,
    check_name,
    check_push_token,
    check_secret,
)

__all__ = [
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
    "store_push_url",
    "stores_visible_to",
    "unreadable_secrets",
]

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


class CorpForm(msgspec.Struct, kw_only=True):
    """A WeCom corp as the admin types it. On edit, a blank secret field keeps the stored value."""

    name: str = ""
    corpid: str = ""
    secret: str = ""
    token: str = ""
    aes_key: str = ""
    default_store_id: str = ""
    """A store id, or empty for none (buyers arriving through the corp's kf then have no store)."""


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


def store_push_url(settings: Settings, store: Store) -> str:
    """Where the platform sends this store's pushes; entered in the store backend's 消息推送."""
    return f"{settings.base_url}/webhooks/channels/{store.key}"


def corp_push_url(settings: Settings, corp: WeComCorp) -> str:
    """Where WeCom sends this corp's callbacks; entered as the WeCom app's receive-message URL."""
    return f"{settings.base_url}/webhooks/wecom/{corp.key}"


FormT = TypeVar("FormT", StoreForm, CorpForm)


def _stripped(form: FormT) -> FormT:
    # Values pasted from the platform's console often carry stray spaces or a newline.
    return msgspec.structs.replace(form, **{f: getattr(form, f).strip() for f in form.__struct_fields__})


def _check_secrets(
    values: dict[str, tuple[str, Check]], *, required: bool, errors: dict[str, Message]
) -> None:
    """Check secret fields; blank ones are an error on create and mean "keep" on edit."""
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
    """Add, change, list and (de)activate Channels stores."""

    def __init__(self, session: AsyncSession, box: SecretBox) -> None:
        self.session = session
        self.box = box

    async def list_stores(self) -> list[Store]:
        return await all_stores(self.session)

    async def get(self, store_id: int) -> Store | None:
        return await self.session.get(Store, store_id)

    def masked(self, store: Store) -> MaskedSecrets:
        return _masked(self.box, store.appsecret_enc, store.token_enc, store.aes_key_enc)

    async def create(self, form: StoreForm) -> Store | Invalid:
        """Connect a store. Every field is required; the appid must not belong to another store."""
        form = _stripped(form)
        errors = await self._check(form, current=None)
        if errors:
            return Invalid(errors)
        store = Store(
            key=new_push_key(),
            name=form.name,
            appid=form.appid,
            appsecret_enc=self.box.encrypt(form.appsecret),
            token_enc=self.box.encrypt(form.token),
            aes_key_enc=self.box.encrypt(form.aes_key),
            token_api=form.token_api,
        )
        self.session.add(store)
        await self.session.flush()
        return store

    async def update(self, store: Store, form: StoreForm) -> Store | Invalid:
        """Change a store. Blank secret fields keep the stored secrets — unless those cannot be
        decrypted, then all three are required again; the push key never changes (the platform
        would lose the URL)."""
        form = _stripped(form)
        errors = await self._check(form, current=store)
        if errors:
            return Invalid(errors)
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
    """Add, change, list and (de)activate WeCom corps."""

    def __init__(self, session: AsyncSession, box: SecretBox) -> None:
        self.session = session
        self.box = box

    async def list_corps(self) -> list[WeComCorp]:
        """Every corp, active first, then by name."""
        stmt = sa.select(WeComCorp).order_by(WeComCorp.is_active.desc(), WeComCorp.name)
        return list(await self.session.scalars(stmt))

    async def get(self, corp_id: int) -> WeComCorp | None:
        return await self.session.get(WeComCorp, corp_id)

    def masked(self, corp: WeComCorp) -> MaskedSecrets:
        return _masked(self.box, corp.secret_enc, corp.token_enc, corp.aes_key_enc)

    async def create(self, form: CorpForm) -> WeComCorp | Invalid:
        """Connect a WeCom corp. Every field but the default store is required; corpids are unique."""
        form = _stripped(form)
        errors, default_store_id = await self._check(form, current=None)
        if errors:
            return Invalid(errors)
        corp = WeComCorp(
            key=new_push_key(),
            name=form.name,
            corpid=form.corpid,
            secret_enc=self.box.encrypt(form.secret),
            token_enc=self.box.encrypt(form.token),
            aes_key_enc=self.box.encrypt(form.aes_key),
            default_store_id=default_store_id,
        )
        self.session.add(corp)
        await self.session.flush()
        return corp

    async def update(self, corp: WeComCorp, form: CorpForm) -> WeComCorp | Invalid:
        """Change a corp; blank secret fields keep the stored secrets unless those cannot be
        decrypted (then all three are required again)."""
        form = _stripped(form)
        errors, default_store_id = await self._check(form, current=corp)
        if errors:
            return Invalid(errors)
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
