"""The WeCom API (``/cgi-bin/…`` with ``gettoken``): 微信客服 and 客户联系 (spec §6B, §7)."""

from __future__ import annotations

from typing import Any

import msgspec

from desk.simulator import kf
from desk.simulator.api import Call, Endpoint, Reply
from desk.simulator.errcodes import INVALID_ARGS, INVALID_CREDENTIAL, WECOM_INVALID_CORPID, ApiError
from desk.simulator.state import CorpState, KfMessage

__all__ = ["WECOM_ENDPOINTS"]


class SyncMsgRequest(msgspec.Struct, kw_only=True):
    cursor: str = ""
    token: str = ""
    limit: int = 1000
    voice_format: int = 0
    open_kfid: str = ""


class SendMsgRequest(msgspec.Struct, kw_only=True):
    touser: str
    open_kfid: str
    msgtype: str
    msgid: str = ""


class SendOnEventRequest(msgspec.Struct, kw_only=True):
    code: str
    msgtype: str
    msgid: str = ""


class SessionRequest(msgspec.Struct, kw_only=True):
    open_kfid: str
    external_userid: str


class TransRequest(msgspec.Struct, kw_only=True):
    open_kfid: str
    external_userid: str
    service_state: int
    servicer_userid: str = ""


class BatchGetRequest(msgspec.Struct, kw_only=True):
    external_userid_list: list[str]
    need_enter_session_context: int = 0


class UpgradeMember(msgspec.Struct, kw_only=True):
    userid: str
    wording: str = ""


class UpgradeGroupChat(msgspec.Struct, kw_only=True):
    chat_id: str
    wording: str = ""


class UpgradeRequest(msgspec.Struct, kw_only=True):
    open_kfid: str
    external_userid: str
    type: int
    member: UpgradeMember | None = None
    groupchat: UpgradeGroupChat | None = None


class KfLinkRequest(msgspec.Struct, kw_only=True):
    open_kfid: str
    scene: str = ""


class ContactWayRequest(msgspec.Struct, kw_only=True):
    type: int
    scene: int
    state: str = ""
    user: list[str] = msgspec.field(default_factory=list)
    party: list[int] = msgspec.field(default_factory=list)
    remark: str = ""
    skip_verify: bool = True
    style: int | None = None
    is_temp: bool = False


class ConfigIdRequest(msgspec.Struct, kw_only=True):
    config_id: str


def _corp(call: Call) -> CorpState:
    return call.world.corps[call.owner]


def _body(call: Call) -> dict[str, Any]:
    """The raw body for the message objects beside ``msgtype`` (``text``, ``msgmenu``, …)."""
    return call.decode(dict[str, Any])


def gettoken(call: Call) -> Reply:
    """``GET /cgi-bin/gettoken?corpid=…&corpsecret=…``"""
    corp = call.world.corps.get(call.query.get("corpid", ""))
    if corp is None:
        raise ApiError(WECOM_INVALID_CORPID, "invalid corpid")
    if call.query.get("corpsecret") != corp.config.secret:
        raise ApiError(INVALID_CREDENTIAL, "invalid credential")
    return {"access_token": call.tokens.wecom_token(corp.config.corpid), "expires_in": call.tokens.expires_in}


def _kf_message(message: KfMessage) -> dict[str, Any]:
    return {
        "msgid": message.msgid,
        "open_kfid": message.open_kfid,
        "external_userid": message.external_userid,
        "send_time": message.send_time,
        "origin": message.origin,
        "msgtype": message.msgtype,
        **message.body,
    }


def sync_msg(call: Call) -> Reply:
    req = call.decode(SyncMsgRequest)
    next_cursor, has_more, messages = kf.sync(
        call.world, _corp(call), cursor=req.cursor, token=req.token, limit=req.limit, open_kfid=req.open_kfid
    )
    return {"next_cursor": next_cursor, "has_more": has_more, "msg_list": [_kf_message(m) for m in messages]}


def send_msg(call: Call) -> Reply:
    req = call.decode(SendMsgRequest)
    msgid = kf.send_message(
        call.world,
        _corp(call),
        touser=req.touser,
        open_kfid=req.open_kfid,
        msgtype=req.msgtype,
        body=_body(call),
        msgid=req.msgid,
    )
    return {"msgid": msgid}


def send_msg_on_event(call: Call) -> Reply:
    req = call.decode(SendOnEventRequest)
    msgid = kf.send_on_event(
        call.world, _corp(call), code=req.code, msgtype=req.msgtype, body=_body(call), msgid=req.msgid
    )
    return {"msgid": msgid}


def service_state_get(call: Call) -> Reply:
    req = call.decode(SessionRequest)
    session = kf.session_for(_corp(call), req.open_kfid, req.external_userid)
    return {"service_state": session.state, "servicer_userid": session.servicer_userid}


