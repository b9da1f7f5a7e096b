"""The Channels store API (``/channels/ec/…``) and its token endpoints (``/cgi-bin/token``,
``/cgi-bin/stable_token``): thin functions from a decoded request to a rule in the domain modules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from desk.simulator import aftersales, chat, data, orders
from desk.simulator.api import Call, Endpoint, Reply, Upload
from desk.simulator.channels_wire import (
    AcceptRequest,
    AddressAddRequest,
    AddressDetail,
    AddressIdRequest,
    AddressListRequest,
    AddressUpdateRequest,
    AfterSaleIdRequest,
    AfterSaleListRequest,
    DeliverySendRequest,
    MerchantNotesRequest,
    NegotiateRequest,
    OrderAddressUpdateRequest,
    OrderGetRequest,
    OrderIdRequest,
    OrderListRequest,
    OrderSearchRequest,
    RejectRequest,
    ReshipRequest,
    SendMsgRequest,
    StableTokenRequest,
    TimeRange,
    address_detail,
    aftersale_wire,
    encode_order,
    full_address,
    postal_address,
)
from desk.simulator.errcodes import (
    ADDRESS_NOT_FOUND,
    AFTERSALE_LIST_WINDOW,
    INVALID_APPID,
    INVALID_APPSECRET,
    INVALID_ARGS,
    ApiError,
)
from desk.simulator.state import MerchantAddress, SimAfterSale, SimOrder, StoreState

__all__ = ["CHANNELS_ENDPOINTS", "TOKEN_ENDPOINTS"]

ORDER_LIST_MAX_RANGE = 7 * 86400
AFTERSALE_LIST_MAX_RANGE = 86400
PAGE_SIZE_MAX = 100
AFTERSALE_PAGE_SIZE = 100  # the list takes no page size; pages of 100 [U]


def _store(call: Call) -> StoreState:
    return call.world.stores[call.owner]


def _order(call: Call, order_id: str | int) -> tuple[StoreState, SimOrder]:
    store = _store(call)
    return store, orders.find_order(store, str(order_id))


def _statuses(store: StoreState, order: SimOrder) -> dict[str, str]:
    return {a: store.aftersales[a].status for a in order.aftersale_ids}


# -- tokens ------------------------------------------------------------------------------------


def _credentials(call: Call, appid: str, secret: str) -> None:
    store = call.world.stores.get(appid)
    if store is None:
        raise ApiError(INVALID_APPID, f"invalid appid {appid!r}")
    if secret != store.config.secret:
        raise ApiError(INVALID_APPSECRET, "invalid appsecret")


def token(call: Call) -> Reply:
    """``GET /cgi-bin/token?grant_type=client_credential&appid=…&secret=…``"""
    if call.query.get("grant_type") != "client_credential":
        raise ApiError(INVALID_ARGS, "invalid grant_type")
    appid = call.query.get("appid", "")
    _credentials(call, appid, call.query.get("secret", ""))
    return {"access_token": call.tokens.channels_token(appid), "expires_in": call.tokens.expires_in}


def stable_token(call: Call) -> Reply:
    req = call.decode(StableTokenRequest)
    if req.grant_type != "client_credential":
        raise ApiError(INVALID_ARGS, "invalid grant_type")
    _credentials(call, req.appid, req.secret)
    issued, expires_in = call.tokens.stable_token(req.appid, force_refresh=req.force_refresh)
    return {"access_token": issued, "expires_in": expires_in}


# -- orders ------------------------------------------------------------------------------------


def order_get(call: Call) -> Reply:
    req = call.decode(OrderGetRequest)
    store, order = _order(call, req.order_id)
    return {"order": msgspec.Raw(encode_order(order, _statuses(store, order)))}


def _check_range(window: TimeRange, limit: int, code: int, what: str) -> None:
    if window.end_time < window.start_time:
        raise ApiError(INVALID_ARGS, f"{what}: end_time before start_time")
    if window.end_time - window.start_time > limit:
        raise ApiError(code, f"{what} exceeds {limit // 3600} hours")


def _page(keys: list[tuple[int, str]], next_key: str, page_size: int) -> tuple[list[str], str, bool]:
    """Keyset paging over sorted (time, id) pairs; ``next_key`` is ``"<time>_<id>"`` of the last one."""
    if next_key:
        time_text, _, last_id = next_key.partition("_")
        if not time_text.isdigit():
            raise ApiError(INVALID_ARGS, "invalid next_key")
        after = (int(time_text), last_id)
        keys = [k for k in keys if k > after]
    page = keys[:page_size]
    new_key = f"{page[-1][0]}_{page[-1][1]}" if page else next_key
    return [k[1] for k in page], new_key, len(keys) > page_size


def order_list(call: Call) -> Reply:
    """IDs only; each range at most 7 days; ``page_size`` 1–100; keyset ``next_key``."""
    req = call.decode(OrderListRequest)
    if req.create_time_range is None and req.update_time_range is None:
        raise ApiError(INVALID_ARGS, "create_time_range or update_time_range is required")
    for window, what in (
        (req.create_time_range, "create_time_range"),
        (req.update_time_range, "update_time_range"),
    ):
        if window is not None:
            _check_range(window, ORDER_LIST_MAX_RANGE, INVALID_ARGS, what)
    if not 1 <= req.page_size <= PAGE_SIZE_MAX:
        raise ApiError(INVALID_ARGS, f"page_size must be between 1 and {PAGE_SIZE_MAX}")
    by_update = req.update_time_range is not None
    keys = []
    for order in _store(call).orders.values():
        if req.create_time_range and not _within(order.create_time, req.create_time_range):
            continue
        if req.update_time_range and not _within(order.update_time, req.update_time_range):
            continue
        if (req.status is not None and order.status != req.status) or (
            req.openid and order.openid != req.openid
        ):
            continue
        keys.append((order.update_time if by_update else order.create_time, order.order_id))
    keys.sort()
    ids, next_key, has_more = _page(keys, req.next_key, req.page_size)
    return {"order_id_list": ids, "next_key": next_key, "has_more": has_more}


def _within(value: int, window: TimeRange) -> bool:
    return window.start_time <= value < window.end_time


def order_search(call: Call) -> Reply:
    req = call.decode(OrderSearchRequest)
    if not 1 <= req.page_size <= PAGE_SIZE_MAX:
        raise ApiError(INVALID_ARGS, f"page_size must be between 1 and {PAGE_SIZE_MAX}")
    cond = req.search_condition
    store = _store(call)

    def matches(order: SimOrder) -> bool:
        address = order.address
        # (the condition as given, whether the order meets it): a condition not given always holds.
        checks: tuple[tuple[object, Callable[[], bool]], ...] = (
            (cond.title, lambda: any(cond.title in line.title for line in order.lines)),
            (cond.sku_code, lambda: any(cond.sku_code == line.sku_code for line in order.lines)),
            (cond.user_name, lambda: cond.user_name == address.user_name),
            (cond.tel_number, lambda: cond.tel_number == address.tel_number),
            (cond.tel_number_last4, lambda: address.tel_number.endswith(cond.tel_number_last4)),
            (str(cond.order_id), lambda: str(cond.order_id) == order.order_id),
            (cond.merchant_notes, lambda: cond.merchant_notes in order.merchant_notes),
            (cond.customer_notes, lambda: cond.customer_notes in order.customer_notes),
        )
        if not all(check() for given, check in checks if given):
            return False
        if req.status is not None and order.status != req.status:
            return False
        return req.on_aftersale_order_exist is None or bool(order.aftersale_ids) == bool(
            req.on_aftersale_order_exist
        )

    keys = sorted((o.create_time, o.order_id) for o in store.orders.values() if matches(o))
    ids, next_key, has_more = _page(keys, req.next_key, req.page_size)
    return {"order_id_list": ids, "next_key": next_key, "has_more": has_more}


def sensitive_decode(call: Call) -> Reply:
    _, order = _order(call, call.decode(OrderIdRequest).order_id)
    reply: Reply = {"address_info": full_address(order.address)}
    if order.virtual_number:
        number, _, extension = order.virtual_number.partition("-")
        reply["virtual_number_info"] = {
            "virtual_number": number,
            "extension": extension,
            "expiration": order.create_time + 15 * 86400,
        }
    return reply


def virtual_number(call: Call) -> Reply:
    _, order = _order(call, call.decode(OrderIdRequest).order_id)
    if not order.virtual_number:
        raise ApiError(INVALID_ARGS, "the buyer does not use a virtual number")
    return {
        "virtual_tel_number": order.virtual_number,
        "virtual_tel_expire_time": order.create_time + 15 * 86400,
        "get_virtual_tel_cnt": 1,
    }


def merchant_notes(call: Call) -> Reply:
    req = call.decode(MerchantNotesRequest)
    _, order = _order(call, req.order_id)
    order.merchant_notes = req.merchant_notes
    order.touch(call.world.now())
    return {}


def address_modify_accept(call: Call) -> Reply:
    _, order = _order(call, call.decode(OrderIdRequest).order_id)
    orders.accept_address_change(call.world, order)
    return {}


def address_modify_reject(call: Call) -> Reply:
    _, order = _order(call, call.decode(OrderIdRequest).order_id)
    orders.reject_address_change(call.world, order)
    return {}


def order_address_update(call: Call) -> Reply:
    req = call.decode(OrderAddressUpdateRequest)
    store, order = _order(call, req.order_id)
    orders.merchant_changes_address(call.world, store, order, postal_address(req.user_address))
    return {}


def delivery_send(call: Call) -> Reply:
    """Ships the whole order with the first parcel's waybill (partial shipping is not simulated)."""
    req = call.decode(DeliverySendRequest)
    store, order = _order(call, req.order_id)
    if not req.delivery_list:
        raise ApiError(INVALID_ARGS, "delivery_list is required")
    first = req.delivery_list[0]
    couriers = {code: name for code, name, _ in data.COURIERS}
    if first.delivery_id not in couriers or not first.waybill_id:
        raise ApiError(INVALID_ARGS, f"unknown delivery_id {first.delivery_id!r} or empty waybill_id")
    orders.ship_order(
        call.world, store, order, waybill=(first.waybill_id, first.delivery_id, couriers[first.delivery_id])
    )
    return {}


