"""The Channels store API on the wire (spec §1–§4, §6A): request and reply Structs, and the
conversion of the simulator's records into the platform's JSON.

Requests accept ids as JSON strings or numbers (platform examples use both); replies always send
ids as strings. Buyer names, phones and street addresses are masked in ``order/get``, as on the
real platform; ``order/sensitiveinfo/decode`` gives them in full.
"""

from __future__ import annotations

import msgspec

from desk.simulator.state import (
    AFTERSALE_OPEN_STATUSES,
    MerchantAddress,
    PostalAddress,
    SimAfterSale,
    SimOrder,
)

__all__ = [
    "AcceptRequest",
    "AddressAddRequest",
    "AddressDetail",
    "AddressIdRequest",
    "AddressInfo",
    "AddressListRequest",
    "AddressUpdateRequest",
    "AfterSaleIdRequest",
    "AfterSaleListRequest",
    "DeliverySendRequest",
    "Id",
    "MerchantNotesRequest",
    "NegotiateRequest",
    "OrderAddressUpdateRequest",
    "OrderGetRequest",
    "OrderIdRequest",
    "OrderListRequest",
    "OrderSearchRequest",
    "RejectRequest",
    "ReshipRequest",
    "SendMsgRequest",
    "StableTokenRequest",
    "address_detail",
    "aftersale_wire",
    "encode_order",
    "full_address",
    "mask_name",
    "mask_phone",
    "postal_address",
]

Id = str | int


def mask_name(name: str) -> str:
    """``林晓梅`` → ``林**`` (the platform keeps the surname)."""
    return name[:1] + "**" if name else ""


def mask_phone(phone: str) -> str:
    """``18312342807`` → ``183****2807``."""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"


# -- shared shapes -------------------------------------------------------------------------------


class TelNumberExtInfo(msgspec.Struct, kw_only=True):
    real_tel_number: str
    virtual_tel_number: str
    virtual_tel_expire_time: int


class AddressInfo(msgspec.Struct, kw_only=True, omit_defaults=True):
    user_name: str = ""
    postal_code: str = ""
    province_name: str = ""
    city_name: str = ""
    county_name: str = ""
    detail_info: str = ""
    national_code: str = ""
    tel_number: str = ""
    house_number: str = ""
    use_tel_number: int | None = None
    hash_code: str | None = None
    tel_number_ext_info: TelNumberExtInfo | None = None


def _masked_address(address: PostalAddress, virtual_number: str | None, now: int) -> AddressInfo:
    ext = None
    if virtual_number:
        ext = TelNumberExtInfo(
            real_tel_number=mask_phone(address.tel_number),
            virtual_tel_number=virtual_number,
            virtual_tel_expire_time=now + 15 * 86400,
        )
    return AddressInfo(
        user_name=mask_name(address.user_name),
        postal_code=address.postal_code,
        province_name=address.province_name,
        city_name=address.city_name,
        county_name=address.county_name,
        detail_info="****",
        tel_number=mask_phone(address.tel_number),
        use_tel_number=1 if virtual_number else 0,
        hash_code=address.hash_code(),
        tel_number_ext_info=ext,
    )


def full_address(address: PostalAddress) -> AddressInfo:
    """An address in clear (``sensitiveinfo/decode``, merchant addresses)."""
    return AddressInfo(
        user_name=address.user_name,
        postal_code=address.postal_code,
        province_name=address.province_name,
        city_name=address.city_name,
        county_name=address.county_name,
        detail_info=address.detail_info,
        tel_number=address.tel_number,
        house_number=address.house_number,
    )


def postal_address(info: AddressInfo) -> PostalAddress:
    return PostalAddress(
        user_name=info.user_name,
        tel_number=info.tel_number,
        province_name=info.province_name,
        city_name=info.city_name,
        county_name=info.county_name,
        detail_info=info.detail_info,
        postal_code=info.postal_code,
        house_number=info.house_number,
    )


# -- orders --------------------------------------------------------------------------------------


class SkuAttr(msgspec.Struct):
    attr_key: str
    attr_value: str


class ProductInfo(msgspec.Struct, kw_only=True):
    product_id: str
    sku_id: str
    thumb_img: str
    sku_cnt: int
    sale_price: int
    title: str
    on_aftersale_sku_cnt: int
    finish_aftersale_sku_cnt: int
    sku_code: str
    market_price: int
    sku_attrs: list[SkuAttr]
    real_price: int


