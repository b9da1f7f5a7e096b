"""Structs mirroring the WeChat Store (``channels/ec``) wire JSON: orders, after-sales, addresses.

Field names are the platform's (spec §2–§4). Every field has a default because the platform
omits fields freely (and sends ``null`` for absent objects; see :mod:`desk.platform.wire`). Ids
are strings even where the platform sends JSON numbers; money is integer fen; times are epoch
seconds as ints. Encoding omits fields left at their default, so the same Structs build request
bodies (an address to add) without sending empty values.
"""

from __future__ import annotations

from enum import IntEnum

import msgspec

__all__ = [
    "AcceptType",
    "AddressDetail",
    "AddressInfo",
    "AddressType",
    "AfterSaleDetails",
    "AfterSaleIdPage",
    "AfterSaleProduct",
    "AfterSaleReason",
    "AftersaleDetail",
    "AftersaleRef",
    "ChannelsAfterSale",
    "ChannelsOrder",
    "DeliveredProduct",
    "DeliveryInfo",
    "DeliveryProductInfo",
    "MerchantUploadInfo",
    "OrderDetail",
    "OrderExtInfo",
    "OrderIdPage",
    "OrderProduct",
    "OrderSearchCondition",
    "PayInfo",
    "PriceInfo",
    "RefundInfo",
    "RefundResp",
    "RejectReason",
    "ReturnInfo",
    "SensitiveInfo",
    "TelNumberExtInfo",
    "VirtualNumberInfo",
]


class _Wire(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True):
    """Base of the wire Structs: keyword-only, immutable, defaults left out when encoding."""


# -- orders (§2) -----------------------------------------------------------------------------


class OrderProduct(_Wire, frozen=True):
    """One SKU line of an order. Prices in fen."""

    product_id: str = ""
    sku_id: str = ""
    title: str = ""
    thumb_img: str = ""
    sku_cnt: int = 0
    sale_price: int = 0
    """Unit list price."""
    real_price: int = 0
    """What the buyer paid for the line after discounts."""
    market_price: int = 0
    on_aftersale_sku_cnt: int = 0
    finish_aftersale_sku_cnt: int = 0
    sku_code: str = ""


class PayInfo(_Wire, frozen=True):
    payment_method: int = 0
    """1 WeChat Pay, 2 pay later, 3 lottery, 4 points."""
    prepay_id: str = ""
    prepay_time: int = 0
    pay_time: int = 0
    transaction_id: str = ""


class PriceInfo(_Wire, frozen=True):
    """Order amounts in fen."""

    product_price: int = 0
    order_price: int = 0
    freight: int = 0
    discounted_price: int = 0
    is_discounted: bool = False
    original_order_price: int = 0
    change_down_price: int = 0
    change_freight: int = 0


class TelNumberExtInfo(_Wire, frozen=True):
    real_tel_number: str = ""
    virtual_tel_number: str = ""
    """``number-extension`` to call when the buyer uses a virtual number."""
    virtual_tel_expire_time: int = 0


class AddressInfo(_Wire, frozen=True):
    """A postal address. In orders the name, phone and ``detail_info`` arrive masked; the full
    values come from :meth:`~desk.platform.channels.ChannelsClient.decode_sensitive_info`."""

    user_name: str = ""
    postal_code: str = ""
    province_name: str = ""
    city_name: str = ""
    county_name: str = ""
    detail_info: str = ""
    national_code: str = ""
    tel_number: str = ""
    house_number: str = ""
    virtual_order_tel_number: str = ""
    tel_number_ext_info: TelNumberExtInfo | None = None
    use_tel_number: int = 0
    """1 when the buyer uses a virtual number (call ``tel_number_ext_info.virtual_tel_number``)."""
    hash_code: str = ""
    """Stable key of this address within the shop."""


class DeliveredProduct(_Wire, frozen=True):
    product_id: str = ""
    sku_id: str = ""
    product_cnt: int = 0


