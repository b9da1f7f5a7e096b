"""The buyer's page of the simulator (Simplified Chinese, like the WeChat app it stands for).

``/sim/buyer`` — play a buyer: pick a store and a buyer, chat with the store (what the desk
sends via ``commkf/sendmsg`` appears here), place orders, pay, confirm receipt, ask to change the
address, open an after-sale and post a return.

Forms post and redirect back (they work without JavaScript); a few lines of script send chat
messages without reloading and poll the chat and the orders. The overview is
:mod:`.overview_page`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import msgspec
from jinja2 import Environment
from litestar import Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template

from desk.simulator import catalog
from desk.simulator import data as content
from desk.simulator.errcodes import ApiError
from desk.simulator.state import Buyer, OrderStatus, StoreState
from desk.simulator.world import UnknownObjectError

if TYPE_CHECKING:
    from desk.simulator.simulator import Simulator

__all__ = ["ROUTES", "register_filters"]

SHANGHAI = ZoneInfo("Asia/Shanghai")
Form = Body(media_type=RequestEncodingType.URL_ENCODED)

ORDER_STATUS = {
    OrderStatus.UNPAID: "待付款",
    OrderStatus.TO_SHIP: "待发货",
    OrderStatus.PARTLY_SHIPPED: "部分发货",
    OrderStatus.SHIPPED: "待收货",
    OrderStatus.COMPLETED: "已完成",
    OrderStatus.REFUNDED_CANCELLED: "已全额退款",
    OrderStatus.CANCELLED: "已取消",
}
AFTERSALE_STATUS = {
    "MERCHANT_PROCESSING": "待商家处理",
    "USER_WAIT_RETURN": "商家已同意，请寄回商品",
    "MERCHANT_WAIT_RECEIPT": "已寄回，待商家收货",
    "PLATFORM_REFUNDING": "退款中",
    "MERCHANT_REFUND_SUCCESS": "退款成功",
    "MERCHANT_REJECT_REFUND": "商家拒绝退款",
    "MERCHANT_REJECT_RETURN": "商家拒绝退货",
    "USER_CANCELD": "已撤销",
    "USER_WAIT_CONFIRM_UPDATE": "商家发起协商，待你回复",
    "USER_WAIT_CONFIRM": "换货商品已发出",
}
AFTERSALE_TYPES = {"REFUND": "仅退款", "RETURN": "退货退款", "EXCHANGE": "换货"}
QUICK_QUESTIONS = ("什么时候发货", "能改地址吗", "我要退款", "发什么快递？")
"""Chips above the buyer's composer; the store's category adds the questions its buyers ask."""


# -- forms -----------------------------------------------------------------------------------------


class NewBuyerForm(msgspec.Struct):
    appid: str


class SayForm(msgspec.Struct):
    appid: str
    openid: str
    text: str = ""
    order_id: str = ""


class PlaceOrderForm(msgspec.Struct):
    appid: str
    openid: str
    sku_id: str
    count: int = 1
    pay: bool = True


class OrderActionForm(msgspec.Struct):
    appid: str
    openid: str
    order_id: str
    action: str
    """``pay``, ``confirm`` or ``address``"""


class AfterSaleForm(msgspec.Struct):
    appid: str
    openid: str
    order_id: str
    type: str
    reason: str
    desc: str = ""


class AfterSaleActionForm(msgspec.Struct):
    appid: str
    openid: str
    after_sale_order_id: str
    action: str
    """``ship_back`` or ``cancel``"""


# -- filters ---------------------------------------------------------------------------------------


def _yuan(fen: int) -> str:
    return f"¥{fen / 100:.2f}"


def _clock(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, SHANGHAI).strftime("%H:%M:%S")


def _datetime(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, SHANGHAI).strftime("%m-%d %H:%M")


def register_filters(environment: Environment) -> None:
    environment.filters.update(yuan=_yuan, clock=_clock, datetime=_datetime)


# -- views -----------------------------------------------------------------------------------------


def _sim(request: Request[Any, Any, Any]) -> Simulator:
    sim: Simulator = request.app.state.sim
    return sim


def _buyer_list(store: StoreState, limit: int = 40) -> list[Buyer]:
    return sorted(store.buyers.values(), key=lambda b: (b.last_activity, b.openid), reverse=True)[:limit]


def _chat(store: StoreState, openid: str) -> list[dict[str, Any]]:
    """The conversation as the buyer sees it: their messages and the store's replies, in order."""
    entries = [
        {
            "mine": True,
            "time": m.create_time,
            "type": m.msg_type,
            "text": m.content,
            "payload": m.payload,
            "id": m.msg_id,
        }
        for m in store.buyer_messages
        if m.openid == openid
    ]
    entries += [
        {
            "mine": False,
            "time": m.create_time,
            "type": m.msg_type,
            "text": m.content,
            "payload": m.payload,
            "id": m.msg_id,
        }
        for m in store.sent
        if m.open_id == openid
    ]
    entries.sort(key=lambda e: (e["time"], e["id"]))
    return entries