def delivery_companies(call: Call) -> Reply:
    return {"company_list": [{"delivery_id": code, "delivery_name": name} for code, name, _ in data.COURIERS]}


# -- after-sales ---------------------------------------------------------------------------------


def _aftersale(call: Call, after_sale_order_id: str | int) -> tuple[StoreState, SimAfterSale]:
    store = _store(call)
    return store, aftersales.find_aftersale(store, str(after_sale_order_id))


def aftersale_get(call: Call) -> Reply:
    _, aftersale = _aftersale(call, call.decode(AfterSaleIdRequest).after_sale_order_id)
    return {"after_sale_order": aftersale_wire(aftersale, call.world.now())}


def aftersale_list(call: Call) -> Reply:
    """By create time or by update time, at most 24 hours (10020004), pages of 100."""
    req = call.decode(AfterSaleListRequest)
    if req.begin_create_time is not None and req.end_create_time is not None:
        window, field = (
            TimeRange(start_time=req.begin_create_time, end_time=req.end_create_time),
            "create_time",
        )
    elif req.begin_update_time is not None and req.end_update_time is not None:
        window, field = (
            TimeRange(start_time=req.begin_update_time, end_time=req.end_update_time),
            "update_time",
        )
    else:
        raise ApiError(INVALID_ARGS, "begin/end_create_time or begin/end_update_time is required")
    _check_range(window, AFTERSALE_LIST_MAX_RANGE, AFTERSALE_LIST_WINDOW, "time range")
    keys = sorted(
        (getattr(a, field), a.after_sale_order_id)
        for a in _store(call).aftersales.values()
        if _within(getattr(a, field), window)
    )
    ids, next_key, has_more = _page(keys, req.next_key, AFTERSALE_PAGE_SIZE)
    return {"after_sale_order_id_list": ids, "next_key": next_key, "has_more": has_more}


