"""WeCom 微信客服 (kf) and 客户联系 hand-off (spec §6B, §7).

A customer's message does not travel in the callback: the corp gets ``kf_msg_or_event`` with a
fresh ``Token`` and reads the messages with ``sync_msg`` from its cursor. Sending is allowed only
while the session is untreated (0) or with the API (1) — 95018 otherwise — and at most five
messages within 48 hours of the customer's last message; a message over the limit is accepted,
then reported as a ``msg_send_fail`` event (fail_type 4 after 48 h, 6 over five), as WeCom does.
"""

from __future__ import annotations

import base64
import binascii
import random
import re
from typing import Any

from desk.simulator.errcodes import (
    EXTERNAL_CONTACT_NOT_FOUND,
    INVALID_ARGS,
    KF_BAD_OPEN_KFID,
    KF_INVALID_CODE,
    KF_INVALID_CURSOR,
    KF_INVALID_MSG_TOKEN,
    KF_NOT_FOUND,
    KF_WRONG_STATE,
    WECOM_USERID_NOT_FOUND,
    ApiError,
)
from desk.simulator.state import (
    ContactWay,
    CorpState,
    ExternalContact,
    FollowUser,
    KfCustomer,
    KfMessage,
    KfSent,
    KfSession,
    Person,
)
from desk.simulator.world import World

__all__ = [
    "MAX_SENDS",
    "add_contact_way",
    "add_external_contact",
    "customer_says",
    "get_external_contact",
    "kf_link",
    "send_message",
    "send_on_event",
    "session_for",
    "sync",
    "trans_state",
    "upgrade_service",
]

MSG_TOKEN_TTL = 600
WELCOME_CODE_TTL = 20
SESSION_CODE_TTL = 48 * 3600
SESSION_WINDOW = 48 * 3600
MAX_SENDS = 5
HISTORY = 3 * 86400
SYNC_LIMIT = 1000
SEND_TYPES = frozenset(
    {"text", "image", "voice", "video", "file", "link", "miniprogram", "msgmenu", "location", "ca_link"}
)
_MSGID = re.compile(r"[0-9A-Za-z_-]{1,32}")
CUSTOMER_ADDS_STAFF_AFTER = 60.0
"""Simulated seconds before a customer handed over with ``upgrade_service`` adds the staff member."""


def _require_kf(corp: CorpState, open_kfid: str) -> None:
    if open_kfid not in corp.config.kf_accounts:
        raise ApiError(KF_BAD_OPEN_KFID, f"invalid open_kfid {open_kfid!r}")


def session_for(corp: CorpState, open_kfid: str, external_userid: str) -> KfSession:
    _require_kf(corp, open_kfid)
    if external_userid not in corp.customers:
        raise ApiError(KF_NOT_FOUND, f"external_userid {external_userid!r} not found")
    key = (open_kfid, external_userid)
    session = corp.sessions.get(key)
    if session is None:
        session = corp.sessions[key] = KfSession(
            open_kfid=open_kfid, external_userid=external_userid, state=4
        )
    return session


def _append(
    world: World,
    corp: CorpState,
    open_kfid: str,
    external_userid: str,
    *,
    origin: int,
    msgtype: str,
    body: dict[str, Any],
) -> KfMessage:
    message = KfMessage(
        msgid=world.ids.msgid(corp.config.corpid),
        open_kfid=open_kfid,
        external_userid=external_userid,
        send_time=world.now(),
        origin=origin,
        msgtype=msgtype,
        body=body,
    )
    corp.kf_messages.append(message)
    return message


def _notify(world: World, corp: CorpState, open_kfid: str) -> None:
    """Push ``kf_msg_or_event`` with a fresh token for ``sync_msg``."""
    now = world.now()
    if len(corp.msg_tokens) > 1000:
        corp.msg_tokens = {t: until for t, until in corp.msg_tokens.items() if until > now}
    token = "ENC" + world.ids.hex("kf-token", 44)
    corp.msg_tokens[token] = now + MSG_TOKEN_TTL
    fields: dict[str, str | int] = {
        "ToUserName": corp.config.corpid,
        "CreateTime": now,
        "MsgType": "event",
        "Event": "kf_msg_or_event",
        "Token": token,
        "OpenKfId": open_kfid,
    }
    world.push_wecom(corp, fields, ref=open_kfid)


