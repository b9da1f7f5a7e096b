"""Buyer chat through the store's own customer-service API (自研客服, ``commkf``; spec §6A).

A buyer's message is pushed as ``commkf_send_msg_to_kf`` with a ``msg_id`` that grows per store.
The desk answers with ``commkf/sendmsg``: de-duplicated by ``request_id``, and allowed only
within 48 hours after the buyer's last message and at most five times until the buyer writes
again.
"""

from __future__ import annotations

from typing import Any

from desk.simulator.errcodes import (
    COMMKF_INVALID_OPENID,
    COMMKF_MEDIA_TOO_LARGE,
    COMMKF_REPLY_LIMIT,
    COMMKF_REPLY_WINDOW_CLOSED,
    INVALID_ARGS,
    ApiError,
)
from desk.simulator.payloads import CommkfPush
from desk.simulator.state import Buyer, BuyerMessage, SentMessage, StoreState
from desk.simulator.world import World

__all__ = [
    "MAX_REPLIES",
    "MAX_UPLOAD_BYTES",
    "REPLY_WINDOW",
    "SEND_TYPES",
    "buyer_says",
    "message_summary",
    "send_reply",
    "upload_media",
]

REPLY_WINDOW = 48 * 3600
MAX_REPLIES = 5
MAX_UPLOAD_BYTES = 30 * 1024 * 1024
MAX_TEXT_CHARS = 2000  # [U] the documents name a risk check, not a length; WeCom kf allows 2048 bytes
MEDIA_TYPES = ("image", "video", "file")
SEND_TYPES = ("text", *MEDIA_TYPES, "product_share", "order_share")


def message_summary(msg_type: str, payload: dict[str, Any]) -> str:
    """One line of text for a message of any type (lists, the buyer page, ground truth)."""
    body = payload.get(msg_type) or {}
    if msg_type == "text":
        return str(body.get("content", ""))
    if msg_type == "order_share":
        return f"[订单] {body.get('order_id', '')}"
    if msg_type == "product_share":
        return f"[商品] {body.get('product_id', '')}"
    return {"image": "[图片]", "video": "[视频]", "file": "[文件]", "voice": "[语音]"}.get(
        msg_type, f"[{msg_type}]"
    )


def buyer_says(
    world: World, store: StoreState, buyer: Buyer, msg_type: str, payload: dict[str, Any]
) -> BuyerMessage:
    """The buyer sends a message: it opens a new reply window and is pushed to the store."""
    now = world.now()
    message = BuyerMessage(
        msg_id=world.ids.numeric("commkf_msg"),
        openid=buyer.openid,
        msg_type=msg_type,
        content=message_summary(msg_type, payload),
        payload=payload,
        create_time=now,
    )
    store.buyer_messages.append(message)
    buyer.last_message_at = now
    buyer.replies_since_message = 0
    buyer.last_activity = now
    push = CommkfPush(
        ToUserName=store.config.gh_id,
        FromUserName=buyer.openid,
        CreateTime=now,
        MsgType="event",
        Event="commkf_send_msg_to_kf",
        msg_id=message.msg_id,
        msg_type=msg_type,
        msg_event="EVENT_TYPE_SEND_MSG",
        **payload,
    )
    world.push_channels(store, push, ref=message.msg_id)
    return message


def _check_payload(store: StoreState, buyer: Buyer, msg_type: str, payload: dict[str, Any]) -> None:
    if msg_type not in SEND_TYPES:
        raise ApiError(INVALID_ARGS, f"invalid msg_type {msg_type!r}")
    body = payload.get(msg_type)
    if not isinstance(body, dict):
        raise ApiError(INVALID_ARGS, f"{msg_type} object is required")
    if msg_type == "text":
        content = body.get("content")
        if not isinstance(content, str) or not content.strip():
            raise ApiError(INVALID_ARGS, "text.content is required")
        if len(content) > MAX_TEXT_CHARS:
            raise ApiError(INVALID_ARGS, f"text.content longer than {MAX_TEXT_CHARS} characters")
    elif msg_type in MEDIA_TYPES:
        if not body.get("cos_url"):
            raise ApiError(INVALID_ARGS, f"{msg_type}.cos_url is required (upload with commkf/cosupload)")
    elif msg_type == "product_share":
        if str(body.get("product_id", "")) not in store.products:
            raise ApiError(INVALID_ARGS, "product_share.product_id is not a product of this shop")
    elif str(body.get("order_id", "")) not in buyer.order_ids:
        raise ApiError(INVALID_ARGS, "order_share.order_id is not an order of this buyer")


def send_reply(
    world: World, store: StoreState, *, request_id: str, open_id: str, msg_type: str, payload: dict[str, Any]
) -> SentMessage:
    """``commkf/sendmsg``: deliver the desk's message to the buyer, under the platform's limits.

    A repeated ``request_id`` returns the first message's ``msg_id`` and sends nothing, so a
    client may retry safely.
    """
    if not request_id:
        raise ApiError(INVALID_ARGS, "request_id is required")
    existing = store.sent_by_request.get(request_id)
    if existing is not None:
        return existing
    buyer = store.buyers.get(open_id)
    if buyer is None:
        raise ApiError(COMMKF_INVALID_OPENID, "invalid openid")
    _check_payload(store, buyer, msg_type, payload)
    now = world.now()
    if buyer.last_message_at is None or now - buyer.last_message_at > REPLY_WINDOW:
        raise ApiError(
            COMMKF_REPLY_WINDOW_CLOSED, "response out of time limit: no buyer message within 48 hours"
        )
    if buyer.replies_since_message >= MAX_REPLIES:
        raise ApiError(COMMKF_REPLY_LIMIT, "out of response count limit: wait for the buyer to write again")
    message = SentMessage(
        msg_id=world.ids.numeric("commkf_msg"),
        request_id=request_id,
        open_id=open_id,
        msg_type=msg_type,
        content=message_summary(msg_type, payload),
        payload=payload,
        create_time=now,
    )
    buyer.replies_since_message += 1
    store.sent.append(message)
    store.sent_by_request[request_id] = message
    return message


def upload_media(world: World, store: StoreState, *, open_id: str, msg_type: str, size: int) -> str:
    """``commkf/cosupload``: keep a file for a later message; answers its ``cos_url``."""
    if open_id not in store.buyers:
        raise ApiError(COMMKF_INVALID_OPENID, "invalid openid")
    if msg_type not in MEDIA_TYPES:
        raise ApiError(INVALID_ARGS, f"invalid msg_type {msg_type!r} for an upload")
    if size <= 0:
        raise ApiError(INVALID_ARGS, "file is empty")
    if size > MAX_UPLOAD_BYTES:
        raise ApiError(COMMKF_MEDIA_TOO_LARGE, "invalid media size: larger than 30 MB")
    cos_url = (
        f"https://commkf-1251316161.cos.ap-shanghai.myqcloud.com/{store.config.appid}/{world.ids.hex('cos')}"
    )
    store.uploads[cos_url] = size
    return cos_url
