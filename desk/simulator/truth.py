"""Ground truth: what the platform knows, to check the desk against (and two runs against each other).

Frozen Structs, so two snapshots compare with ``==`` and serialise with msgspec.
"""

from __future__ import annotations

import msgspec

from desk.simulator.state import CorpState, StoreState

__all__ = [
    "AfterSaleTruth",
    "BuyerMessageTruth",
    "CorpTruth",
    "GroundTruth",
    "KfMessageTruth",
    "OrderTruth",
    "StoreTruth",
    "snapshot",
]


class OrderTruth(msgspec.Struct, frozen=True, kw_only=True):
    status: int
    update_time: int
    openid: str
    order_price: int
    aftersale_ids: tuple[str, ...]


class AfterSaleTruth(msgspec.Struct, frozen=True, kw_only=True):
    order_id: str
    status: str
    type: str
    reason: str
    update_time: int


class BuyerMessageTruth(msgspec.Struct, frozen=True, kw_only=True):
    msg_id: str
    openid: str
    msg_type: str
    text: str


class StoreTruth(msgspec.Struct, frozen=True, kw_only=True):
    orders: dict[str, OrderTruth]
    aftersales: dict[str, AfterSaleTruth]
    buyer_messages: tuple[BuyerMessageTruth, ...]
    sent_messages: int


class KfMessageTruth(msgspec.Struct, frozen=True, kw_only=True):
    msgid: str
    open_kfid: str
    external_userid: str
    origin: int
    msgtype: str
    text: str


class CorpTruth(msgspec.Struct, frozen=True, kw_only=True):
    kf_messages: tuple[KfMessageTruth, ...]
    sent_messages: int


class GroundTruth(msgspec.Struct, frozen=True, kw_only=True):
    """Per appid and per corpid, everything the desk should eventually know."""

    stores: dict[str, StoreTruth]
    corps: dict[str, CorpTruth]

    def counts(self) -> dict[str, int]:
        """Totals across stores and corps (the index page's figures)."""
        return {
            "orders": sum(len(s.orders) for s in self.stores.values()),
            "aftersales": sum(len(s.aftersales) for s in self.stores.values()),
            "buyer_messages": sum(len(s.buyer_messages) for s in self.stores.values()),
            "sent_messages": sum(s.sent_messages for s in self.stores.values()),
            "kf_messages": sum(len(c.kf_messages) for c in self.corps.values()),
        }


def _store_truth(store: StoreState) -> StoreTruth:
    return StoreTruth(
        orders={
            o.order_id: OrderTruth(
                status=o.status,
                update_time=o.update_time,
                openid=o.openid,
                order_price=o.order_price,
                aftersale_ids=tuple(o.aftersale_ids),
            )
            for o in store.orders.values()
        },
        aftersales={
            a.after_sale_order_id: AfterSaleTruth(
                order_id=a.order_id, status=a.status, type=a.type, reason=a.reason, update_time=a.update_time
            )
            for a in store.aftersales.values()
        },
        buyer_messages=tuple(
            BuyerMessageTruth(msg_id=m.msg_id, openid=m.openid, msg_type=m.msg_type, text=m.content)
            for m in store.buyer_messages
        ),
        sent_messages=len(store.sent),
    )


def _corp_truth(corp: CorpState) -> CorpTruth:
    return CorpTruth(
        kf_messages=tuple(
            KfMessageTruth(
                msgid=m.msgid,
                open_kfid=m.open_kfid,
                external_userid=m.external_userid,
                origin=m.origin,
                msgtype=m.msgtype,
                text=str(m.body.get("text", {}).get("content", "")),
            )
            for m in corp.kf_messages
        ),
        sent_messages=len(corp.sent),
    )


def snapshot(stores: dict[str, StoreState], corps: dict[str, CorpState]) -> GroundTruth:
    return GroundTruth(
        stores={appid: _store_truth(s) for appid, s in stores.items()},
        corps={corpid: _corp_truth(c) for corpid, c in corps.items()},
    )