def _customer(world: World, corp: CorpState, external_userid: str | None, rng: random.Random) -> KfCustomer:
    if external_userid is not None:
        customer = corp.customers.get(external_userid)
        if customer is None:
            raise ApiError(KF_NOT_FOUND, f"external_userid {external_userid!r} not found")
        return customer
    # Half the customers reaching a kf account come from the corp's Channels stores: same person.
    person: Person = (
        rng.choice(world.persons) if world.persons and rng.random() < 0.5 else world.new_person(rng)
    )
    customer = KfCustomer(
        external_userid=world.ids.external_userid(), person=person, scene=rng.choice((4, 5))
    )
    corp.customers[customer.external_userid] = customer
    return customer


def customer_says(
    world: World,
    corp: CorpState,
    open_kfid: str,
    text: str,
    *,
    rng: random.Random,
    external_userid: str | None = None,
) -> KfMessage:
    """A customer writes to a kf account; a new session starts with an ``enter_session`` event."""
    _require_kf(corp, open_kfid)
    customer = _customer(world, corp, external_userid, rng)
    session = session_for(corp, open_kfid, customer.external_userid)
    now = world.now()
    if session.state == 4 or now - session.last_customer_at > SESSION_WINDOW:
        session.state, session.servicer_userid = 0, ""
        code = world.ids.hex("welcome")
        corp.event_codes[code] = (open_kfid, customer.external_userid, now + WELCOME_CODE_TTL)
        event = {
            "event_type": "enter_session",
            "open_kfid": open_kfid,
            "external_userid": customer.external_userid,
            "scene": "",
            "scene_param": customer.scene_param,
            "welcome_code": code,
            "wechat_channels": {"nickname": corp.config.name, "scene": customer.scene},
        }
        _append(
            world, corp, open_kfid, customer.external_userid, origin=4, msgtype="event", body={"event": event}
        )
    session.last_customer_at = now
    session.sent_since_customer = 0
    message = _append(
        world,
        corp,
        open_kfid,
        customer.external_userid,
        origin=3,
        msgtype="text",
        body={"text": {"content": text}},
    )
    _notify(world, corp, open_kfid)
    return message


# -- reading ----------------------------------------------------------------------------------


def _encode_cursor(corp: CorpState, position: int) -> str:
    return base64.urlsafe_b64encode(f"{corp.config.corpid}:{position}".encode()).decode().rstrip("=")


def _decode_cursor(corp: CorpState, cursor: str) -> int:
    if not cursor:
        return 0
    try:
        corpid, _, position = (
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().partition(":")
        )
        value = int(position)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError(KF_INVALID_CURSOR, "invalid cursor") from None
    if corpid != corp.config.corpid or not 0 <= value <= len(corp.kf_messages):
        raise ApiError(KF_INVALID_CURSOR, "invalid cursor")
    return value


def sync(
    world: World, corp: CorpState, *, cursor: str, token: str, limit: int, open_kfid: str
) -> tuple[str, int, list[KfMessage]]:
    """``sync_msg``: up to ``limit`` messages after ``cursor`` → (next_cursor, has_more, messages).

    Messages older than three days are gone; messages the desk sent through the API are not
    returned (the platform does not echo them).
    """
    if not 0 <= limit <= SYNC_LIMIT:
        raise ApiError(INVALID_ARGS, f"limit must be at most {SYNC_LIMIT}")
    limit = limit or SYNC_LIMIT
    now = world.now()
    if token and corp.msg_tokens.get(token, 0) < now:
        raise ApiError(KF_INVALID_MSG_TOKEN, "invalid msg token")
    if open_kfid:
        _require_kf(corp, open_kfid)
    position = _decode_cursor(corp, cursor)
    log = corp.kf_messages
    found: list[KfMessage] = []
    while position < len(log) and len(found) < limit:
        message = log[position]
        position += 1
        if message.send_time >= now - HISTORY and (not open_kfid or message.open_kfid == open_kfid):
            found.append(message)
    has_more = int(any(not open_kfid or m.open_kfid == open_kfid for m in log[position:]))
    return _encode_cursor(corp, position), has_more, found


# -- sending ----------------------------------------------------------------------------------


