"""What the simulated platform knows, in memory: stores, buyers, orders, after-sales, chats, kf.

Plain mutable records indexed by id, so every API call is a dictionary lookup. Wire shapes live
in :mod:`.channels_wire` and :mod:`.wecom_wire`; this module holds the truth they are built from.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from desk.simulator.config import SimCorp, SimStore

__all__ = [
    "AFTERSALE_OPEN_STATUSES",
    "AFTERSALE_TYPES",
    "Buyer",
    "BuyerMessage",
    "ContactWay",
    "CorpState",
    "Delivery",
    "ExternalContact",
    "FollowUser",
    "KfCustomer",
    "KfMessage",
    "KfSent",
    "KfSession",
    "MerchantAddress",
    "OrderLine",
    "OrderStatus",
    "Person",
    "PostalAddress",
    "Product",
    "SentMessage",
    "SimAfterSale",
    "SimOrder",
    "Sku",
    "StoreState",
]


class OrderStatus:
    """Order ``status`` values (spec §2) [V]."""

    UNPAID = 10
    TO_SHIP = 20
    PARTLY_SHIPPED = 21
    SHIPPED = 30
    COMPLETED = 100
    REFUNDED_CANCELLED = 200
    CANCELLED = 250


AFTERSALE_TYPES = ("REFUND", "RETURN", "EXCHANGE")
AFTERSALE_OPEN_STATUSES = frozenset(
    {"MERCHANT_PROCESSING", "USER_WAIT_RETURN", "MERCHANT_WAIT_RECEIPT", "USER_WAIT_CONFIRM_UPDATE"}
)


@dataclass(slots=True)
class Sku:
    sku_id: str
    attrs: str
    """``颜色:燕麦色;尺码:M``"""
    price: int
    sku_code: str


@dataclass(slots=True)
class Product:
    product_id: str
    title: str
    thumb_img: str
    skus: list[Sku]
    category: str


@dataclass(slots=True)
class PostalAddress:
    user_name: str
    tel_number: str
    province_name: str
    city_name: str
    county_name: str
    detail_info: str
    postal_code: str = ""
    house_number: str = ""

    def hash_code(self) -> str:
        """The platform's stable key for an address within a shop (32 hex characters)."""
        text = "|".join(
            (
                self.user_name,
                self.tel_number,
                self.province_name,
                self.city_name,
                self.county_name,
                self.detail_info,
            )
        )
        return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()

    def one_line(self) -> str:
        return f"{self.province_name}{self.city_name}{self.county_name}{self.detail_info}"


@dataclass(slots=True)
class Person:
    """A real person behind one or more buyer identities (one openid per store, one unionid)."""

    name: str
    phone: str
    address: PostalAddress
    unionid: str
    nickname: str
    gender: int
    """1 male, 2 female"""
    virtual_number: str | None = None
    """``13212345774-1234`` when the buyer hides their number behind a virtual one."""


@dataclass(slots=True)
class Buyer:
    """A person as one store sees them: an openid, plus the state of their chat with the store."""

    openid: str
    person: Person
    created_at: float
    order_ids: list[str] = field(default_factory=list)
    last_message_at: float | None = None
    replies_since_message: int = 0
    last_activity: float = 0.0


@dataclass(slots=True)
class OrderLine:
    product_id: str
    sku_id: str
    title: str
    thumb_img: str
    sku_attrs: str
    sku_code: str
    sku_cnt: int
    sale_price: int
    """Unit price in fen."""
    real_price: int
    """What the buyer paid for the line, after discounts, in fen."""
    on_aftersale_sku_cnt: int = 0
    finish_aftersale_sku_cnt: int = 0
    refunded_amount: int = 0


@dataclass(slots=True)
class Delivery:
    waybill_id: str
    delivery_id: str
    delivery_name: str
    products: list[tuple[str, str, int]]
    """(product_id, sku_id, count)"""
    ship_time: int


@dataclass(slots=True)
class SimOrder:
    order_id: str
    appid: str
    openid: str
    unionid: str
    status: int
    create_time: int
    update_time: int
    lines: list[OrderLine]
    address: PostalAddress
    virtual_number: str | None
    order_scene: int
    freight: int = 0
    discounted_price: int = 0
    pay_time: int = 0
    prepay_id: str = ""
    transaction_id: str = ""
    customer_notes: str = ""
    merchant_notes: str = ""
    deliveries: list[Delivery] = field(default_factory=list)
    address_under_review: PostalAddress | None = None
    aftersale_ids: list[str] = field(default_factory=list)
    cancel_type: int = 0
    confirm_receipt_time: int = 0
    settle_time: int = 0
    wire: bytes | None = None
    """The encoded ``order`` object, cached until the order changes."""

    @property
    def product_price(self) -> int:
        return sum(line.sale_price * line.sku_cnt for line in self.lines)

    @property
    def order_price(self) -> int:
        return sum(line.real_price for line in self.lines) + self.freight

    def line(self, sku_id: str) -> OrderLine | None:
        return next((line for line in self.lines if line.sku_id == sku_id), None)

    def touch(self, now: int) -> None:
        """Record a change: a new ``update_time`` and a stale wire cache."""
        self.update_time = max(now, self.update_time)
        self.wire = None