def aftersale_accept(call: Call) -> Reply:
    req = call.decode(AcceptRequest)
    store, aftersale = _aftersale(call, req.after_sale_order_id)
    address_id = str(req.address_id) if req.address_id is not None else None
    aftersales.accept(call.world, store, aftersale, address_id=address_id, accept_type=req.accept_type)
    return {}


def aftersale_reject(call: Call) -> Reply:
    req = call.decode(RejectRequest)
    store, aftersale = _aftersale(call, req.after_sale_order_id)
    aftersales.reject(
        call.world,
        store,
        aftersale,
        reject_reason_type=req.reject_reason_type,
        reject_reason=req.reject_reason,
    )
    return {}


def aftersale_negotiate(call: Call) -> Reply:
    req = call.decode(NegotiateRequest)
    store, aftersale = _aftersale(call, req.after_sale_order_id)
    proposal: dict[str, Any] = msgspec.structs.asdict(req)
    aftersales.negotiate(call.world, store, aftersale, proposal)
    return {}


def aftersale_reship(call: Call) -> Reply:
    req = call.decode(ReshipRequest)
    store, aftersale = _aftersale(call, req.after_sale_order_id)
    couriers = {code: name for code, name, _ in data.COURIERS}
    if req.delivery_id not in couriers:
        raise ApiError(INVALID_ARGS, f"unknown delivery_id {req.delivery_id!r}")
    aftersales.reship_exchange(
        call.world, store, aftersale, (req.waybill_id, req.delivery_id, couriers[req.delivery_id])
    )
    return {}


