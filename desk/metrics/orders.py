"""Order figures: paid orders (orders by hour, the after-sale rate's base) and repeat purchase.

* An order **counts** once, in the store's local hour of its payment (``pay_time``); unpaid
  orders never do. Orders by hour make the 18:00–22:00 evening peak visible.
* The **repeat-purchase rate** over N days (30 or 90) ending on a day: of the buyers who paid
  for at least one order of the store in those days, the share who paid for two or more.
"""

from __future__ import annotations

import datetime as dt

from desk.db import Work
from desk.metrics.facts import FactKind, make_fact
from desk.metrics.record import write_fact
from desk.metrics.window import calendar_of

__all__ = ["note_order", "repeat_share"]


async def note_order(
    work: Work, *, store_id: int, order_pk: int, buyer_id: int | None, pay_time: dt.datetime | None
) -> None:
    """Record a stored order: its payment, the first time it is seen paid."""
    if pay_time is None:
        return
    calendar = await calendar_of(work, store_id)
    fact = make_fact(
        calendar,
        key=f"paid:{order_pk}",
        store_id=store_id,
        kind=FactKind.ORDER_PAID,
        at=pay_time,
        buyer_id=buyer_id,
    )
    await write_fact(work, fact)


def repeat_share(orders_per_buyer: list[int]) -> float | None:
    """Buyers with two or more orders / buyers with any; None when nobody ordered."""
    buyers = [n for n in orders_per_buyer if n > 0]
    if not buyers:
        return None
    return sum(1 for n in buyers if n >= 2) / len(buyers)