def _orders(store: StoreState, buyer: Buyer) -> list[dict[str, Any]]:
    views = []
    for order_id in reversed(buyer.order_ids):
        order = store.orders[order_id]
        views.append(
            {
                "order": order,
                "status": ORDER_STATUS.get(order.status, str(order.status)),
                "aftersales": [store.aftersales[a] for a in order.aftersale_ids],
                "can_aftersale": order.status
                in (OrderStatus.TO_SHIP, OrderStatus.SHIPPED, OrderStatus.COMPLETED),
                "can_return": order.status in (OrderStatus.SHIPPED, OrderStatus.COMPLETED),
            }
        )
    return views


def _quick_questions(store: StoreState | None) -> tuple[str, ...]:
    own = catalog.category_questions(store.config.category)[:2] if store else ()
    return QUICK_QUESTIONS[:3] + own + QUICK_QUESTIONS[3:]


def _buyer_context(request: Request[Any, Any, Any], appid: str | None, openid: str | None) -> dict[str, Any]:
    sim = _sim(request)
    stores = list(sim.world.stores.values())
    store = sim.world.stores.get(appid or "") or (stores[0] if stores else None)
    buyer = store.buyers.get(openid or "") if store else None
    return {
        "active": "buyer",
        "stores": stores,
        "store": store,
        "buyer": buyer,
        "buyers": _buyer_list(store) if store else [],
        "chat": _chat(store, buyer.openid) if store and buyer else [],
        "orders": _orders(store, buyer) if store and buyer else [],
        "order_status": ORDER_STATUS,
        "aftersale_status": AFTERSALE_STATUS,
        "aftersale_types": AFTERSALE_TYPES,
        "reasons": content.AFTERSALE_REASONS,
        "quick_questions": _quick_questions(store),
        "scenes": content.ORDER_SCENES,
        "error": request.query_params.get("error", ""),
    }


def _back(request: Request[Any, Any, Any], appid: str, openid: str, error: str = "") -> Response[Any]:
    """Where a buyer form returns to; script-driven posts get a bare status instead."""
    if request.headers.get("x-sim-fetch"):
        return Response(content=error, status_code=422 if error else 204, media_type="text/plain")
    query = {"appid": appid, "openid": openid, **({"error": error} if error else {})}
    return Redirect(f"/sim/buyer?{urlencode(query)}")


# -- pages -----------------------------------------------------------------------------------------


@get("/sim/buyer", name="sim:buyer", include_in_schema=False)
async def buyer(
    request: Request[Any, Any, Any], appid: FromQuery[str | None] = None, openid: FromQuery[str | None] = None
) -> Template:
    return Template("buyer.html", context=_buyer_context(request, appid, openid))


@get("/sim/buyer/chat", name="sim:buyer-chat", include_in_schema=False)
async def buyer_chat(
    request: Request[Any, Any, Any], appid: FromQuery[str], openid: FromQuery[str]
) -> Template:
    return Template("_chat.html", context=_buyer_context(request, appid, openid))


@get("/sim/buyer/orders", name="sim:buyer-orders", include_in_schema=False)
async def buyer_orders(
    request: Request[Any, Any, Any], appid: FromQuery[str], openid: FromQuery[str]
) -> Template:
    return Template("_orders.html", context=_buyer_context(request, appid, openid))


@post("/sim/buyer/new", name="sim:buyer-new", include_in_schema=False)
async def new_buyer(request: Request[Any, Any, Any], data: Annotated[NewBuyerForm, Form]) -> Response[Any]:
    try:
        openid = _sim(request).new_buyer(data.appid)
    except UnknownObjectError as exc:
        return _back(request, data.appid, "", str(exc))
    return Redirect(f"/sim/buyer?{urlencode({'appid': data.appid, 'openid': openid})}")