def service_state_trans(call: Call) -> Reply:
    req = call.decode(TransRequest)
    code = kf.trans_state(
        call.world,
        _corp(call),
        open_kfid=req.open_kfid,
        external_userid=req.external_userid,
        service_state=req.service_state,
        servicer_userid=req.servicer_userid,
    )
    return {"msg_code": code} if code else {}


def customer_batchget(call: Call) -> Reply:
    req = call.decode(BatchGetRequest)
    corp = _corp(call)
    found, invalid = [], []
    for external_userid in req.external_userid_list:
        customer = corp.customers.get(external_userid)
        if customer is None:
            invalid.append(external_userid)
            continue
        person = customer.person
        entry: dict[str, Any] = {
            "external_userid": external_userid,
            "nickname": person.nickname,
            "avatar": f"https://wx.qlogo.cn/mmhead/{external_userid[-12:]}/0",
            "gender": person.gender,
            "unionid": person.unionid,
        }
        if req.need_enter_session_context:
            entry["enter_session_context"] = {
                "scene": "",
                "scene_param": customer.scene_param,
                "wechat_channels": {"nickname": corp.config.name, "scene": customer.scene},
            }
        found.append(entry)
    return {"customer_list": found, "invalid_external_userid": invalid}


def upgrade_service(call: Call) -> Reply:
    req = call.decode(UpgradeRequest)
    kf.upgrade_service(
        call.world,
        _corp(call),
        open_kfid=req.open_kfid,
        external_userid=req.external_userid,
        kind=req.type,
        userid=req.member.userid if req.member else "",
        chat_id=req.groupchat.chat_id if req.groupchat else "",
    )
    return {}


def kf_add_contact_way(call: Call) -> Reply:
    req = call.decode(KfLinkRequest)
    return {"url": kf.kf_link(call.world, _corp(call), req.open_kfid, req.scene)}


def kf_accounts(call: Call) -> Reply:
    corp = _corp(call)
    return {
        "account_list": [
            {"open_kfid": k, "name": corp.config.kf_names[k], "avatar": "https://wework.qpic.cn/wwhead/kf/0"}
            for k in corp.config.kf_accounts
        ]
    }


def add_contact_way(call: Call) -> Reply:
    req = call.decode(ContactWayRequest)
    way = kf.add_contact_way(
        call.world,
        _corp(call),
        type=req.type,
        scene=req.scene,
        state=req.state,
        users=req.user,
        remark=req.remark,
        skip_verify=req.skip_verify,
    )
    return {"config_id": way.config_id, "qr_code": way.qr_code}


def get_contact_way(call: Call) -> Reply:
    way = _corp(call).contact_ways.get(call.decode(ConfigIdRequest).config_id)
    if way is None:
        raise ApiError(INVALID_ARGS, "invalid config_id")
    return {
        "contact_way": {
            "config_id": way.config_id,
            "type": way.type,
            "scene": way.scene,
            "state": way.state,
            "user": way.users,
            "remark": way.remark,
            "skip_verify": way.skip_verify,
            "qr_code": way.qr_code,
        }
    }


def del_contact_way(call: Call) -> Reply:
    if _corp(call).contact_ways.pop(call.decode(ConfigIdRequest).config_id, None) is None:
        raise ApiError(INVALID_ARGS, "invalid config_id")
    return {}


def external_contact(call: Call) -> Reply:
    """``GET externalcontact/get?external_userid=…``"""
    contact = kf.get_external_contact(_corp(call), call.query.get("external_userid", ""))
    person = contact.person
    return {
        "external_contact": {
            "external_userid": contact.external_userid,
            "name": person.nickname,
            "avatar": f"https://wx.qlogo.cn/mmhead/{contact.external_userid[-12:]}/0",
            "type": 1,
            "gender": person.gender,
            "unionid": person.unionid,
        },
        "follow_user": [
            {
                "userid": f.userid,
                "remark": f.remark,
                "createtime": f.createtime,
                "tags": [],
                "state": f.state,
                "add_way": f.add_way,
                "oper_userid": contact.external_userid,
            }
            for f in contact.follow_users
        ],
        "next_cursor": "",
    }


WECOM_ENDPOINTS: dict[str, Endpoint] = {
    "gettoken": Endpoint(gettoken, auth="", methods=frozenset({"GET"})),
    "externalcontact/get": Endpoint(external_contact, auth="wecom", methods=frozenset({"GET"})),
    **{
        path: Endpoint(handler, auth="wecom")
        for path, handler in {
            "kf/sync_msg": sync_msg,
            "kf/send_msg": send_msg,
            "kf/send_msg_on_event": send_msg_on_event,
            "kf/service_state/get": service_state_get,
            "kf/service_state/trans": service_state_trans,
            "kf/customer/batchget": customer_batchget,
            "kf/customer/upgrade_service": upgrade_service,
            "kf/add_contact_way": kf_add_contact_way,
            "kf/account/list": kf_accounts,
            "externalcontact/add_contact_way": add_contact_way,
            "externalcontact/get_contact_way": get_contact_way,
            "externalcontact/del_contact_way": del_contact_way,
        }.items()
    },
}
