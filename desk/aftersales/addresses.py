"""一货一址: the return address an after-sale's goods go back to.

A store binds return addresses to SKUs, to products, or one as its default. Approving a return
uses the most specific binding: the SKU's, else the product's, else the store default — and,
with no binding at all, the platform's default return address if the desk knows one.
"""

from __future__ import annotations

import msgspec
import sqlalchemy as sa

from desk.aftersales.models import MerchantAddress, ReturnAddressBinding
from desk.db import Work

__all__ = ["ChosenAddress", "return_address_for"]

_binding = ReturnAddressBinding.__table__
_address = MerchantAddress.__table__


class ChosenAddress(msgspec.Struct, frozen=True, kw_only=True):
    address_id: str
    source: str
    """``sku``, ``product``, ``store`` (a binding) or ``platform_default``."""
    label: str
    """How the address reads (its name, region and street), when the desk has synced it."""


async def return_address_for(
    work: Work, store_id: int, *, sku_id: str, product_id: str
) -> ChosenAddress | None:
    """The return address for goods of ``sku_id`` / ``product_id`` in ``store_id``, or None."""
    rank = sa.case((_binding.c.scope == "sku", 0), (_binding.c.scope == "product", 1), else_=2)
    row = (
        await work.execute(
            sa.select(_binding.c.address_id, _binding.c.scope)
            .where(
                _binding.c.store_id == store_id,
                sa.or_(
                    sa.and_(_binding.c.scope == "sku", _binding.c.ref == sku_id),
                    sa.and_(_binding.c.scope == "product", _binding.c.ref == product_id),
                    _binding.c.scope == "store",
                ),
            )
            .order_by(rank)
            .limit(1)
        )
    ).first()
    if row is not None:
        return ChosenAddress(
            address_id=row.address_id, source=row.scope, label=await _label(work, store_id, row.address_id)
        )
    default = (
        await work.execute(
            sa.select(_address.c.address_id).where(
                _address.c.store_id == store_id, _address.c.is_return, _address.c.is_default_return
            )
        )
    ).scalar_one_or_none()
    if default is None:
        return None
    return ChosenAddress(
        address_id=default, source="platform_default", label=await _label(work, store_id, default)
    )


async def _label(work: Work, store_id: int, address_id: str) -> str:
    row = (
        await work.execute(
            sa.select(_address.c.name, _address.c.region, _address.c.detail).where(
                _address.c.store_id == store_id, _address.c.address_id == address_id
            )
        )
    ).first()
    if row is None:
        return address_id
    return " ".join(part for part in (row.name, row.region, row.detail) if part)