class PayInfo(msgspec.Struct, kw_only=True, omit_defaults=True):
    prepay_id: str
    prepay_time: int
    pay_time: int = 0
    transaction_id: str = ""
    payment_method: int = 1


class PriceInfo(msgspec.Struct, kw_only=True):
    product_price: int
    order_price: int
    freight: int
    discounted_price: int
    is_discounted: bool


class DeliveredProduct(msgspec.Struct, kw_only=True):
    product_id: str
    sku_id: str
    product_cnt: int


class DeliveryProductInfo(msgspec.Struct, kw_only=True):
    waybill_id: str
    delivery_id: str
    delivery_name: str
    delivery_time: int
    deliver_type: int
    product_infos: list[DeliveredProduct]


class DeliveryInfo(msgspec.Struct, kw_only=True):
    address_info: AddressInfo
    delivery_product_info: list[DeliveryProductInfo]
    ship_done_time: int
    deliver_method: int
    address_under_review: AddressInfo | None


class ExtInfo(msgspec.Struct, kw_only=True):
    customer_notes: str
    merchant_notes: str
    confirm_receipt_time: int
    order_scene: int


class OrderDetail(msgspec.Struct, kw_only=True):
    product_infos: list[ProductInfo]
    pay_info: PayInfo
    price_info: PriceInfo
    delivery_info: DeliveryInfo
    ext_info: ExtInfo


class AftersaleRef(msgspec.Struct):
    aftersale_order_id: str
    status: str


class AftersaleDetail(msgspec.Struct, kw_only=True):
    aftersale_order_list: list[AftersaleRef]
    on_aftersale_order_cnt: int


class Order(msgspec.Struct, kw_only=True):
    order_id: str
    status: int
    create_time: int
    update_time: int
    openid: str
    unionid: str
    order_detail: OrderDetail
    aftersale_detail: AftersaleDetail


def _sku_attrs(attrs: str) -> list[SkuAttr]:
    pairs = (part.partition(":") for part in attrs.split(";") if part)
    return [SkuAttr(attr_key=key, attr_value=value) for key, _, value in pairs]


def order_wire(order: SimOrder, aftersale_statuses: dict[str, str]) -> Order:
    """``order`` as ``order/get`` shows it (masked address)."""
    deliveries = [
        DeliveryProductInfo(
            waybill_id=d.waybill_id,
            delivery_id=d.delivery_id,
            delivery_name=d.delivery_name,
            delivery_time=d.ship_time,
            deliver_type=1,
            product_infos=[DeliveredProduct(product_id=p, sku_id=s, product_cnt=c) for p, s, c in d.products],
        )
        for d in order.deliveries
    ]
    review = order.address_under_review
    aftersales = [
        AftersaleRef(aftersale_order_id=a, status=aftersale_statuses.get(a, "")) for a in order.aftersale_ids
    ]
    return Order(
        order_id=order.order_id,
        status=order.status,
        create_time=order.create_time,
        update_time=order.update_time,
        openid=order.openid,
        unionid=order.unionid,
        order_detail=OrderDetail(
            product_infos=[
                ProductInfo(
                    product_id=line.product_id,
                    sku_id=line.sku_id,
                    thumb_img=line.thumb_img,
                    sku_cnt=line.sku_cnt,
                    sale_price=line.sale_price,
                    title=line.title,
                    on_aftersale_sku_cnt=line.on_aftersale_sku_cnt,
                    finish_aftersale_sku_cnt=line.finish_aftersale_sku_cnt,
                    sku_code=line.sku_code,
                    market_price=line.sale_price * 13 // 10 // 100 * 100,
                    sku_attrs=_sku_attrs(line.sku_attrs),
                    real_price=line.real_price,
                )
                for line in order.lines
            ],
            pay_info=PayInfo(
                prepay_id=order.prepay_id,
                prepay_time=order.create_time,
                pay_time=order.pay_time,
                transaction_id=order.transaction_id,
            ),
            price_info=PriceInfo(
                product_price=order.product_price,
                order_price=order.order_price,
                freight=order.freight,
                discounted_price=order.discounted_price,
                is_discounted=order.discounted_price > 0,
            ),
            delivery_info=DeliveryInfo(
                address_info=_masked_address(order.address, order.virtual_number, order.create_time),
                delivery_product_info=deliveries,
                ship_done_time=order.deliveries[-1].ship_time if order.deliveries else 0,
                deliver_method=0,
                address_under_review=_masked_address(review, None, order.create_time) if review else None,
            ),
            ext_info=ExtInfo(
                customer_notes=order.customer_notes,
                merchant_notes=order.merchant_notes,
                confirm_receipt_time=order.confirm_receipt_time,
                order_scene=order.order_scene,
            ),
        ),
        aftersale_detail=AftersaleDetail(
            aftersale_order_list=aftersales,
            on_aftersale_order_cnt=sum(1 for a in aftersales if a.status in AFTERSALE_OPEN_STATUSES),
        ),
    )