@dataclass(slots=True)
class SimAfterSale:
    after_sale_order_id: str
    order_id: str
    appid: str
    openid: str
    unionid: str
    type: str
    status: str
    reason: str
    reason_text: str
    create_time: int
    update_time: int
    product_id: str
    sku_id: str
    count: int
    amount: int
    desc: str
    receive_product: bool
    tel_number: str
    refund_reason: int = 0
    return_waybill: tuple[str, str, str] | None = None
    """(waybill_id, delivery_id, delivery_name) of the buyer's parcel back."""
    exchange_waybill: tuple[str, str, str] | None = None
    """The merchant's parcel with the replacement item (exchanges)."""
    return_address_id: str = ""
    reject_reason: str = ""
    reject_reason_type: int = 0
    negotiation: dict[str, Any] | None = None
    negotiate_before_reject: bool = False
    """The platform refuses a rejection (10021068) until the merchant has negotiated with the buyer."""
    refund_certificates: list[str] = field(default_factory=list)
    deadline_at: int = 0
    """When the merchant's time to review (or to confirm receipt) runs out."""
    complaint_id: str = ""
    """The buyer's dispute (纠纷) about this after-sale, once they raised one."""
    complaint_status: int = 0

    def touch(self, now: int) -> None:
        self.update_time = max(now, self.update_time)


@dataclass(slots=True)
class MerchantAddress:
    address_id: str
    name: str
    address_info: PostalAddress
    landline: str = ""
    remark: str = ""
    send_addr: bool = True
    recv_addr: bool = True
    default_send: bool = False
    default_recv: bool = False
    same_city: bool = False
    pickup: bool = False
    create_time: int = 0
    update_time: int = 0


@dataclass(slots=True, frozen=True)
class BuyerMessage:
    """A message a buyer sent to the store's customer service (``commkf_send_msg_to_kf``)."""

    msg_id: str
    openid: str
    msg_type: str
    content: str
    """The text, or a one-line description of a share or medium."""
    payload: dict[str, Any]
    """The typed object beside ``msg_type`` (``{"text": {"content": …}}``)."""
    create_time: int


@dataclass(slots=True, frozen=True)
class SentMessage:
    """A message the desk sent to a buyer with ``commkf/sendmsg``."""

    msg_id: str
    request_id: str
    open_id: str
    msg_type: str
    content: str
    payload: dict[str, Any]
    create_time: int


@dataclass(slots=True)
class StoreState:
    config: SimStore
    index: int
    catalog: list[Product]
    products: dict[str, Product] = field(default_factory=dict)
    skus: dict[str, tuple[Product, Sku]] = field(default_factory=dict)
    buyers: dict[str, Buyer] = field(default_factory=dict)
    orders: dict[str, SimOrder] = field(default_factory=dict)
    aftersales: dict[str, SimAfterSale] = field(default_factory=dict)
    addresses: dict[str, MerchantAddress] = field(default_factory=dict)
    buyer_messages: list[BuyerMessage] = field(default_factory=list)
    sent: list[SentMessage] = field(default_factory=list)
    sent_by_request: dict[str, SentMessage] = field(default_factory=dict)
    last_refund_at: dict[str, float] = field(default_factory=dict)
    """order_id → when a refund was last requested on it (one a minute, 10021059)."""
    uploads: dict[str, int] = field(default_factory=dict)
    """cos_url → size of a file uploaded with ``commkf/cosupload``."""

    def __post_init__(self) -> None:
        for product in self.catalog:
            self.products[product.product_id] = product
            for sku in product.skus:
                self.skus[sku.sku_id] = (product, sku)


# -- WeCom ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class KfCustomer:
    external_userid: str
    person: Person
    scene: int
    """``wechat_channels.scene`` of the first session: 4 store product page, 5 store order page."""
    scene_param: str = ""


@dataclass(slots=True)
class KfSession:
    """A customer's session with one kf account (spec §6B ``service_state``)."""

    open_kfid: str
    external_userid: str
    state: int = 0
    servicer_userid: str = ""
    last_customer_at: float = 0.0
    sent_since_customer: int = 0


@dataclass(slots=True, frozen=True)
class KfMessage:
    """One entry of ``sync_msg``'s ``msg_list``: a customer message (origin 3) or event (4)."""

    msgid: str
    open_kfid: str
    external_userid: str
    send_time: int
    origin: int
    msgtype: str
    body: dict[str, Any]
    """The typed object: ``{"text": {"content": …}}`` or ``{"event": {…}}``."""


@dataclass(slots=True, frozen=True)
class KfSent:
    """A message the desk sent with ``kf/send_msg`` or ``kf/send_msg_on_event``."""

    msgid: str
    open_kfid: str
    external_userid: str
    msgtype: str
    content: str
    send_time: int
    delivered: bool
    fail_type: int = 0


@dataclass(slots=True)
class ContactWay:
    config_id: str
    type: int
    scene: int
    state: str
    users: list[str]
    qr_code: str
    remark: str = ""
    skip_verify: bool = True
    create_time: int = 0


@dataclass(slots=True, frozen=True)
class FollowUser:
    userid: str
    remark: str
    createtime: int
    state: str
    add_way: int


@dataclass(slots=True)
class ExternalContact:
    external_userid: str
    person: Person
    follow_users: list[FollowUser] = field(default_factory=list)


@dataclass(slots=True)
class CorpState:
    config: SimCorp
    kf_messages: list[KfMessage] = field(default_factory=list)
    customers: dict[str, KfCustomer] = field(default_factory=dict)
    sessions: dict[tuple[str, str], KfSession] = field(default_factory=dict)
    sent: list[KfSent] = field(default_factory=list)
    msg_tokens: dict[str, float] = field(default_factory=dict)
    """sync_msg token → when it stops being valid (10 minutes after the callback)."""
    event_codes: dict[str, tuple[str, str, float]] = field(default_factory=dict)
    """welcome/event code → (open_kfid, external_userid, valid until); one message per code."""
    contact_ways: dict[str, ContactWay] = field(default_factory=dict)
    contacts: dict[str, ExternalContact] = field(default_factory=dict)