def _check_send(msgtype: str, body: dict[str, Any], msgid: str) -> None:
    if msgtype not in SEND_TYPES:
        raise ApiError(INVALID_ARGS, f"invalid msgtype {msgtype!r}")
    if not isinstance(body.get(msgtype), dict):
        raise ApiError(INVALID_ARGS, f"{msgtype} object is required")
    if msgtype == "text" and not str(body[msgtype].get("content", "")).strip():
        raise ApiError(INVALID_ARGS, "text.content is required")
    if msgid and not _MSGID.fullmatch(msgid):
        raise ApiError(INVALID_ARGS, "msgid must be at most 32 characters of [0-9a-zA-Z_-]")


def _content(msgtype: str, body: dict[str, Any]) -> str:
    if msgtype == "text":
        return str(body["text"].get("content", ""))
    if msgtype == "msgmenu":
        return str(body["msgmenu"].get("head_content", "[菜单]"))
    return f"[{msgtype}]"


def send_message(
    world: World,
    corp: CorpState,
    *,
    touser: str,
    open_kfid: str,
    msgtype: str,
    body: dict[str, Any],
    msgid: str = "",
) -> str:
    """``kf/send_msg``: only in state 0/1 (95018); over the 48 h / five-message rule it fails later."""
    _check_send(msgtype, body, msgid)
    session = session_for(corp, open_kfid, touser)
    if session.state not in (0, 1):
        raise ApiError(KF_WRONG_STATE, f"invalid service state {session.state} for sending")
    now = world.now()
    fail_type = 0
    if now - session.last_customer_at > SESSION_WINDOW:
        fail_type = 4
    elif session.sent_since_customer >= MAX_SENDS:
        fail_type = 6
    msgid = msgid or world.ids.msgid(corp.config.corpid)
    corp.sent.append(
        KfSent(msgid, open_kfid, touser, msgtype, _content(msgtype, body), now, not fail_type, fail_type)
    )
    if fail_type:
        event = {
            "event_type": "msg_send_fail",
            "open_kfid": open_kfid,
            "external_userid": touser,
            "fail_msgid": msgid,
            "fail_type": fail_type,
        }
        _append(world, corp, open_kfid, touser, origin=4, msgtype="event", body={"event": event})
        _notify(world, corp, open_kfid)
    else:
        session.sent_since_customer += 1
    return msgid


def send_on_event(
    world: World, corp: CorpState, *, code: str, msgtype: str, body: dict[str, Any], msgid: str = ""
) -> str:
    """``kf/send_msg_on_event``: one message per welcome/session code, while the code is valid."""
    if msgtype not in ("text", "msgmenu"):
        raise ApiError(INVALID_ARGS, "only text and msgmenu can answer an event")
    _check_send(msgtype, body, msgid)
    entry = corp.event_codes.pop(code, None)
    if entry is None or entry[2] < world.now():
        raise ApiError(KF_INVALID_CODE, "invalid or expired code")
    open_kfid, external_userid, _ = entry
    msgid = msgid or world.ids.msgid(corp.config.corpid)
    corp.sent.append(
        KfSent(msgid, open_kfid, external_userid, msgtype, _content(msgtype, body), world.now(), True)
    )
    return msgid


def trans_state(
    world: World,
    corp: CorpState,
    *,
    open_kfid: str,
    external_userid: str,
    service_state: int,
    servicer_userid: str,
) -> str:
    """``service_state/trans``: move a session; answers a ``msg_code`` on entering 2 or 3 and on 4."""
    session = session_for(corp, open_kfid, external_userid)
    if service_state not in (0, 1, 2, 3, 4):
        raise ApiError(INVALID_ARGS, f"invalid service_state {service_state}")
    if service_state == 3 and servicer_userid not in corp.config.staff:
        raise ApiError(WECOM_USERID_NOT_FOUND, f"servicer_userid {servicer_userid!r} is not a receptionist")
    if session.state == 4 and service_state != 4:
        raise ApiError(KF_WRONG_STATE, "the session has ended; it restarts when the customer writes")
    previous = session.state
    session.state = service_state
    session.servicer_userid = servicer_userid if service_state == 3 else ""
    now = world.now()
    if service_state == 4 or (service_state in (2, 3) and previous not in (2, 3)):
        code = world.ids.hex("msg-code")
        ttl = WELCOME_CODE_TTL if service_state == 4 else SESSION_CODE_TTL
        corp.event_codes[code] = (open_kfid, external_userid, now + ttl)
        return code
    return ""