_encoder = msgspec.json.Encoder()


def encode_order(order: SimOrder, aftersale_statuses: dict[str, str]) -> bytes:
    """The order's JSON, cached on the order until it next changes (``order/get`` is the hot path)."""
    if order.wire is None:
        order.wire = _encoder.encode(order_wire(order, aftersale_statuses))
    return order.wire


class OrderGetRequest(msgspec.Struct, kw_only=True):
    order_id: Id
    encode_sensitive_info: bool = False


class OrderIdRequest(msgspec.Struct, kw_only=True):
    order_id: Id


class TimeRange(msgspec.Struct, kw_only=True):
    start_time: int
    end_time: int


class OrderListRequest(msgspec.Struct, kw_only=True):
    create_time_range: TimeRange | None = None
    update_time_range: TimeRange | None = None
    status: int | None = None
    openid: str | None = None
    page_size: int = 10
    next_key: str = ""


class SearchCondition(msgspec.Struct, kw_only=True):
    title: str = ""
    sku_code: str = ""
    user_name: str = ""
    tel_number: str = ""
    tel_number_last4: str = ""
    order_id: Id = ""
    merchant_notes: str = ""
    customer_notes: str = ""


class OrderSearchRequest(msgspec.Struct, kw_only=True):
    search_condition: SearchCondition = msgspec.field(default_factory=SearchCondition)
    on_aftersale_order_exist: int | None = None
    status: int | None = None
    page_size: int = 10
    next_key: str = ""


class MerchantNotesRequest(msgspec.Struct, kw_only=True):
    order_id: Id
    merchant_notes: str


class OrderAddressUpdateRequest(msgspec.Struct, kw_only=True):
    order_id: Id
    user_address: AddressInfo


class DeliveryItem(msgspec.Struct, kw_only=True):
    delivery_id: str
    waybill_id: str
    deliver_type: int = 1
    product_infos: list[DeliveredProduct] = msgspec.field(default_factory=list)


class DeliverySendRequest(msgspec.Struct, kw_only=True):
    order_id: Id
    delivery_list: list[DeliveryItem]


# -- after-sales -----------------------------------------------------------------------------------


class AfterSaleIdRequest(msgspec.Struct, kw_only=True):
    after_sale_order_id: Id


class AfterSaleListRequest(msgspec.Struct, kw_only=True):
    begin_create_time: int | None = None
    end_create_time: int | None = None
    begin_update_time: int | None = None
    end_update_time: int | None = None
    next_key: str = ""


class AcceptRequest(msgspec.Struct, kw_only=True):
    after_sale_order_id: Id
    address_id: Id | None = None
    accept_type: int | None = None


class RejectRequest(msgspec.Struct, kw_only=True):
    after_sale_order_id: Id
    reject_reason_type: int
    reject_reason: str | None = None


class NegotiateRequest(msgspec.Struct, kw_only=True):
    after_sale_order_id: Id
    merchant_update_type: int
    type: int = 1
    amount: int | None = None
    merchant_update_desc: str = ""
    update_reason_type: int = 0
    media_ids: list[str] = msgspec.field(default_factory=list)


class ReshipRequest(msgspec.Struct, kw_only=True):
    after_sale_order_id: Id
    waybill_id: str
    delivery_id: str


class AfterSaleProduct(msgspec.Struct, kw_only=True):
    product_id: str
    sku_id: str
    count: int


class AfterSaleDetails(msgspec.Struct, kw_only=True):
    desc: str
    receive_product: bool
    cancel_time: int
    media_id_list: list[str]
    tel_number: str


class RefundInfo(msgspec.Struct, kw_only=True):
    amount: int
    refund_reason: int


class ReturnInfo(msgspec.Struct, kw_only=True):
    waybill_id: str
    delivery_id: str
    delivery_name: str


class MerchantUploadInfo(msgspec.Struct, kw_only=True):
    reject_reason: str
    refund_certificates: list[str]