class DeliveryProductInfo(_Wire, frozen=True):
    """One parcel."""

    waybill_id: str = ""
    delivery_id: str = ""
    """Courier code, e.g. ``SF``."""
    delivery_name: str = ""
    deliver_type: int = 0
    delivery_time: int = 0
    product_infos: list[DeliveredProduct] = []


class DeliveryInfo(_Wire, frozen=True):
    address_info: AddressInfo = msgspec.field(default_factory=AddressInfo)
    delivery_product_info: list[DeliveryProductInfo] = []
    ship_done_time: int = 0
    deliver_method: int = 0
    """0 logistics, 1 virtual goods."""
    address_under_review: AddressInfo | None = None
    """The new address a buyer asked for, while the merchant has not answered."""
    address_apply_time: int = 0


class OrderExtInfo(_Wire, frozen=True):
    customer_notes: str = ""
    merchant_notes: str = ""
    confirm_receipt_time: int = 0
    finder_id: str = ""
    live_id: str = ""
    order_scene: int = 0
    """1 other, 2 live, 3 short video, 4 share, 5 showcase, 6 official-account article."""


class OrderDetail(_Wire, frozen=True):
    product_infos: list[OrderProduct] = []
    pay_info: PayInfo = msgspec.field(default_factory=PayInfo)
    price_info: PriceInfo = msgspec.field(default_factory=PriceInfo)
    delivery_info: DeliveryInfo = msgspec.field(default_factory=DeliveryInfo)
    ext_info: OrderExtInfo = msgspec.field(default_factory=OrderExtInfo)


class AftersaleRef(_Wire, frozen=True):
    aftersale_order_id: str = ""


class AftersaleDetail(_Wire, frozen=True):
    on_aftersale_order_cnt: int = 0
    aftersale_order_list: list[AftersaleRef] = []


class ChannelsOrder(_Wire, frozen=True):
    """An order as ``order/get`` returns it.

    ``status``: 10 unpaid, 12 gift pending, 13 group-buy pending, 20 to ship, 21 partly shipped,
    30 shipped, 100 completed, 190 oversell cancel, 200 cancelled after full refund, 250 cancelled.
    """

    order_id: str = ""
    status: int = 0
    create_time: int = 0
    update_time: int = 0
    openid: str = ""
    unionid: str = ""
    """Only when the store is bound to an Open Platform account."""
    order_detail: OrderDetail = msgspec.field(default_factory=OrderDetail)
    aftersale_detail: AftersaleDetail | None = None


class OrderIdPage(_Wire, frozen=True):
    """One page of ``order/list/get`` or ``order/search``."""

    order_id_list: list[str] = []
    next_key: str = ""
    has_more: bool = False


class OrderSearchCondition(_Wire, frozen=True):
    """``order/search`` criteria; fields left empty are not sent."""

    title: str = ""
    sku_code: str = ""
    user_name: str = ""
    tel_number_last4: str = ""
    order_id: str = ""
    merchant_notes: str = ""
    customer_notes: str = ""
    address_under_review: bool = False


class VirtualNumberInfo(_Wire, frozen=True):
    virtual_number: str = ""
    extension: str = ""
    expiration: int = 0


class SensitiveInfo(_Wire, frozen=True):
    """``order/sensitiveinfo/decode``: the unmasked address, and a virtual number if one applies."""

    address_info: AddressInfo = msgspec.field(default_factory=AddressInfo)
    virtual_number_info: VirtualNumberInfo | None = None


# -- after-sales (§3) ------------------------------------------------------------------------


class AcceptType(IntEnum):
    """``acceptapply``'s ``accept_type``: which step to take (omitted: chosen from the status)."""

    AGREE_RETURN = 1
    """Agree to a return (or exchange): the buyer ships the goods back to ``address_id``."""
    REFUND = 2
    """Refund: a refund-only request, or the returned goods have arrived."""


