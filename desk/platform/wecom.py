"""Async client of a WeCom corp's API: 微信客服 (kf) and 客户联系 (spec §6B, §7).

Same error and retry policy as the Channels client (:mod:`desk.platform.calls`), with WeCom's
token errcodes (40014 invalid, 42001 expired, 41001 missing — 40001 is a wrong *secret* on
WeCom, not a stale token). Anything the customer would see twice — a message, a recommended
contact — is not repeated after an unknown outcome: WeCom documents no de-duplication for it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import msgspec

from desk.platform.calls import ApiCaller, RetryPolicy, Sleep, reply_as
from desk.platform.errors import CredentialError, PlatformUnavailableError
from desk.platform.tokens import TokenOutcome, TokenRefresher, TokenReply, TokenStore, token_key
from desk.platform.wecom_types import (
    AddContactWayResult,
    ExternalContactDetail,
    KfAccount,
    KfCustomerBatch,
    KfMessage,
    ServiceStateInfo,
    SyncMsgPage,
    SyncMsgResult,
)
from desk.platform.wire import WireDecodeError, convert_reply

__all__ = ["WECOM_BUSY_ERRCODES", "WECOM_TOKEN_ERRCODES", "WeComClient", "with_scene_param"]

log = logging.getLogger(__name__)

T = TypeVar("T")

WECOM_TOKEN_ERRCODES = frozenset({40014, 42001, 41001})
WECOM_BUSY_ERRCODES = frozenset({-1})

MAX_SYNC_LIMIT = 1000


def with_scene_param(url: str, scene_param: str) -> str:
    """A kf contact link carrying ``scene_param`` (returned in ``enter_session``), URL-encoded."""
    return f"{url}&scene_param={quote(scene_param, safe='')}"


class _MsgIdReply(msgspec.Struct):
    msgid: str = ""


class _MsgCodeReply(msgspec.Struct):
    msg_code: str = ""


class _UrlReply(msgspec.Struct):
    url: str = ""


class _AccountListReply(msgspec.Struct):
    account_list: list[KfAccount] = []


class _SyncMsgEnvelope(msgspec.Struct):
    next_cursor: str = ""
    has_more: int = 0


class WeComClient:
    """One WeCom corp, called with the secret of the app that may use kf / contacts.

    Args:
        corpid, secret: the corp id and the app's secret.
        http: the caller's shared ``httpx.AsyncClient``.
        tokens: the shared token cache (memory or Redis).
        base_url: the API host (the real one, or the simulator's).
        retry, sleep, timeout, clock, on_token_fetch: as for
            :class:`~desk.platform.channels.ChannelsClient`.
    """

    def __init__(
        self,
        corpid: str,
        secret: str,
        *,
        http: httpx.AsyncClient,
        tokens: TokenStore,
        base_url: str = "https://qyapi.weixin.qq.com",
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        timeout: float | None = None,
        clock: Callable[[], float] = time.time,
        on_token_fetch: TokenOutcome | None = None,
    ) -> None:
        self.corpid = corpid
        self._secret = secret
        self.tokens = TokenRefresher(
            tokens,
            token_key("wecom", corpid, secret),
            self._fetch_token,
            clock=clock,
            on_fetch=on_token_fetch,
        )
        self._caller = ApiCaller(
            http=http,
            base_url=base_url,
            tokens=self.tokens,
            token_errcodes=WECOM_TOKEN_ERRCODES,
            busy_errcodes=WECOM_BUSY_ERRCODES,
            retry=retry or RetryPolicy(),
            sleep=sleep,
            timeout=timeout,
        )

    async def check_credentials(self) -> None:
        """Call ``gettoken`` now: returns when WeCom accepts the corpid and secret.

        Raises:
            CredentialError: WeCom refused them (wrong corpid or secret, IP not allowed…).
            PlatformUnavailableError: no usable answer.
        """
        await self.tokens.verify()

    # -- plumbing ---------------------------------------------------------------------------

    async def _fetch_token(self, refused: str | None) -> tuple[str, int]:
        # gettoken returns the current token until it expires; a refusal cannot change that.
        params = {"corpid": self.corpid, "corpsecret": self._secret}
        reply = await self._caller.call(
            "GET",
            "cgi-bin/gettoken",
            params=params,
            idempotent=True,
            with_token=False,
            refused=CredentialError,
        )
        token = reply_as(reply, TokenReply, "cgi-bin/gettoken")
        return token.access_token, token.expires_in

    async def _post(self, path: str, body: Mapping[str, Any], *, idempotent: bool = True) -> dict[str, Any]:
        return await self._caller.call("POST", f"cgi-bin/{path}", json=body, idempotent=idempotent)

    async def _post_as(
        self, path: str, body: Mapping[str, Any], type_: type[T], *, idempotent: bool = True
    ) -> T:
        return reply_as(await self._post(path, body, idempotent=idempotent), type_, f"cgi-bin/{path}")

    # -- kf messages ------------------------------------------------------------------------

    async def sync_msg(
        self,
        *,
        cursor: str = "",
        token: str = "",
        open_kfid: str = "",
        limit: int = MAX_SYNC_LIMIT,
        voice_format: int = 0,
    ) -> SyncMsgPage:
        """One page of kf messages after ``cursor`` (``kf/sync_msg``).

        Pass the ``Token`` of the ``kf_msg_or_event`` callback (valid 10 minutes) — without it
        the call is strictly rate-limited. A message that does not fit its Struct is kept with
        its ``msgtype`` and ``raw`` item rather than failing the page: otherwise one odd message
        would stop the cursor for good.
        """
        if not 1 <= limit <= MAX_SYNC_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_SYNC_LIMIT}")
        body: dict[str, Any] = {"cursor": cursor, "limit": limit, "voice_format": voice_format}
        if token:
            body["token"] = token
        if open_kfid:
            body["open_kfid"] = open_kfid
        reply = await self._post("kf/sync_msg", body)
        envelope = reply_as(reply, _SyncMsgEnvelope, "cgi-bin/kf/sync_msg")
        items = reply.get("msg_list") or []
        if not isinstance(items, list):
            raise PlatformUnavailableError("cgi-bin/kf/sync_msg", "msg_list is not a list")
        messages = [_kf_message(item) for item in items]
        return SyncMsgPage(next_cursor=envelope.next_cursor, has_more=envelope.has_more, msg_list=messages)

    async def sync_all(
        self,
        *,
        cursor: str = "",
        token: str = "",
        open_kfid: str = "",
        limit: int = MAX_SYNC_LIMIT,
        max_pages: int = 50,
    ) -> SyncMsgResult:
        """Every message after ``cursor``: pages are read while ``has_more`` is 1, even when a page
        is empty (WeCom can return an empty page that is not the last).

        Stops after ``max_pages`` so one busy account cannot hold a worker forever; the result
        then says ``has_more`` and its ``next_cursor`` continues where it stopped.
        """
        messages: list[KfMessage] = []
        for _ in range(max_pages):
            page = await self.sync_msg(cursor=cursor, token=token, open_kfid=open_kfid, limit=limit)
            messages.extend(page.msg_list)
            cursor = page.next_cursor or cursor
            if page.has_more != 1:
                return SyncMsgResult(msg_list=messages, next_cursor=cursor, has_more=False)
        return SyncMsgResult(msg_list=messages, next_cursor=cursor, has_more=True)

    async def send_msg(
        self,
        touser: str,
        open_kfid: str,
        msgtype: str,
        content: Mapping[str, Any] | msgspec.Struct,
        *,
        msgid: str | None = None,
    ) -> str:
        """Send a message to a kf customer (``kf/send_msg``); returns its ``msgid``.

        Only while the session is in state 0/1 (else 95018) and at most five messages within
        48 hours of the customer's last message. ``msgid`` (≤32 of ``[0-9a-zA-Z_-]``) names the
        message; WeCom echoes it. Not repeated after an unknown outcome (the customer could get it
        twice): the caller decides, e.g. after checking ``msg_send_fail`` events.
        """
        body: dict[str, Any] = {"touser": touser, "open_kfid": open_kfid, "msgtype": msgtype}
        body[msgtype] = _builtins(content)
        if msgid is not None:
            body["msgid"] = msgid
        return (await self._post_as("kf/send_msg", body, _MsgIdReply, idempotent=False)).msgid

    async def send_text(self, touser: str, open_kfid: str, content: str, *, msgid: str | None = None) -> str:
        """Send a text to a kf customer (see :meth:`send_msg`)."""
        return await self.send_msg(touser, open_kfid, "text", {"content": content}, msgid=msgid)

    async def send_msg_on_event(
        self,
        code: str,
        msgtype: str,
        content: Mapping[str, Any] | msgspec.Struct,
        *,
        msgid: str | None = None,
    ) -> str:
        """Answer an event with its ``code`` (a welcome, a queue notice…; ``kf/send_msg_on_event``).

        One message per code; a welcome code is valid for 20 seconds. Not repeated after an
        unknown outcome: the code is single-use, so a repeat could only fail.
        """
        body: dict[str, Any] = {"code": code, "msgtype": msgtype, msgtype: _builtins(content)}
        if msgid is not None:
            body["msgid"] = msgid
        return (await self._post_as("kf/send_msg_on_event", body, _MsgIdReply, idempotent=False)).msgid

    async def service_state(self, open_kfid: str, external_userid: str) -> ServiceStateInfo:
        """The session's state and servicer (``kf/service_state/get``)."""
        body = {"open_kfid": open_kfid, "external_userid": external_userid}
        return await self._post_as("kf/service_state/get", body, ServiceStateInfo)

    async def trans_service_state(
        self,
        open_kfid: str,
        external_userid: str,
        service_state: int,
        *,
        servicer_userid: str | None = None,
    ) -> str:
        """Move the session to ``service_state`` (``kf/service_state/trans``); returns the
        ``msg_code`` WeCom gives for a first move to queue/human and for ending ("" otherwise).
        State 3 needs the ``servicer_userid`` of a servicer who is receiving."""
        body: dict[str, Any] = {
            "open_kfid": open_kfid,
            "external_userid": external_userid,
            "service_state": int(service_state),
        }
        if servicer_userid is not None:
            body["servicer_userid"] = servicer_userid
        return (await self._post_as("kf/service_state/trans", body, _MsgCodeReply, idempotent=False)).msg_code

    async def upgrade_service(
        self,
        open_kfid: str,
        external_userid: str,
        *,
        userid: str | None = None,
        chat_id: str | None = None,
        wording: str = "",
    ) -> None:
        """Recommend a staff member (``userid``) or a group chat (``chat_id``) to the customer
        (``kf/customer/upgrade_service``), with an optional ``wording``."""
        if (userid is None) == (chat_id is None):
            raise ValueError("upgrade_service needs exactly one of userid or chat_id")
        body: dict[str, Any] = {"open_kfid": open_kfid, "external_userid": external_userid}
        if userid is not None:
            body |= {"type": 1, "member": {"userid": userid, "wording": wording}}
        else:
            body |= {"type": 2, "groupchat": {"chat_id": chat_id, "wording": wording}}
        await self._post("kf/customer/upgrade_service", body, idempotent=False)  # the customer sees a card

    async def customer_batchget(
        self, external_userids: Sequence[str], *, need_enter_session_context: bool = True
    ) -> KfCustomerBatch:
        """Nicknames, avatars and unionids of kf customers (``kf/customer/batchget``, ≤100 ids)."""
        body = {
            "external_userid_list": list(external_userids),
            "need_enter_session_context": int(need_enter_session_context),
        }
        return await self._post_as("kf/customer/batchget", body, KfCustomerBatch)

    async def add_kf_contact_way(self, open_kfid: str, scene: str = "") -> str:
        """A link that opens a chat with the kf account (``kf/add_contact_way``); add a
        ``scene_param`` with :func:`with_scene_param`. Calling again returns an equivalent link."""
        body = {"open_kfid": open_kfid, "scene": scene}
        return (await self._post_as("kf/add_contact_way", body, _UrlReply)).url

    async def list_kf_accounts(self, *, offset: int = 0, limit: int = 100) -> list[KfAccount]:
        """The corp's kf accounts (``kf/account/list``)."""
        body = {"offset": offset, "limit": limit}
        return (await self._post_as("kf/account/list", body, _AccountListReply)).account_list

    # -- 客户联系 (§7) ------------------------------------------------------------------------

    async def add_contact_way(
        self,
        *,
        user: Sequence[str],
        state: str = "",
        type: int = 1,  # the platform's field name
        scene: int = 2,
        skip_verify: bool = True,
        remark: str = "",
        party: Sequence[int] = (),
        is_temp: bool = False,
    ) -> AddContactWayResult:
        """A "联系我" QR code for staff (``externalcontact/add_contact_way``).

        ``type`` 1 one member / 2 several; ``scene`` 2 QR code. ``state`` (≤30 characters) comes
        back in the add event and in ``follow_user[].state``: desk puts its hand-off reference
        there. Not repeated after an unknown outcome (each call makes a new entry).
        """
        if len(state) > 30:
            raise ValueError("state is at most 30 characters")
        body: dict[str, Any] = {
            "type": type,
            "scene": scene,
            "skip_verify": skip_verify,
            "user": list(user),
        }
        if state:
            body["state"] = state
        if remark:
            body["remark"] = remark
        if party:
            body["party"] = list(party)
        if is_temp:
            body["is_temp"] = True
        return await self._post_as(
            "externalcontact/add_contact_way", body, AddContactWayResult, idempotent=False
        )

    async def get_external_contact(self, external_userid: str, *, cursor: str = "") -> ExternalContactDetail:
        """A customer's profile and the staff who have them (``externalcontact/get``)."""
        params = {"external_userid": external_userid}
        if cursor:
            params["cursor"] = cursor
        reply = await self._caller.call("GET", "cgi-bin/externalcontact/get", params=params, idempotent=True)
        return reply_as(reply, ExternalContactDetail, "cgi-bin/externalcontact/get")


def _builtins(content: Mapping[str, Any] | msgspec.Struct) -> Any:
    return msgspec.to_builtins(content) if isinstance(content, msgspec.Struct) else dict(content)


def _kf_message(item: Any) -> KfMessage:
    if not isinstance(item, dict):
        log.warning("sync_msg returned a non-object message: %r", item)
        return KfMessage(raw={"value": item})
    try:
        message = convert_reply(item, KfMessage)
    except WireDecodeError as exc:
        # Keep what identifies the message; the raw item holds the rest.
        log.warning("kf message %r does not match its type: %s", item.get("msgid"), exc)
        return KfMessage(
            msgid=str(item.get("msgid", "")),
            msgtype=str(item.get("msgtype", "")),
            raw=item,
        )
    return msgspec.structs.replace(message, raw=item)