def reject_reasons(call: Call) -> Reply:
    # Documented as ``reason_list``; the live API answers ``reject_reason_list`` (spec §3).
    rows: Iterable[tuple[int, str, str, int]] = data.REJECT_REASONS
    return {
        "reject_reason_list": [
            {
                "reject_reason_type": t,
                "reject_reason_type_text": text,
                "reject_reason": desc,
                "reject_scene": scene,
            }
            for t, text, desc, scene in rows
        ]
    }


def reasons(call: Call) -> Reply:
    return {
        "reason_list": [
            {"reason": data.AFTERSALE_REASON_CODES[name], "reason_text": text}
            for name, text in data.AFTERSALE_REASONS.items()
        ]
    }


# -- merchant addresses --------------------------------------------------------------------------


def _merchant_address(call: Call, address_id: str | int) -> tuple[StoreState, MerchantAddress]:
    store = _store(call)
    address = store.addresses.get(str(address_id))
    if address is None:
        raise ApiError(ADDRESS_NOT_FOUND, "address not exist")
    return store, address


def _apply_detail(address: MerchantAddress, detail: AddressDetail, now: int) -> None:
    info = detail.address_info
    if not (info.user_name and info.tel_number and info.province_name and info.detail_info):
        raise ApiError(
            INVALID_ARGS, "address_info needs user_name, tel_number, province_name and detail_info"
        )
    address.name = detail.name
    address.address_info = postal_address(info)
    address.landline, address.remark = detail.landline, detail.remark
    address.send_addr, address.recv_addr = detail.send_addr, detail.recv_addr
    address.default_send, address.default_recv = detail.default_send, detail.default_recv
    address.same_city, address.pickup = bool(detail.address_type.same_city), bool(detail.address_type.pickup)
    address.update_time = now


def address_add(call: Call) -> Reply:
    detail = call.decode(AddressAddRequest).address_detail
    store, now = _store(call), call.world.now()
    address = MerchantAddress(
        address_id=call.world.ids.numeric("address"),
        name="",
        address_info=postal_address(detail.address_info),
        create_time=now,
    )
    _apply_detail(address, detail, now)
    store.addresses[address.address_id] = address
    return {"address_id": address.address_id}