@post("/sim/buyer/say", name="sim:buyer-say", include_in_schema=False)
async def say(request: Request[Any, Any, Any], data: Annotated[SayForm, Form]) -> Response[Any]:
    text = data.text.strip()
    if not text and not data.order_id:
        return _back(request, data.appid, data.openid, "请输入要发送的内容")
    try:
        if data.order_id:
            _sim(request).buyer_says(data.appid, data.openid, order_id=data.order_id)
        if text:
            _sim(request).buyer_says(data.appid, data.openid, text)
    except UnknownObjectError as exc:
        return _back(request, data.appid, data.openid, str(exc))
    return _back(request, data.appid, data.openid)


@post("/sim/buyer/order", name="sim:buyer-order", include_in_schema=False)
async def place_order(
    request: Request[Any, Any, Any], data: Annotated[PlaceOrderForm, Form]
) -> Response[Any]:
    if not 1 <= data.count <= 99:
        return _back(request, data.appid, data.openid, "购买数量须在 1–99 之间")
    try:
        _sim(request).create_order(data.appid, data.openid, items=[(data.sku_id, data.count)], paid=data.pay)
    except (UnknownObjectError, ValueError) as exc:
        return _back(request, data.appid, data.openid, str(exc))
    return _back(request, data.appid, data.openid)


@post("/sim/buyer/order/action", name="sim:buyer-order-action", include_in_schema=False)
async def order_action(
    request: Request[Any, Any, Any], data: Annotated[OrderActionForm, Form]
) -> Response[Any]:
    sim = _sim(request)
    actions = {
        "pay": lambda: sim.pay_order(data.appid, data.order_id),
        "confirm": lambda: sim.confirm_order(data.appid, data.order_id),
        "address": lambda: sim.request_address_change(data.appid, data.order_id),
    }
    return _perform(request, data.appid, data.openid, actions.get(data.action), data.action)


@post("/sim/buyer/aftersale", name="sim:buyer-aftersale", include_in_schema=False)
async def open_aftersale(
    request: Request[Any, Any, Any], data: Annotated[AfterSaleForm, Form]
) -> Response[Any]:
    if data.type not in AFTERSALE_TYPES or data.reason not in content.AFTERSALE_REASONS:
        return _back(request, data.appid, data.openid, "请选择售后类型和原因")
    try:
        _sim(request).open_aftersale(
            data.appid, data.order_id, data.type, data.reason, desc=data.desc.strip() or None
        )
    except (ApiError, UnknownObjectError) as exc:
        return _back(request, data.appid, data.openid, _reason(exc))
    return _back(request, data.appid, data.openid)


@post("/sim/buyer/aftersale/action", name="sim:buyer-aftersale-action", include_in_schema=False)
async def aftersale_action(
    request: Request[Any, Any, Any], data: Annotated[AfterSaleActionForm, Form]
) -> Response[Any]:
    sim = _sim(request)
    actions = {
        "ship_back": lambda: sim.buyer_ships_return(data.appid, data.after_sale_order_id),
        "cancel": lambda: sim.buyer_cancels_aftersale(data.appid, data.after_sale_order_id),
        "complain": lambda: sim.buyer_complains(data.appid, data.after_sale_order_id),
    }
    return _perform(request, data.appid, data.openid, actions.get(data.action), data.action)


def _perform(
    request: Request[Any, Any, Any], appid: str, openid: str, action: Callable[[], object] | None, name: str
) -> Response[Any]:
    """Do the buyer's chosen ``action`` and go back to their page, with the platform's refusal if any."""
    if action is None:
        return _back(request, appid, openid, f"未知操作：{name}")
    try:
        action()
    except (ApiError, UnknownObjectError) as exc:
        return _back(request, appid, openid, _reason(exc))
    return _back(request, appid, openid)


def _reason(exc: Exception) -> str:
    return exc.errmsg if isinstance(exc, ApiError) else str(exc)


ROUTES = [
    buyer,
    buyer_chat,
    buyer_orders,
    new_buyer,
    say,
    place_order,
    order_action,
    open_aftersale,
    aftersale_action,
]
