"""Typed push payloads: Channels store events (JSON, spec §5/§6A) and WeCom callbacks (XML, §6B/§7).

Decoding is two steps: the envelope first (to read ``Event``), then the event's own Struct from
:data:`CHANNELS_EVENTS`. An ``Event`` that is not in the table decodes to :class:`UnknownEvent`:
the platform adds events over time, and a new one must be stored and logged, never refused.

The platform documents no de-duplication key, so each Struct builds one from the event name, the
business id, the status where there is one and ``CreateTime``: a retried push carries the same
values and maps to the same key, while a later change of the same object does not.

IDs are 19-digit numbers that some platform examples send as JSON numbers; they are accepted
either way and always kept as strings (never parsed as floats).
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from typing import Annotated, Any, ClassVar, cast

import msgspec

__all__ = [
    "CHANNELS_EVENTS",
    "AfterSaleUpdate",
    "AfterSaleUpdateEvent",
    "ChannelsEvent",
    "CommkfMessageEvent",
    "ComplaintUpdate",
    "ComplaintUpdateEvent",
    "Envelope",
    "EventDecodeError",
    "ExternalContactEvent",
    "KfMsgOrEvent",
    "OrderEvent",
    "OrderInfo",
    "ProductOrderStatus",
    "ProductOrderStatusEvent",
    "UnknownEvent",
    "UnknownWeComEvent",
    "WeComEnvelope",
    "WeComEvent",
    "decode_channels_event",
    "decode_wecom_event",
    "parse_wecom_envelope",
]

Id = str | int

EpochSeconds = Annotated[int, msgspec.Meta(ge=0, le=253_402_300_799)]
"""A ``CreateTime``: refused beyond 9999-12-31, which no datetime (or database column) can hold."""


def _id(value: Id) -> str:
    return value if isinstance(value, str) else str(value)


class EventDecodeError(ValueError):
    """A decrypted push that is not a well-formed event envelope."""


# -- Channels store (JSON) ------------------------------------------------------------------


class Envelope(msgspec.Struct, frozen=True):
    """The fields every Channels push carries."""

    ToUserName: str = ""
    FromUserName: str = ""
    CreateTime: EpochSeconds = 0
    MsgType: str = "event"
    Event: str = ""


class OrderInfo(msgspec.Struct, frozen=True):
    order_id: Id
    pay_time: int | None = None
    cancel_type: int | None = None
    """1 buyer, 2 timeout, 3 all refunded, 4 oversold."""
    finish_delivery: int | None = None
    confirm_type: int | None = None
    settle_time: int | None = None
    type: int | None = None

    @property
    def id(self) -> str:
        return _id(self.order_id)


class OrderEvent(Envelope, frozen=True):
    """``channels_ec_order_*``: something happened to an order; re-read it with ``order/get``."""

    kind: ClassVar[str] = "order"
    order_info: OrderInfo = msgspec.field(default_factory=lambda: OrderInfo(order_id=""))

    @property
    def order_id(self) -> str:
        return self.order_info.id

    def dedup_key(self) -> str:
        return f"{self.Event}:{self.order_id}:{self.CreateTime}"


class ProductOrderStatus(msgspec.Struct, frozen=True):
    order_id: Id
    status: int | str | None = None


class ProductOrderStatusEvent(Envelope, frozen=True):
    """``product_order_status_update``: a second stream of order status changes."""

    kind: ClassVar[str] = "order"
    ProductOrderStatusUpdate: ProductOrderStatus = msgspec.field(
        default_factory=lambda: ProductOrderStatus(order_id="")
    )

    @property
    def order_id(self) -> str:
        return _id(self.ProductOrderStatusUpdate.order_id)

    def dedup_key(self) -> str:
        return f"{self.Event}:{self.order_id}:{self.ProductOrderStatusUpdate.status}:{self.CreateTime}"


class AfterSaleUpdate(msgspec.Struct, frozen=True):
    after_sale_order_id: Id
    order_id: Id = ""
    status: str = ""


class AfterSaleUpdateEvent(Envelope, frozen=True):
    """``channels_ec_aftersale_update``: re-read the after-sale with ``getaftersaleorder``."""

    kind: ClassVar[str] = "aftersale"
    finder_shop_aftersale_status_update: AfterSaleUpdate = msgspec.field(
        default_factory=lambda: AfterSaleUpdate(after_sale_order_id="")
    )

    @property
    def after_sale_order_id(self) -> str:
        return _id(self.finder_shop_aftersale_status_update.after_sale_order_id)

    @property
    def order_id(self) -> str:
        return _id(self.finder_shop_aftersale_status_update.order_id)

    def dedup_key(self) -> str:
        status = self.finder_shop_aftersale_status_update.status
        return f"{self.Event}:{self.after_sale_order_id}:{status}:{self.CreateTime}"


class ComplaintUpdate(msgspec.Struct, frozen=True):
    complaint_id: Id
    after_sale_order_id: Id = ""
    order_id: Id = ""
    complaint_status: int = 0


class ComplaintUpdateEvent(Envelope, frozen=True):
    """``channels_ec_complaint_update``: a dispute (纠纷) on an after-sale changed."""

    kind: ClassVar[str] = "aftersale"
    finder_shop_complaint: ComplaintUpdate = msgspec.field(
        default_factory=lambda: ComplaintUpdate(complaint_id="")
    )

    @property
    def after_sale_order_id(self) -> str:
        return _id(self.finder_shop_complaint.after_sale_order_id)

    def dedup_key(self) -> str:
        c = self.finder_shop_complaint
        return f"{self.Event}:{_id(c.complaint_id)}:{c.complaint_status}:{self.CreateTime}"


class CommkfText(msgspec.Struct, frozen=True):
    content: str = ""


class CommkfOrderShare(msgspec.Struct, frozen=True):
    order_id: Id = ""


class CommkfProductShare(msgspec.Struct, frozen=True):
    product_id: Id = ""


class CommkfMedia(msgspec.Struct, frozen=True):
    cos_url: str = ""
    media_id: str = ""


class CommkfMessageEvent(Envelope, frozen=True):
    """``commkf_send_msg_to_kf``: a buyer wrote to the store's own customer service (§6A).

    ``msg_id`` is monotonic per store, which makes it the de-duplication key. The typed objects
    beside ``msg_type`` are unverified [U]; the raw payload is stored, so nothing is lost.
    """

    kind: ClassVar[str] = "message"
    msg_id: Id = ""
    msg_type: str = "text"
    msg_event: str = ""
    text: CommkfText | None = None
    image: CommkfMedia | None = None
    video: CommkfMedia | None = None
    file: CommkfMedia | None = None
    voice: CommkfMedia | None = None
    order_share: CommkfOrderShare | None = None
    product_share: CommkfProductShare | None = None

    @property
    def message_id(self) -> str:
        return _id(self.msg_id)

    @property
    def openid(self) -> str:
        return self.FromUserName

    def summary(self) -> str:
        """The message as one line of text for lists and previews."""
        if self.text is not None:
            return self.text.content
        if self.order_share is not None:
            return f"[order {_id(self.order_share.order_id)}]"
        if self.product_share is not None:
            return f"[product {_id(self.product_share.product_id)}]"
        return f"[{self.msg_type}]"

    def dedup_key(self) -> str:
        return f"{self.Event}:{self.message_id}"


class UnknownEvent(Envelope, frozen=True):
    """An ``Event`` desk has no handler for; kept so nothing the platform sent is lost."""

    kind: ClassVar[str] = "unknown"
    digest: str = ""

    def dedup_key(self) -> str:
        return f"{self.Event or '?'}:{self.CreateTime}:{self.digest}"


ChannelsEvent = (
    OrderEvent
    | ProductOrderStatusEvent
    | AfterSaleUpdateEvent
    | ComplaintUpdateEvent
    | CommkfMessageEvent
    | UnknownEvent
)

ORDER_EVENT_NAMES = (
    "channels_ec_order_new",
    "channels_ec_order_pay",
    "channels_ec_order_wait_shipping",
    "channels_ec_order_cancel",
    "channels_ec_order_deliver",
    "channels_ec_order_confirm",
    "channels_ec_order_settle",
    "channels_ec_order_ext_info_update",
)

CHANNELS_EVENTS: dict[str, type[Envelope]] = {
    **dict.fromkeys(ORDER_EVENT_NAMES, OrderEvent),
    "product_order_status_update": ProductOrderStatusEvent,
    "channels_ec_aftersale_update": AfterSaleUpdateEvent,
    "channels_ec_complaint_update": ComplaintUpdateEvent,
    "commkf_send_msg_to_kf": CommkfMessageEvent,
}

_envelope_decoder = msgspec.json.Decoder(Envelope)
_decoders: dict[type[Envelope], msgspec.json.Decoder[Any]] = {
    cls: msgspec.json.Decoder(cls) for cls in set(CHANNELS_EVENTS.values())
}


def decode_channels_event(payload: bytes) -> ChannelsEvent:
    """The typed event in a decrypted Channels push.

    Raises:
        EventDecodeError: when the payload is not a JSON object with the envelope's field types,
            or a known event lacks its object (e.g. an order event without ``order_info``).
    """
    try:
        envelope = _envelope_decoder.decode(payload)
    except msgspec.DecodeError as exc:
        raise EventDecodeError(f"not a push envelope: {exc}") from None
    cls = CHANNELS_EVENTS.get(envelope.Event)
    if cls is None:
        digest = hashlib.sha256(payload).hexdigest()[:32]
        return UnknownEvent(
            ToUserName=envelope.ToUserName,
            FromUserName=envelope.FromUserName,
            CreateTime=envelope.CreateTime,
            MsgType=envelope.MsgType,
            Event=envelope.Event,
            digest=digest,
        )
    try:
        event = _decoders[cls].decode(payload)
    except msgspec.DecodeError as exc:
        raise EventDecodeError(f"malformed {envelope.Event}: {exc}") from None
    _require_business_id(event)
    return cast("ChannelsEvent", event)


def _require_business_id(event: Envelope) -> None:
    # The default factories above let msgspec report a missing object as an empty id; an event
    # about nothing cannot be applied, so it is refused here with a message naming the field.
    if isinstance(event, OrderEvent | ProductOrderStatusEvent) and not event.order_id:
        raise EventDecodeError(f"{event.Event} without an order_id")
    if isinstance(event, AfterSaleUpdateEvent) and not event.after_sale_order_id:
        raise EventDecodeError(f"{event.Event} without an after_sale_order_id")
    if isinstance(event, ComplaintUpdateEvent) and not _id(event.finder_shop_complaint.complaint_id):
        raise EventDecodeError(f"{event.Event} without a complaint_id")
    if isinstance(event, CommkfMessageEvent) and not (event.message_id and event.FromUserName):
        raise EventDecodeError(f"{event.Event} without msg_id or FromUserName")


# -- WeCom (XML) ------------------------------------------------------------------------------


class WeComEnvelope(msgspec.Struct, frozen=True):
    """The outer, encrypted XML of a WeCom callback: ``<xml><ToUserName/><AgentID/><Encrypt/></xml>``."""

    ToUserName: str = ""
    AgentID: str = ""
    Encrypt: str = ""


class KfMsgOrEvent(msgspec.Struct, frozen=True):
    """``kf_msg_or_event``: new kf messages wait; read them with ``sync_msg`` and this ``Token``."""

    kind: ClassVar[str] = "kf"
    ToUserName: str = ""
    CreateTime: EpochSeconds = 0
    MsgType: str = "event"
    Event: str = "kf_msg_or_event"
    Token: str = ""
    OpenKfId: str = ""

    def dedup_key(self) -> str:
        return f"{self.Event}:{self.OpenKfId}:{self.Token or self.CreateTime}"


class ExternalContactEvent(msgspec.Struct, frozen=True):
    """``change_external_contact``: a buyer added (or left) a staff member's contacts (§7)."""

    kind: ClassVar[str] = "contact"
    ToUserName: str = ""
    FromUserName: str = ""
    CreateTime: EpochSeconds = 0
    MsgType: str = "event"
    Event: str = "change_external_contact"
    ChangeType: str = ""
    UserID: str = ""
    ExternalUserID: str = ""
    State: str = ""
    WelcomeCode: str = ""

    def dedup_key(self) -> str:
        return f"{self.Event}:{self.ChangeType}:{self.UserID}:{self.ExternalUserID}:{self.CreateTime}"