def address_list(call: Call) -> Reply:
    req = call.decode(AddressListRequest)
    if req.offset < 0 or not 1 <= req.limit <= PAGE_SIZE_MAX:
        raise ApiError(INVALID_ARGS, f"offset must be ≥ 0 and limit between 1 and {PAGE_SIZE_MAX}")
    ids = list(_store(call).addresses)
    return {"address_id_list": ids[req.offset : req.offset + req.limit], "total_num": len(ids)}


def address_get(call: Call) -> Reply:
    _, address = _merchant_address(call, call.decode(AddressIdRequest).address_id)
    return {"address_detail": address_detail(address)}


def address_update(call: Call) -> Reply:
    detail = call.decode(AddressUpdateRequest).address_detail
    if detail.address_id is None:
        raise ApiError(INVALID_ARGS, "address_detail.address_id is required")
    _, address = _merchant_address(call, detail.address_id)
    _apply_detail(address, detail, call.world.now())
    return {}


def address_delete(call: Call) -> Reply:
    store, address = _merchant_address(call, call.decode(AddressIdRequest).address_id)
    del store.addresses[address.address_id]
    return {}


# -- customer service ------------------------------------------------------------------------------


def send_msg(call: Call) -> Reply:
    req = call.decode(SendMsgRequest)
    body = getattr(req, req.msg_type, None) if req.msg_type in chat.SEND_TYPES else None
    payload = {req.msg_type: body} if body is not None else {}
    message = chat.send_reply(
        call.world,
        _store(call),
        request_id=req.request_id,
        open_id=req.open_id,
        msg_type=req.msg_type,
        payload=payload,
    )
    return {"msg_id": message.msg_id}


def cos_upload(call: Call) -> Reply:
    upload = call.form.get("file")
    if not isinstance(upload, Upload):
        raise ApiError(INVALID_ARGS, "multipart field 'file' is required")
    open_id, msg_type = call.form.get("open_id"), call.form.get("msg_type")
    if not isinstance(open_id, str) or not isinstance(msg_type, str):
        raise ApiError(INVALID_ARGS, "multipart fields 'open_id' and 'msg_type' are required")
    cos_url = chat.upload_media(
        call.world, _store(call), open_id=open_id, msg_type=msg_type, size=upload.size
    )
    return {"cos_url": cos_url}


TOKEN_ENDPOINTS: dict[str, Endpoint] = {
    "token": Endpoint(token, auth="", methods=frozenset({"GET"})),
    "stable_token": Endpoint(stable_token, auth=""),
}

CHANNELS_ENDPOINTS: dict[str, Endpoint] = {
    path: Endpoint(handler, auth="channels")
    for path, handler in {
        "order/get": order_get,
        "order/list/get": order_list,
        "order/search": order_search,
        "order/sensitiveinfo/decode": sensitive_decode,
        "order/virtualtelnumber/get": virtual_number,
        "order/merchantnotes/update": merchant_notes,
        "order/addressmodify/accept": address_modify_accept,
        "order/addressmodify/reject": address_modify_reject,
        "order/address/update": order_address_update,
        "order/delivery/send": delivery_send,
        "order/deliverycompanylist/get": delivery_companies,
        "aftersale/getaftersaleorder": aftersale_get,
        "aftersale/getaftersalelist": aftersale_list,
        "aftersale/acceptapply": aftersale_accept,
        "aftersale/rejectapply": aftersale_reject,
        "aftersale/merchantupdateaftersale": aftersale_negotiate,
        "aftersale/acceptexchangereship": aftersale_reship,
        "aftersale/rejectreason/get": reject_reasons,
        "aftersale/reason/get": reasons,
        "merchant/address/add": address_add,
        "merchant/address/list": address_list,
        "merchant/address/get": address_get,
        "merchant/address/update": address_update,
        "merchant/address/delete": address_delete,
        "commkf/sendmsg": send_msg,
        "commkf/cosupload": cos_upload,
    }.items()
}