class AfterSaleProduct(_Wire, frozen=True):
    product_id: str = ""
    sku_id: str = ""
    count: int = 0


class AfterSaleDetails(_Wire, frozen=True):
    desc: str = ""
    receive_product: bool = False
    """Whether the buyer says the goods were received."""
    cancel_time: int = 0
    media_id_list: list[str] = []
    tel_number: str = ""


class RefundInfo(_Wire, frozen=True):
    amount: int = 0
    """Fen."""
    refund_reason: int = 0
    """How the refund came about: 1 backend, 3 API, 9 merchant review timeout, 11 receipt timeout…"""


class ReturnInfo(_Wire, frozen=True):
    waybill_id: str = ""
    delivery_id: str = ""
    delivery_name: str = ""


class MerchantUploadInfo(_Wire, frozen=True):
    reject_reason: str = ""
    refund_certificates: list[str] = []


class RefundResp(_Wire, frozen=True):
    code: str = ""
    ret: int = 0
    message: str = ""


class ChannelsAfterSale(_Wire, frozen=True):
    """An after-sale as ``aftersale/getaftersaleorder`` returns it.

    ``type``: ``REFUND`` (refund only), ``RETURN`` (return and refund), ``EXCHANGE``.
    ``status``: e.g. ``MERCHANT_PROCESSING`` (awaiting the merchant), ``USER_WAIT_RETURN``,
    ``MERCHANT_WAIT_RECEIPT``, ``MERCHANT_REFUND_SUCCESS``, ``USER_CANCELD`` (sic); see spec §3.
    """

    after_sale_order_id: str = ""
    order_id: str = ""
    status: str = ""
    type: str = ""
    openid: str = ""
    unionid: str = ""
    create_time: int = 0
    update_time: int = 0
    deadline: int = 0
    """Seconds left for the merchant to act (only while awaiting review or receipt)."""
    product_info: AfterSaleProduct = msgspec.field(default_factory=AfterSaleProduct)
    details: AfterSaleDetails = msgspec.field(default_factory=AfterSaleDetails)
    refund_info: RefundInfo = msgspec.field(default_factory=RefundInfo)
    return_info: ReturnInfo = msgspec.field(default_factory=ReturnInfo)
    merchant_upload_info: MerchantUploadInfo = msgspec.field(default_factory=MerchantUploadInfo)
    refund_resp: RefundResp = msgspec.field(default_factory=RefundResp)
    reason: str = ""
    """Legacy reason code (``QUALITY_ISSUE``…); newer reasons are opaque — show ``reason_text``."""
    reason_text: str = ""
    complaint_id: str = ""


class AfterSaleIdPage(_Wire, frozen=True):
    """One page of ``aftersale/getaftersalelist``."""

    after_sale_order_id_list: list[str] = []
    next_key: str = ""
    has_more: bool = False


class RejectReason(_Wire, frozen=True):
    """A reason a merchant may give to reject (``aftersale/rejectreason/get``)."""

    reject_reason_type: int = 0
    reject_reason_type_text: str = ""
    reject_reason: str = ""
    reject_scene: int = 0
    """1 refund only, 4 return and refund, 5 exchange, 6 exchange reship."""


class AfterSaleReason(_Wire, frozen=True):
    """A reason a buyer may give (``aftersale/reason/get``)."""

    reason: int = 0
    reason_text: str = ""


# -- merchant addresses (§4) -----------------------------------------------------------------


class AddressType(_Wire, frozen=True):
    same_city: int = 0
    pickup: int = 0


class AddressDetail(_Wire, frozen=True):
    """A merchant address; ``recv_addr`` marks a return address."""

    address_id: str = ""
    name: str = ""
    address_info: AddressInfo = msgspec.field(default_factory=AddressInfo)
    landline: str = ""
    remark: str = ""
    send_addr: bool = False
    recv_addr: bool = False
    default_send: bool = False
    default_recv: bool = False
    address_type: AddressType | None = None
    create_time: int = 0
    update_time: int = 0
