"""扫码退单: the warehouse scans a returned parcel's waybill and the after-sale is refunded.

A scan finds the after-sales whose return parcel has that waybill, in the scanning user's
stores. Exactly one awaiting receipt (``MERCHANT_WAIT_RECEIPT``): receipt is confirmed through
:func:`desk.aftersales.actions.decide` — an outbound command, one platform call however often the
parcel is scanned. Several: the user chooses one (a buyer who sent two returns in one parcel).
None: the scan says why — no such waybill, already refunded, or not (or no longer) awaiting the
parcel. An exchange's parcel (换货) is not refunded: the replacement is sent from the after-sale.
Every answer names the item and the amount, so the packer can check the parcel's content.
"""

from __future__ import annotations

import enum
import re

import msgspec
import sqlalchemy as sa

from desk.accounts.models import User, store_entity
from desk.accounts.scoping import scoped
from desk.aftersales.actions import Decision, decide
from desk.aftersales.models import AfterSale
from desk.aftersales.status import AfterSaleAction, aftersale_status_label
from desk.audit.service import Actor
from desk.db import Work
from desk.errors import Invalid
from desk.i18n import Message
from desk.orders.models import Order, OrderLine
from desk.wakeup import Wakeup

__all__ = [
    "MAX_WAYBILL_LENGTH",
    "REFUNDED_STATUSES",
    "ScanMatch",
    "ScanOutcome",
    "ScanResult",
    "normalize_waybill",
    "parcels_with_waybill",
    "scan_return",
]

MAX_WAYBILL_LENGTH = 64
"""The platform's ``waybill_id`` fits the column (``aftersale.return_waybill_id``)."""
_WAYBILL = re.compile(r"[0-9A-Z-]+")
AWAITING_RECEIPT = "MERCHANT_WAIT_RECEIPT"
REFUNDED_STATUSES = frozenset({"PLATFORM_REFUNDING", "MERCHANT_REFUND_SUCCESS", "MERCHANT_RETURN_SUCCESS"})
"""The refund was made (or is being paid out): a second scan must not ask again."""

_aftersale = AfterSale.__table__


class ScanOutcome(enum.StrEnum):
    CONFIRMED = "confirmed"
    """Receipt confirmed: the refund is asked of the platform (see the command's state)."""
    ALREADY_ASKED = "already_asked"
    """Scanned again before the platform answered: nothing new was sent."""
    ALREADY_REFUNDED = "already_refunded"
    CHOOSE = "choose"
    """Several after-sales await this parcel: the user picks one."""
    EXCHANGE = "exchange"
    """An exchange's parcel: nothing is refunded, the buyer gets a replacement (sent from the
    after-sale, not from the scan)."""
    NOT_AWAITING = "not_awaiting"
    """Known, but not awaiting the parcel (the buyer has not sent it, it was rejected, closed …)."""
    UNKNOWN = "unknown"
    REFUSED = "refused"
    """The desk refused the confirmation (see the message)."""


class ScanMatch(msgspec.Struct, frozen=True, kw_only=True):
    """An after-sale whose return parcel carries the scanned waybill."""

    after_sale_order_id: str
    order_id: str
    store_name: str
    status: str
    status_label: Message
    type: str
    """REFUND, RETURN or EXCHANGE (换货: never refunded by a scan)."""
    title: str
    """The returned item, as the order names it (empty while the order is not stored)."""
    sku_id: str
    count: int
    refund_amount: int
    """In fen."""


class ScanResult(msgspec.Struct, frozen=True, kw_only=True):
    waybill: str
    outcome: ScanOutcome
    message: Message
    matches: list[ScanMatch] = msgspec.field(default_factory=list)
    command_id: int | None = None
    """The confirmation's outbound command (confirmed, already asked): its state is the refund's."""

    @property
    def match(self) -> ScanMatch | None:
        """The after-sale the scan acted on, or the only one it found."""
        return self.matches[0] if len(self.matches) == 1 else None


def normalize_waybill(raw: str) -> str | Invalid:
    """The waybill as stored: spaces dropped, letters upper-cased (a scanner or a typist may send
    either case); refused when empty, too long or not letters, digits and dashes."""
    waybill = "".join(raw.split()).upper()
    if not waybill:
        return Invalid({"waybill": Message("warehouse.error.empty")})
    if len(waybill) > MAX_WAYBILL_LENGTH:
        return Invalid({"waybill": Message("warehouse.error.too_long", {"max": MAX_WAYBILL_LENGTH})})
    if not _WAYBILL.fullmatch(waybill):
        return Invalid({"waybill": Message("warehouse.error.shape")})
    return waybill


