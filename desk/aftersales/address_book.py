"""A store's merchant addresses (``merchant/address/*``, spec §4) as the desk keeps them.

The platform owns the addresses: the desk keeps a copy, refreshed by a sync (list + get) and by
each address it adds. Both are outbound commands run by the worker
(:mod:`desk.aftersales.address_commands`): a sync makes one call per address, too many to wait
for in a request, and an add changes the platform, so it must happen exactly once even when the
admin clicks twice — the form carries a key, and the same key names the same command.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterable

import msgspec
import sqlalchemy as sa

from desk.aftersales.models import MerchantAddress
from desk.audit.service import Actor, open_entry
from desk.commands.service import CommandRef, enqueue
from desk.db import Work, dialect_name, insert_for, utcnow
from desk.errors import Invalid
from desk.i18n import Message
from desk.platform.channels_types import AddressDetail, AddressInfo
from desk.wakeup import Wakeup

__all__ = [
    "ADD_KIND",
    "SYNC_KIND",
    "AddressForm",
    "AddressView",
    "check_address",
    "list_addresses",
    "new_request_key",
    "request_add",
    "request_sync",
    "same_address",
    "save_addresses",
    "to_detail",
]

ADD_KIND = "address.add"
SYNC_KIND = "address.sync"

_address = MerchantAddress.__table__
_PHONE = re.compile(r"\+?[0-9][0-9 -]{5,19}")
_KEY = re.compile(r"[A-Za-z0-9_-]{16,43}")
# Longest accepted text per field: what the merchant_address columns hold.
_LIMITS = {"name": 64, "receiver": 64, "phone": 32, "province": 32, "city": 32, "county": 32, "detail": 200}
_REQUIRED = ("receiver", "phone", "province", "city", "detail")


class AddressForm(msgspec.Struct, kw_only=True):
    """The new-address form. ``request_key`` is drawn when the form is shown: submitting it twice
    (a double click, a reload) names the same command, so the address is added once."""

    name: str = ""
    receiver: str = ""
    phone: str = ""
    province: str = ""
    city: str = ""
    county: str = ""
    detail: str = ""
    postal_code: str = ""
    default_return: bool = False
    request_key: str = ""


class AddressView(msgspec.Struct, frozen=True, kw_only=True):
    address_id: str
    name: str
    receiver: str
    phone: str
    region: str
    detail: str
    is_return: bool
    is_default_return: bool
    synced_at: dt.datetime

    @property
    def label(self) -> str:
        return " ".join(part for part in (self.name, self.region, self.detail) if part)


def new_request_key() -> str:
    return secrets.token_urlsafe(16)


def _stripped(form: AddressForm) -> AddressForm:
    return msgspec.structs.replace(
        form,
        **{field: getattr(form, field).strip() for field in (*_LIMITS, "postal_code", "request_key")},
    )


def check_address(form: AddressForm) -> dict[str, Message]:
    """A message per field the platform would refuse or the desk could not keep."""
    errors: dict[str, Message] = {}
    for field in _REQUIRED:
        if not getattr(form, field):
            errors[field] = Message(f"addresses.form.required.{field}")
    for field, limit in _LIMITS.items():
        if field not in errors and len(getattr(form, field)) > limit:
            errors[field] = Message("addresses.form.too_long", {"max": limit})
    if "phone" not in errors and not _PHONE.fullmatch(form.phone):
        errors["phone"] = Message("addresses.form.bad_phone")
    if form.postal_code and not (form.postal_code.isascii() and form.postal_code.isdigit()):
        errors["postal_code"] = Message("addresses.form.bad_postal_code")
    if not _KEY.fullmatch(form.request_key):
        # Only a hand-made post lacks it; asking again draws a fresh one.
        errors["request_key"] = Message("addresses.form.expired")
    return errors


def to_detail(form: AddressForm) -> AddressDetail:
    """The platform's ``address_detail`` for a checked form: a return (``recv_addr``) address."""
    return AddressDetail(
        name=form.name,
        address_info=AddressInfo(
            user_name=form.receiver,
            tel_number=form.phone,
            province_name=form.province,
            city_name=form.city,
            county_name=form.county,
            detail_info=form.detail,
            postal_code=form.postal_code,
        ),
        recv_addr=True,
        default_recv=form.default_return,
    )


