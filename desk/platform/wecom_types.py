"""Structs mirroring the WeCom wire JSON: 微信客服 (kf) messages and 客户联系 contacts (spec §6B, §7).

A ``sync_msg`` item is one :class:`KfMessage`: the common fields, ``msgtype``, and the object of
that type (``text``, ``image``, ``event``…). A type desk does not know keeps its ``msgtype`` and
its raw item in :attr:`KfMessage.raw` — never an error, because WeCom adds types over time.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

import msgspec

__all__ = [
    "AddContactWayResult",
    "ExternalContact",
    "ExternalContactDetail",
    "FollowUser",
    "KfAccount",
    "KfBusinessCard",
    "KfChannels",
    "KfChannelsShopOrder",
    "KfChannelsShopProduct",
    "KfCustomer",
    "KfCustomerBatch",
    "KfEvent",
    "KfLink",
    "KfLocation",
    "KfMedia",
    "KfMenu",
    "KfMergedMsg",
    "KfMessage",
    "KfMiniProgram",
    "KfText",
    "KfWechatChannels",
    "MsgOrigin",
    "ServiceState",
    "ServiceStateInfo",
    "SyncMsgPage",
    "SyncMsgResult",
]


_Items = list[dict[str, Any]]  # aliased: a field named ``list`` shadows the builtin in its class


class _Wire(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True):
    """Base of the wire Structs: keyword-only, immutable, defaults left out when encoding."""


class MsgOrigin(IntEnum):
    """``origin`` of a kf message."""

    CUSTOMER = 3
    SYSTEM_EVENT = 4
    SERVICER = 5
    """Sent by a servicer in the WeCom client (messages sent through the API are not returned)."""


class ServiceState(IntEnum):
    """State of a kf session (``service_state``)."""

    UNTREATED = 0
    BOT = 1
    """Smart assistant / API: desk may send."""
    QUEUED = 2
    HUMAN = 3
    """A servicer (``servicer_userid``) is handling it in the WeCom client."""
    ENDED = 4


class KfText(_Wire, frozen=True):
    content: str = ""
    menu_id: str = ""


class KfMedia(_Wire, frozen=True):
    """``image``, ``voice``, ``video`` or ``file``: fetch it with ``media/get``."""

    media_id: str = ""


class KfLocation(_Wire, frozen=True):
    latitude: float = 0.0
    longitude: float = 0.0
    name: str = ""
    address: str = ""


class KfLink(_Wire, frozen=True):
    title: str = ""
    desc: str = ""
    url: str = ""
    pic_url: str = ""


class KfBusinessCard(_Wire, frozen=True):
    userid: str = ""


class KfMiniProgram(_Wire, frozen=True):
    title: str = ""
    appid: str = ""
    pagepath: str = ""
    thumb_media_id: str = ""


class KfMenu(_Wire, frozen=True):
    head_content: str = ""
    list: _Items = []
    tail_content: str = ""


class KfChannelsShopProduct(_Wire, frozen=True):
    """A Channels store product the customer shared."""

    product_id: str = ""
    head_image: str = ""
    title: str = ""
    sales_price: str = ""
    shop_nickname: str = ""
    shop_head_image: str = ""


class KfChannelsShopOrder(_Wire, frozen=True):
    """A Channels store order the customer shared."""

    order_id: str = ""
    product_titles: str = ""
    price_wording: str = ""
    state: str = ""
    image_url: str = ""
    shop_nickname: str = ""


class KfChannels(_Wire, frozen=True):
    """A Channels (视频号) post or live the customer shared."""

    sub_type: int = 0
    nickname: str = ""
    title: str = ""


class KfMergedMsg(_Wire, frozen=True):
    title: str = ""
    item: list[dict[str, Any]] = []


class KfWechatChannels(_Wire, frozen=True):
    """Where a customer came from when they entered from Channels (``enter_session``)."""

    nickname: str = ""
    shop_nickname: str = ""
    scene: int = 0
    """1 profile, 2 live list, 3 showcase, 4 store product page, 5 store order page."""


class KfEvent(_Wire, frozen=True):
    """A system event (``msgtype`` ``event``), one Struct for every ``event_type``.

    * ``enter_session``: ``scene``, ``scene_param``, ``welcome_code`` (send a welcome with
      ``send_msg_on_event`` within 20 s), ``wechat_channels``.
    * ``msg_send_fail``: ``fail_msgid``, ``fail_type`` (4 over 48 h, 5 session closed, 6 over five
      messages, 10 customer refused, 7/8/9 corp not bound / not verified, 0/1/2/11 other).
    * ``servicer_status_change``: ``servicer_userid``, ``status`` (1 receiving, 2 stopped).
    * ``session_status_change``: ``change_type`` (1 from the pool, 2 transferred, 3 ended,
      4 reopened), ``old_servicer_userid``, ``new_servicer_userid``, ``msg_code``.
    * ``user_recall_msg`` / ``servicer_recall_msg``: ``recall_msgid``.
    """

    event_type: str = ""
    open_kfid: str = ""
    external_userid: str = ""
    scene: str = ""
    scene_param: str = ""
    welcome_code: str = ""
    wechat_channels: KfWechatChannels | None = None
    fail_msgid: str = ""
    fail_type: int = 0
    servicer_userid: str = ""
    status: int = 0
    change_type: int = 0
    old_servicer_userid: str = ""
    new_servicer_userid: str = ""
    msg_code: str = ""
    recall_msgid: str = ""
    reject_switch: int = 0


class KfMessage(_Wire, frozen=True):
    """One item of ``sync_msg``'s ``msg_list``.

    ``origin`` (:class:`MsgOrigin`): 3 the customer, 4 a system event, 5 a servicer. The object
    matching ``msgtype`` is set; ``raw`` holds the item as received, for types desk does not
    model and for audit.
    """

    msgid: str = ""
    open_kfid: str = ""
    external_userid: str = ""
    send_time: int = 0
    origin: int = 0
    servicer_userid: str = ""
    msgtype: str = ""
    text: KfText | None = None
    image: KfMedia | None = None
    voice: KfMedia | None = None
    video: KfMedia | None = None
    file: KfMedia | None = None
    location: KfLocation | None = None
    link: KfLink | None = None
    business_card: KfBusinessCard | None = None
    miniprogram: KfMiniProgram | None = None
    msgmenu: KfMenu | None = None
    channels_shop_product: KfChannelsShopProduct | None = None
    channels_shop_order: KfChannelsShopOrder | None = None
    channels: KfChannels | None = None
    merged_msg: KfMergedMsg | None = None
    event: KfEvent | None = None
    raw: dict[str, Any] = {}

    def summary(self) -> str:
        """The message as one line of text for lists and previews."""
        if self.text is not None:
            return self.text.content
        if self.channels_shop_order is not None:
            return f"[order {self.channels_shop_order.order_id}]"
        if self.channels_shop_product is not None:
            return f"[product {self.channels_shop_product.title or self.channels_shop_product.product_id}]"
        if self.event is not None:
            return f"[event {self.event.event_type}]"
        return f"[{self.msgtype or 'unknown'}]"


class SyncMsgPage(_Wire, frozen=True):
    """One ``kf/sync_msg`` reply."""

    next_cursor: str = ""
    has_more: int = 0
    msg_list: list[KfMessage] = []


class SyncMsgResult(_Wire, frozen=True):
    """Every page read by one :meth:`~desk.platform.wecom.WeComClient.sync_all`.

    ``next_cursor`` is where the next sync starts (persist it). ``has_more`` is true only when
    the page limit stopped the loop early.
    """

    msg_list: list[KfMessage] = []
    next_cursor: str = ""
    has_more: bool = False


class ServiceStateInfo(_Wire, frozen=True):
    service_state: int = 0
    """:class:`ServiceState`."""
    servicer_userid: str = ""


class KfCustomer(_Wire, frozen=True):
    external_userid: str = ""
    nickname: str = ""
    avatar: str = ""
    gender: int = 0
    unionid: str = ""
    enter_session_context: dict[str, Any] = {}


class KfCustomerBatch(_Wire, frozen=True):
    customer_list: list[KfCustomer] = []
    invalid_external_userid: list[str] = []


class KfAccount(_Wire, frozen=True):
    open_kfid: str = ""
    name: str = ""
    avatar: str = ""
    manage_privilege: bool = False


class AddContactWayResult(_Wire, frozen=True):
    """``externalcontact/add_contact_way``: keep ``config_id`` to update or delete it later."""

    config_id: str = ""
    qr_code: str = ""


class ExternalContact(_Wire, frozen=True):
    external_userid: str = ""
    name: str = ""
    avatar: str = ""
    type: int = 0
    """1 WeChat user, 2 WeCom user."""
    gender: int = 0
    unionid: str = ""
    corp_name: str = ""


class FollowUser(_Wire, frozen=True):
    """A staff member who has the contact, with how and when they were added."""

    userid: str = ""
    remark: str = ""
    description: str = ""
    createtime: int = 0
    tags: list[dict[str, Any]] = []
    state: str = ""
    """The ``state`` given to the contact way that added them (desk's hand-off reference)."""
    add_way: int = 0
    oper_userid: str = ""


class ExternalContactDetail(_Wire, frozen=True):
    """``externalcontact/get``."""

    external_contact: ExternalContact = msgspec.field(default_factory=ExternalContact)
    follow_user: list[FollowUser] = []
    next_cursor: str = ""