def upgrade_service(
    world: World,
    corp: CorpState,
    *,
    open_kfid: str,
    external_userid: str,
    kind: int,
    userid: str,
    chat_id: str,
) -> None:
    """``customer/upgrade_service``: offer the customer a staff member (1) or a group chat (2).

    Offered a staff member, the simulated customer adds them a minute later, most of the time.
    """
    session_for(corp, open_kfid, external_userid)
    if kind == 1:
        if userid not in corp.config.staff:
            raise ApiError(WECOM_USERID_NOT_FOUND, f"userid {userid!r} not found")
        customer = corp.customers[external_userid]
        if world.reaction_rng.random() < 0.7:
            world.later(
                CUSTOMER_ADDS_STAFF_AFTER,
                lambda: add_external_contact(
                    world,
                    corp,
                    userid=userid,
                    person=customer.person,
                    external_userid=external_userid,
                    add_way=0,
                ),
            )
    elif kind == 2:
        if not chat_id:
            raise ApiError(INVALID_ARGS, "groupchat.chat_id is required")
    else:
        raise ApiError(INVALID_ARGS, "type must be 1 (member) or 2 (groupchat)")


def kf_link(world: World, corp: CorpState, open_kfid: str, scene: str) -> str:
    """``kf/add_contact_way``: the link that opens a chat with the kf account."""
    _require_kf(corp, open_kfid)
    url = f"https://work.weixin.qq.com/kfid/kfc{world.ids.hex('kf-link', 18)}"
    return f"{url}?enc_scene=ENC{world.ids.hex('kf-scene', 24)}" if scene else url


# -- 客户联系 -------------------------------------------------------------------------------------


def add_contact_way(
    world: World,
    corp: CorpState,
    *,
    type: int,
    scene: int,
    state: str,
    users: list[str],
    remark: str,
    skip_verify: bool,
) -> ContactWay:
    """``externalcontact/add_contact_way``: a 联系我 QR code for one (type 1) or several (2) staff."""
    if type not in (1, 2) or scene not in (1, 2):
        raise ApiError(INVALID_ARGS, "type and scene must be 1 or 2")
    if len(state) > 30:
        raise ApiError(INVALID_ARGS, "state is longer than 30 characters")
    if not users or (type == 1 and len(users) != 1):
        raise ApiError(INVALID_ARGS, "type 1 takes exactly one user")
    unknown = [u for u in users if u not in corp.config.staff]
    if unknown:
        raise ApiError(WECOM_USERID_NOT_FOUND, f"userid not found: {', '.join(unknown)}")
    config_id = world.ids.hex("config-id")
    way = ContactWay(
        config_id=config_id,
        type=type,
        scene=scene,
        state=state,
        users=list(users),
        qr_code=f"https://wework.qpic.cn/wwpic3az/{world.ids.hex('qr', 24)}/0",
        remark=remark,
        skip_verify=skip_verify,
        create_time=world.now(),
    )
    corp.contact_ways[config_id] = way
    return way


def add_external_contact(
    world: World,
    corp: CorpState,
    *,
    userid: str,
    person: Person,
    state: str = "",
    external_userid: str | None = None,
    add_way: int = 1,
) -> ExternalContact:
    """A customer adds staff member ``userid``: the ``change_external_contact`` callback follows."""
    external_userid = external_userid or world.ids.external_userid()
    contact = corp.contacts.get(external_userid)
    if contact is None:
        contact = corp.contacts[external_userid] = ExternalContact(
            external_userid=external_userid, person=person
        )
    now = world.now()
    contact.follow_users.append(
        FollowUser(userid=userid, remark="", createtime=now, state=state, add_way=add_way)
    )
    fields: dict[str, str | int] = {
        "ToUserName": corp.config.corpid,
        "FromUserName": "sys",
        "CreateTime": now,
        "MsgType": "event",
        "Event": "change_external_contact",
        "ChangeType": "add_external_contact",
        "UserID": userid,
        "ExternalUserID": external_userid,
        "State": state,
        "WelcomeCode": world.ids.hex("contact-welcome"),
    }
    world.push_wecom(corp, fields, ref=external_userid)
    return contact


def get_external_contact(corp: CorpState, external_userid: str) -> ExternalContact:
    contact = corp.contacts.get(external_userid)
    if contact is None:
        raise ApiError(EXTERNAL_CONTACT_NOT_FOUND, "not external contact")
    return contact