def same_address(a: AddressDetail, b: AddressDetail) -> bool:
    """Whether two details describe the same place and contact (ids and times aside)."""
    x, y = a.address_info, b.address_info
    return (
        a.name,
        x.user_name,
        x.tel_number,
        x.province_name,
        x.city_name,
        x.county_name,
        x.detail_info,
    ) == (
        b.name,
        y.user_name,
        y.tel_number,
        y.province_name,
        y.city_name,
        y.county_name,
        y.detail_info,
    )


async def request_add(
    work: Work, wakeup: Wakeup | None, store_id: int, form: AddressForm, *, actor: Actor
) -> CommandRef | Invalid:
    """Check the form and queue ``merchant/address/add``, once per ``request_key``; the audit
    trail records who asked (completed when the command ends)."""
    form = _stripped(form)
    errors = check_address(form)
    if errors:
        return Invalid(errors)
    subject = f"store:{store_id}:addresses"
    ref = await enqueue(
        work,
        wakeup,
        store_id=store_id,
        kind=ADD_KIND,
        key=f"{ADD_KIND}:{form.request_key}",
        payload={"address_detail": msgspec.to_builtins(to_detail(form))},
        subject=subject,
        origin=actor.key,
        created_by_id=actor.user_id,
    )
    if ref.created:
        await open_entry(
            work,
            store_id=store_id,
            actor=actor,
            action=ADD_KIND,
            subject=subject,
            details={"name": form.name, "region": f"{form.province} {form.city} {form.county}".strip()},
            command_id=ref.id,
        )
    return ref


async def request_sync(
    work: Work, wakeup: Wakeup | None, store_id: int, *, request_key: str, user_id: int | None
) -> CommandRef:
    """Queue a sync of the store's addresses, once per ``request_key`` (one click)."""
    return await enqueue(
        work,
        wakeup,
        store_id=store_id,
        kind=SYNC_KIND,
        key=f"{SYNC_KIND}:{request_key}",
        payload={},
        subject=f"store:{store_id}:addresses",
        origin=f"user:{user_id}" if user_id is not None else "system",
        created_by_id=user_id,
    )


def _row(store_id: int, detail: AddressDetail, now: dt.datetime) -> dict[str, object]:
    info = detail.address_info
    return {
        "store_id": store_id,
        "address_id": detail.address_id,
        "name": detail.name[:64],
        "receiver": info.user_name[:64],
        "phone": info.tel_number[:32],
        "region": " ".join(p for p in (info.province_name, info.city_name, info.county_name) if p)[:128],
        "detail": info.detail_info[:255],
        "is_return": detail.recv_addr,
        "is_default_return": detail.recv_addr and detail.default_recv,
        "synced_at": now,
        "created_at": now,
        "updated_at": now,
    }


async def save_addresses(
    work: Work, store_id: int, details: Iterable[AddressDetail], *, complete: bool
) -> None:
    """Store the platform's copy of addresses. ``complete`` (a full sync) also forgets addresses
    the platform no longer has; a new default return address takes the mark from the others."""
    now = utcnow()
    rows = [_row(store_id, detail, now) for detail in details if detail.address_id]
    insert = insert_for(dialect_name(work), _address)
    if rows:
        changed = {
            key: insert.excluded[key]
            for key in rows[0]
            if key not in ("store_id", "address_id", "created_at")
        }
        await work.execute(
            insert.on_conflict_do_update(
                index_elements=[_address.c.store_id, _address.c.address_id], set_=changed
            ),
            rows,
        )
    if complete:
        await work.execute(
            sa.delete(_address).where(
                _address.c.store_id == store_id, _address.c.address_id.not_in([r["address_id"] for r in rows])
            )
        )
    defaults = [r["address_id"] for r in rows if r["is_default_return"]]
    if defaults:
        await work.execute(
            sa.update(_address)
            .where(_address.c.store_id == store_id, _address.c.address_id != defaults[-1])
            .values(is_default_return=False)
        )


async def list_addresses(work: Work, store_id: int) -> list[AddressView]:
    """The store's addresses as last synced: return addresses first, the default at the top."""
    rows = await work.execute(
        sa.select(_address)
        .where(_address.c.store_id == store_id)
        .order_by(_address.c.is_default_return.desc(), _address.c.is_return.desc(), _address.c.address_id)
    )
    return [
        AddressView(
            address_id=row.address_id,
            name=row.name,
            receiver=row.receiver,
            phone=row.phone,
            region=row.region,
            detail=row.detail,
            is_return=row.is_return,
            is_default_return=row.is_default_return,
            synced_at=row.synced_at,
        )
        for row in rows
    ]
