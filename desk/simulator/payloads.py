"""The plaintext of every push, before encryption: Channels events (JSON) and WeCom callbacks (XML).

Shapes follow spec §5, §6 and §7; the field names are the platform's, hence not snake_case.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = [
    "AFTERSALE_EVENT_OPENID",
    "AfterSaleStatusUpdate",
    "AfterSaleUpdatePush",
    "ChannelsPush",
    "CommkfPush",
    "ComplaintStatusUpdate",
    "ComplaintUpdatePush",
    "OrderInfo",
    "OrderPush",
    "ProductOrderStatus",
    "ProductOrderStatusPush",
    "wecom_envelope",
    "wecom_xml",
]

# After-sale and dispute events come from a fixed platform openid, not the buyer's (spec §5) [V].
AFTERSALE_EVENT_OPENID = "o7esq5OI0sdmpKM6y1KH-N7M-iHM"


class ChannelsPush(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The envelope of every Channels store event (spec §5).

    Subclasses omit their unset optional objects; so that nothing required is ever omitted with
    them, the envelope's fields have no defaults.
    """

    ToUserName: str
    FromUserName: str
    CreateTime: int
    MsgType: str
    Event: str


class OrderInfo(msgspec.Struct, kw_only=True, omit_defaults=True):
    order_id: str
    pay_time: int | None = None
    cancel_type: int | None = None
    finish_delivery: int | None = None
    confirm_type: int | None = None
    settle_time: int | None = None
    type: int | None = None


class OrderPush(ChannelsPush, kw_only=True, omit_defaults=True):
    """``channels_ec_order_*``."""

    order_info: OrderInfo


class ProductOrderStatus(msgspec.Struct, kw_only=True):
    order_id: str
    status: int


class ProductOrderStatusPush(ChannelsPush, kw_only=True, omit_defaults=True):
    """``product_order_status_update``: the duplicate stream of order status changes."""

    ProductOrderStatusUpdate: ProductOrderStatus


class AfterSaleStatusUpdate(msgspec.Struct, kw_only=True):
    status: str
    after_sale_order_id: str
    order_id: str


class AfterSaleUpdatePush(ChannelsPush, kw_only=True, omit_defaults=True):
    """``channels_ec_aftersale_update``, from :data:`AFTERSALE_EVENT_OPENID`."""

    finder_shop_aftersale_status_update: AfterSaleStatusUpdate


class ComplaintStatusUpdate(msgspec.Struct, kw_only=True):
    complaint_id: str
    after_sale_order_id: str
    order_id: str
    complaint_status: int


class ComplaintUpdatePush(ChannelsPush, kw_only=True, omit_defaults=True):
    """``channels_ec_complaint_update``, from :data:`AFTERSALE_EVENT_OPENID` like after-sale events."""

    finder_shop_complaint: ComplaintStatusUpdate


class CommkfPush(ChannelsPush, kw_only=True, omit_defaults=True):
    """``commkf_send_msg_to_kf``: a buyer's message; the typed object sits at the top level."""

    msg_id: str
    msg_type: str
    msg_event: str
    text: dict[str, Any] | None = None
    image: dict[str, Any] | None = None
    video: dict[str, Any] | None = None
    file: dict[str, Any] | None = None
    voice: dict[str, Any] | None = None
    order_share: dict[str, Any] | None = None
    product_share: dict[str, Any] | None = None


def wecom_xml(fields: dict[str, str | int]) -> str:
    """A flat WeCom ``<xml>`` document: numbers bare, text in CDATA (as the platform writes it)."""
    parts = ["<xml>"]
    for name, value in fields.items():
        if isinstance(value, int):
            parts.append(f"<{name}>{value}</{name}>")
        else:
            # CDATA cannot contain "]]>"; split it like the platform's serializer would.
            text = str(value).replace("]]>", "]]]]><![CDATA[>")
            parts.append(f"<{name}><![CDATA[{text}]]></{name}>")
    parts.append("</xml>")
    return "".join(parts)


def wecom_envelope(to_user: str, agent_id: str, encrypt: str) -> str:
    """The outer XML of a WeCom POST callback (spec §8)."""
    return (
        f"<xml><ToUserName><![CDATA[{to_user}]]></ToUserName>"
        f"<AgentID><![CDATA[{agent_id}]]></AgentID>"
        f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    )