class UnknownWeComEvent(msgspec.Struct, frozen=True):
    kind: ClassVar[str] = "unknown"
    ToUserName: str = ""
    FromUserName: str = ""
    CreateTime: EpochSeconds = 0
    MsgType: str = ""
    Event: str = ""
    digest: str = ""

    def dedup_key(self) -> str:
        return f"{self.Event or self.MsgType or '?'}:{self.FromUserName}:{self.CreateTime}:{self.digest}"


WeComEvent = KfMsgOrEvent | ExternalContactEvent | UnknownWeComEvent

WECOM_EVENTS: dict[str, type[KfMsgOrEvent | ExternalContactEvent]] = {
    "kf_msg_or_event": KfMsgOrEvent,
    "change_external_contact": ExternalContactEvent,
}


def _parse_xml(data: bytes) -> dict[str, str]:
    """A flat ``<xml>`` document as a dict of its children's text.

    ElementTree does not resolve external entities, and the expat it uses (≥ 2.4.1) refuses
    entity-expansion bombs; bodies are capped at 1 MB before they get here.
    """
    try:
        root = ET.fromstring(data)  # noqa: S314 - see docstring
    except (ET.ParseError, LookupError, ValueError) as exc:  # LookupError: unknown declared encoding
        raise EventDecodeError(f"not XML: {exc}") from None
    return {child.tag: (child.text or "").strip() for child in root}


def parse_wecom_envelope(body: bytes) -> WeComEnvelope:
    """The outer XML of a WeCom POST callback."""
    fields = _parse_xml(body)
    if not fields.get("Encrypt"):
        raise EventDecodeError("WeCom callback without Encrypt")
    return msgspec.convert(fields, WeComEnvelope, strict=False)


def decode_wecom_event(payload: bytes) -> WeComEvent:
    """The typed event in a decrypted WeCom callback (XML)."""
    fields = _parse_xml(payload)
    cls = WECOM_EVENTS.get(fields.get("Event", ""))
    try:
        if cls is None:
            known = {k: v for k, v in fields.items() if k in UnknownWeComEvent.__struct_fields__}
            known["digest"] = hashlib.sha256(payload).hexdigest()[:32]
            return msgspec.convert(known, UnknownWeComEvent, strict=False)
        return msgspec.convert(fields, cls, strict=False)
    except msgspec.ValidationError as exc:
        raise EventDecodeError(f"malformed WeCom event: {exc}") from None