class AfterSaleOrder(msgspec.Struct, kw_only=True, omit_defaults=True):
    after_sale_order_id: str
    status: str
    openid: str
    unionid: str
    order_id: str
    product_info: AfterSaleProduct
    details: AfterSaleDetails
    refund_info: RefundInfo
    merchant_upload_info: MerchantUploadInfo
    create_time: int
    update_time: int
    reason: str
    reason_text: str
    type: str
    deadline: int
    complaint_id: str = ""
    return_info: ReturnInfo | None = None
    exchange_delivery_info: ReturnInfo | None = None


def _parcel(waybill: tuple[str, str, str] | None) -> ReturnInfo | None:
    if waybill is None:
        return None
    return ReturnInfo(waybill_id=waybill[0], delivery_id=waybill[1], delivery_name=waybill[2])


def aftersale_wire(aftersale: SimAfterSale, now: int) -> AfterSaleOrder:
    """``aftersale`` as ``getaftersaleorder`` shows it; ``deadline`` counts down from ``now``."""
    return AfterSaleOrder(
        after_sale_order_id=aftersale.after_sale_order_id,
        status=aftersale.status,
        openid=aftersale.openid,
        unionid=aftersale.unionid,
        order_id=aftersale.order_id,
        product_info=AfterSaleProduct(
            product_id=aftersale.product_id, sku_id=aftersale.sku_id, count=aftersale.count
        ),
        details=AfterSaleDetails(
            desc=aftersale.desc,
            receive_product=aftersale.receive_product,
            cancel_time=aftersale.update_time if aftersale.status == "USER_CANCELD" else 0,
            media_id_list=[],
            tel_number=aftersale.tel_number,
        ),
        refund_info=RefundInfo(amount=aftersale.amount, refund_reason=aftersale.refund_reason),
        merchant_upload_info=MerchantUploadInfo(
            reject_reason=aftersale.reject_reason, refund_certificates=aftersale.refund_certificates
        ),
        create_time=aftersale.create_time,
        update_time=aftersale.update_time,
        reason=aftersale.reason,
        reason_text=aftersale.reason_text,
        type=aftersale.type,
        deadline=max(0, aftersale.deadline_at - now) if aftersale.deadline_at else 0,
        complaint_id=aftersale.complaint_id,
        return_info=_parcel(aftersale.return_waybill),
        exchange_delivery_info=_parcel(aftersale.exchange_waybill),
    )


# -- merchant addresses ----------------------------------------------------------------------------


class AddressType(msgspec.Struct, kw_only=True):
    same_city: int = 0
    pickup: int = 0


class AddressDetail(msgspec.Struct, kw_only=True, omit_defaults=True):
    address_id: Id | None = None
    name: str = ""
    address_info: AddressInfo = msgspec.field(default_factory=AddressInfo)
    landline: str = ""
    remark: str = ""
    send_addr: bool = False
    recv_addr: bool = False
    default_send: bool = False
    default_recv: bool = False
    address_type: AddressType = msgspec.field(default_factory=AddressType)
    create_time: int | None = None
    update_time: int | None = None


def address_detail(address: MerchantAddress) -> AddressDetail:
    return AddressDetail(
        address_id=address.address_id,
        name=address.name,
        address_info=full_address(address.address_info),
        landline=address.landline,
        remark=address.remark,
        send_addr=address.send_addr,
        recv_addr=address.recv_addr,
        default_send=address.default_send,
        default_recv=address.default_recv,
        address_type=AddressType(same_city=int(address.same_city), pickup=int(address.pickup)),
        create_time=address.create_time,
        update_time=address.update_time,
    )


class AddressAddRequest(msgspec.Struct, kw_only=True):
    address_detail: AddressDetail


class AddressUpdateRequest(msgspec.Struct, kw_only=True):
    address_detail: AddressDetail


class AddressListRequest(msgspec.Struct, kw_only=True):
    offset: int = 0
    limit: int = 100


class AddressIdRequest(msgspec.Struct, kw_only=True):
    address_id: Id


# -- customer service and tokens -------------------------------------------------------------------


class SendMsgRequest(msgspec.Struct, kw_only=True, omit_defaults=True):
    request_id: str
    open_id: str
    msg_type: str
    text: dict[str, object] | None = None
    image: dict[str, object] | None = None
    video: dict[str, object] | None = None
    file: dict[str, object] | None = None
    product_share: dict[str, object] | None = None
    order_share: dict[str, object] | None = None


class StableTokenRequest(msgspec.Struct, kw_only=True):
    grant_type: str
    appid: str
    secret: str
    force_refresh: bool = False