async def parcels_with_waybill(work: Work, user: User, waybill: str) -> list[ScanMatch]:
    """The after-sales in ``user``'s stores whose return parcel is ``waybill``, oldest first.

    One indexed lookup (``ix_aftersale_return_waybill``); the item's title comes from the order's
    line for the same SKU.
    """
    store = store_entity()
    title = (
        sa.select(OrderLine.title)
        .join(Order, Order.id == OrderLine.order_pk)
        .where(
            Order.store_id == _aftersale.c.store_id,
            Order.order_id == _aftersale.c.order_id,
            OrderLine.sku_id == _aftersale.c.sku_id,
        )
        .limit(1)
        .scalar_subquery()
    )
    stmt = scoped(
        sa.select(
            _aftersale.c.after_sale_order_id,
            _aftersale.c.order_id,
            _aftersale.c.status,
            _aftersale.c.type,
            _aftersale.c.sku_id,
            _aftersale.c.count.label("item_count"),
            _aftersale.c.refund_amount,
            store.name.label("store_name"),
            title.label("title"),
        )
        .join(store, store.id == _aftersale.c.store_id)
        .where(_aftersale.c.return_waybill_id == waybill)
        .order_by(_aftersale.c.create_time, _aftersale.c.id),
        _aftersale.c.store_id,
        user,
    )
    return [
        ScanMatch(
            after_sale_order_id=row.after_sale_order_id,
            order_id=row.order_id,
            store_name=row.store_name,
            status=row.status,
            status_label=aftersale_status_label(row.status),
            type=row.type,
            title=row.title or "",
            sku_id=row.sku_id,
            count=row.item_count,
            refund_amount=row.refund_amount,
        )
        for row in (await work.execute(stmt)).all()
    ]


async def scan_return(
    work: Work,
    wakeup: Wakeup | None,
    *,
    user: User,
    waybill: str,
    after_sale_order_id: str = "",
) -> ScanResult | Invalid:
    """Confirm receipt of the returned parcel ``waybill`` and refund its after-sale, as ``user``.

    ``after_sale_order_id`` picks one when several after-sales await the same parcel (and must be
    one of them). A waybill of no after-sale, or of none awaiting receipt, sends nothing.
    """
    normalized = normalize_waybill(waybill)
    if isinstance(normalized, Invalid):
        return normalized
    found = await parcels_with_waybill(work, user, normalized)
    if after_sale_order_id:
        found = [m for m in found if m.after_sale_order_id == after_sale_order_id]
    if not found:
        return ScanResult(
            waybill=normalized,
            outcome=ScanOutcome.UNKNOWN,
            message=Message("warehouse.outcome.unknown", {"waybill": normalized}),
        )
    awaiting = [m for m in found if m.status == AWAITING_RECEIPT]
    if len(awaiting) > 1:
        return ScanResult(
            waybill=normalized,
            outcome=ScanOutcome.CHOOSE,
            message=Message("warehouse.outcome.choose", {"count": len(awaiting)}),
            matches=awaiting,
        )
    if not awaiting:
        latest = found[-1]
        refunded = latest.status in REFUNDED_STATUSES
        return ScanResult(
            waybill=normalized,
            outcome=ScanOutcome.ALREADY_REFUNDED if refunded else ScanOutcome.NOT_AWAITING,
            message=Message(
                "warehouse.outcome.already_refunded" if refunded else "warehouse.outcome.not_awaiting"
            ),
            matches=[latest],
        )
    if awaiting[0].type == "EXCHANGE":
        return ScanResult(
            waybill=normalized,
            outcome=ScanOutcome.EXCHANGE,
            message=Message("warehouse.outcome.exchange"),
            matches=awaiting,
        )
    return await _confirm(work, wakeup, user, normalized, awaiting[0])


async def _confirm(
    work: Work, wakeup: Wakeup | None, user: User, waybill: str, match: ScanMatch
) -> ScanResult:
    """Confirm receipt of ``match`` (one command however often it is scanned)."""
    result = await decide(
        work,
        wakeup,
        actor=Actor.user(user.id, user.display_name or user.username),
        after_sale_order_id=match.after_sale_order_id,
        decision=Decision(action=AfterSaleAction.CONFIRM_RECEIPT, why=f"扫码退单 {waybill}"),
        user=user,
    )
    if isinstance(result, Invalid):
        problem = next(iter(result.errors.values()))
        return ScanResult(waybill=waybill, outcome=ScanOutcome.REFUSED, message=problem, matches=[match])
    if not result.created:
        return ScanResult(
            waybill=waybill,
            outcome=ScanOutcome.ALREADY_ASKED,
            message=Message("warehouse.outcome.already_asked", {"name": result.handled_by or "?"}),
            matches=[match],
            command_id=result.command_id,
        )
    return ScanResult(
        waybill=waybill,
        outcome=ScanOutcome.CONFIRMED,
        message=Message("warehouse.outcome.confirmed"),
        matches=[match],
        command_id=result.command_id,
    )
