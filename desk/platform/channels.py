"""Async client of one WeChat Store's API (``channels/ec``, spec §1–§4, §6A).

Every call goes through :class:`~desk.platform.calls.ApiCaller`: the errcode envelope is checked
(typed errors with ``errcode``, ``errmsg`` and ``rid``), a refused token is refreshed once, "busy"
answers are retried with backoff, and network failures are retried only where repeating the call
is harmless — never for accepting or rejecting an after-sale, where money may already have moved.

Listing is by time window, and the platform caps windows (orders 7 days, after-sales 24 hours):
the ``iter_*_ids`` methods split any range into allowed windows and follow ``next_key`` paging,
yielding each id once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import httpx
import msgspec

from desk.platform.calls import ApiCaller, RetryPolicy, Sleep, reply_as
from desk.platform.channels_types import (
    AddressDetail,
    AddressInfo,
    AfterSaleIdPage,
    AfterSaleReason,
    ChannelsAfterSale,
    ChannelsOrder,
    OrderIdPage,
    OrderSearchCondition,
    RejectReason,
    SensitiveInfo,
)
from desk.platform.errors import CredentialError, PlatformUnavailableError
from desk.platform.tokens import TokenOutcome, TokenRefresher, TokenReply, TokenStore, token_key

__all__ = [
    "AFTERSALE_WINDOW_S",
    "CHANNELS_BUSY_ERRCODES",
    "CHANNELS_TOKEN_ERRCODES",
    "ORDER_WINDOW_S",
    "ChannelsClient",
    "split_windows",
]

T = TypeVar("T")

CHANNELS_TOKEN_ERRCODES = frozenset({40001, 40014, 42001, 41001})
"""Invalid / not-latest credential, invalid token, expired, missing: refresh and retry once."""
CHANNELS_BUSY_ERRCODES = frozenset({-1, 10021044})
"""System busy; after-sale system busy. Nothing was done: retry after a pause."""

ORDER_WINDOW_S = 7 * 24 * 3600
AFTERSALE_WINDOW_S = 24 * 3600
MAX_PAGE_SIZE = 100


def split_windows(start: int, end: int, width: int) -> list[tuple[int, int]]:
    """``[start, end]`` cut into consecutive windows at most ``width`` seconds wide.

    Neighbouring windows share their boundary second: the platform does not document whether
    ranges are inclusive, and an id seen twice is harmless where one missed is not.
    """
    if end < start:
        raise ValueError(f"time range ends ({end}) before it starts ({start})")
    windows = []
    lo = start
    while True:
        hi = min(lo + width, end)
        windows.append((lo, hi))
        if hi >= end:
            return windows
        lo = hi


class _AddressIdReply(msgspec.Struct):
    address_id: str = ""


class _AddressIdListReply(msgspec.Struct):
    address_id_list: list[str] = []


class _AddressDetailReply(msgspec.Struct):
    address_detail: AddressDetail = msgspec.field(default_factory=AddressDetail)


class _OrderReply(msgspec.Struct):
    order: ChannelsOrder


class _AfterSaleReply(msgspec.Struct):
    after_sale_order: ChannelsAfterSale


class _ReasonsReply(msgspec.Struct):
    reason_list: list[AfterSaleReason] = []


class _RejectReasonsReply(msgspec.Struct):
    # The documentation says ``reason_list``; the live API was reported to send
    # ``reject_reason_list``. Either is accepted.
    reject_reason_list: list[RejectReason] | None = None
    reason_list: list[RejectReason] | None = None


class _MsgIdReply(msgspec.Struct):
    msg_id: str = ""


class _CosUrlReply(msgspec.Struct):
    cos_url: str = ""


class ChannelsClient:
    """One WeChat Store, called with its own appid and secret.

    Args:
        appid, secret: the store's credentials.
        http: the caller's shared ``httpx.AsyncClient``.
        tokens: the shared token cache (memory or Redis).
        base_url: the API host (the real one, or the simulator's).
        stable_token: fetch tokens with ``POST /cgi-bin/stable_token`` (the default: the platform
            keeps it apart from ``/cgi-bin/token``, and asking again does not invalidate it);
            False uses ``GET /cgi-bin/token``, where every call retires the previous token.
        retry: retry limits and delays; ``sleep``: how to wait between retries (tests).
        timeout: seconds per request; ``None`` keeps the ``http`` client's timeouts.
        clock: the current epoch time, for token expiry and open-ended ranges (tests pass their own).
        on_token_fetch: told how each call of the token endpoint ended (see
            :data:`~desk.platform.tokens.TokenOutcome`).
    """

    def __init__(
        self,
        appid: str,
        secret: str,
        *,
        http: httpx.AsyncClient,
        tokens: TokenStore,
        base_url: str = "https://api.weixin.qq.com",
        stable_token: bool = True,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        timeout: float | None = None,
        clock: Callable[[], float] = time.time,
        on_token_fetch: TokenOutcome | None = None,
    ) -> None:
        self.appid = appid
        self._secret = secret
        self._stable_token = stable_token
        self._clock = clock
        self.tokens = TokenRefresher(
            tokens,
            token_key("channels", appid, secret),
            self._fetch_token,
            clock=clock,
            on_fetch=on_token_fetch,
        )
        self._caller = ApiCaller(
            http=http,
            base_url=base_url,
            tokens=self.tokens,
            token_errcodes=CHANNELS_TOKEN_ERRCODES,
            busy_errcodes=CHANNELS_BUSY_ERRCODES,
            retry=retry or RetryPolicy(),
            sleep=sleep,
            timeout=timeout,
        )

    async def check_credentials(self) -> None:
        """Call the token endpoint now: returns when the platform accepts the appid and secret.

        Raises:
            CredentialError: the platform refused them (wrong appid or secret, IP not allowed…).
            PlatformUnavailableError: no usable answer.
        """
        await self.tokens.verify()

    # -- plumbing ---------------------------------------------------------------------------

    async def _fetch_token(self, refused: str | None) -> tuple[str, int]:
        if not self._stable_token:
            params = {"grant_type": "client_credential", "appid": self.appid, "secret": self._secret}
            reply = await self._caller.call(
                "GET",
                "cgi-bin/token",
                params=params,
                idempotent=True,
                with_token=False,
                refused=CredentialError,
            )
            token = reply_as(reply, TokenReply, "cgi-bin/token")
            return token.access_token, token.expires_in
        # A refused stable token is usually already replaced (renewed, or forced by another
        # process): ask normally first, and force only if the platform still hands out the refused
        # one — forcing is limited to 20 a day and retires the token every other process holds.
        token = await self._stable_token_call(force=False)
        if refused is not None and token.access_token == refused:
            token = await self._stable_token_call(force=True)
        return token.access_token, token.expires_in

    async def _stable_token_call(self, *, force: bool) -> TokenReply:
        body = {
            "grant_type": "client_credential",
            "appid": self.appid,
            "secret": self._secret,
            "force_refresh": force,
        }
        reply = await self._caller.call(
            "POST",
            "cgi-bin/stable_token",
            json=body,
            idempotent=True,
            with_token=False,
            refused=CredentialError,
        )
        return reply_as(reply, TokenReply, "cgi-bin/stable_token")

    async def _post(self, path: str, body: dict[str, Any], *, idempotent: bool = True) -> dict[str, Any]:
        return await self._caller.call("POST", f"channels/ec/{path}", json=body, idempotent=idempotent)

    async def _post_as(
        self, path: str, body: dict[str, Any], type_: type[T], *, idempotent: bool = True
    ) -> T:
        reply = await self._post(path, body, idempotent=idempotent)
        return reply_as(reply, type_, f"channels/ec/{path}")

    # -- orders (§2) ------------------------------------------------------------------------

    async def get_order(self, order_id: str, *, encode_sensitive_info: bool = False) -> ChannelsOrder:
        """The order with its lines, amounts, delivery and after-sale references (``order/get``)."""
        body: dict[str, Any] = {"order_id": order_id}
        if encode_sensitive_info:
            body["encode_sensitive_info"] = True
        return (await self._post_as("order/get", body, _OrderReply)).order

    def iter_order_ids(
        self,
        *,
        update_from: int | None = None,
        update_to: int | None = None,
        create_from: int | None = None,
        create_to: int | None = None,
        status: int | None = None,
        openid: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[str]:
        """Ids of the orders created or updated in a range (``order/list/get``), each once.

        Give exactly one range, by update time or by creation time; a missing end means now.
        The range is split into the platform's 7-day windows and each window is paged through.
        """
        field, start, end = self._one_range(update_from, update_to, create_from, create_to)
        _check_page_size(page_size)
        extra: dict[str, Any] = {"page_size": page_size}
        if status is not None:
            extra["status"] = status
        if openid:
            extra["openid"] = openid
        bodies = [
            {f"{field}_time_range": {"start_time": lo, "end_time": hi}, **extra}
            for lo, hi in split_windows(start, end, ORDER_WINDOW_S)
        ]
        return self._iter_ids("order/list/get", bodies, self._order_page)

    async def _order_page(self, path: str, body: dict[str, Any]) -> tuple[list[str], str, bool]:
        page = await self._post_as(path, body, OrderIdPage)
        return page.order_id_list, page.next_key, page.has_more

    def search_order_ids(
        self,
        condition: OrderSearchCondition,
        *,
        status: int | None = None,
        on_aftersale_order_exist: int | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[str]:
        """Ids of the orders matching ``condition`` (``order/search``), following ``next_key``."""
        _check_page_size(page_size)
        body: dict[str, Any] = {"search_condition": msgspec.to_builtins(condition), "page_size": page_size}
        if status is not None:
            body["status"] = status
        if on_aftersale_order_exist is not None:
            body["on_aftersale_order_exist"] = on_aftersale_order_exist
        return self._iter_ids("order/search", [body], self._order_page)

    async def decode_sensitive_info(self, order_id: str) -> SensitiveInfo:
        """The order's unmasked address and phone (``order/sensitiveinfo/decode``)."""
        return await self._post_as("order/sensitiveinfo/decode", {"order_id": order_id}, SensitiveInfo)

    async def accept_address_change(self, order_id: str) -> None:
        """Agree to the buyer's request to change the delivery address (``addressmodify/accept``)."""
        await self._post("order/addressmodify/accept", {"order_id": order_id}, idempotent=False)

    async def reject_address_change(self, order_id: str) -> None:
        """Refuse the buyer's request to change the delivery address (``addressmodify/reject``)."""
        await self._post("order/addressmodify/reject", {"order_id": order_id}, idempotent=False)

    async def update_order_address(self, order_id: str, address: AddressInfo) -> None:
        """Change an unshipped order's address; the buyer confirms it (``order/address/update``)."""
        body = {"order_id": order_id, "user_address": msgspec.to_builtins(address)}
        await self._post("order/address/update", body, idempotent=False)

    async def update_merchant_notes(self, order_id: str, merchant_notes: str) -> None:
        """Set the merchant's note on an order (``order/merchantnotes/update``); repeatable."""
        await self._post(
            "order/merchantnotes/update", {"order_id": order_id, "merchant_notes": merchant_notes}
        )

    # -- after-sales (§3) -------------------------------------------------------------------

    async def get_aftersale(self, after_sale_order_id: str) -> ChannelsAfterSale:
        """The after-sale request (``aftersale/getaftersaleorder``)."""
        body = {"after_sale_order_id": after_sale_order_id}
        return (await self._post_as("aftersale/getaftersaleorder", body, _AfterSaleReply)).after_sale_order

    def iter_aftersale_ids(
        self,
        *,
        update_from: int | None = None,
        update_to: int | None = None,
        create_from: int | None = None,
        create_to: int | None = None,
    ) -> AsyncIterator[str]:
        """Ids of the after-sales created or updated in a range (``getaftersalelist``), each once.

        Give exactly one range; a missing end means now. Split into the platform's 24-hour
        windows (a wider one is refused with 10020004) and paged through ``next_key``.
        """
        field, start, end = self._one_range(update_from, update_to, create_from, create_to)
        bodies = [
            {f"begin_{field}_time": lo, f"end_{field}_time": hi}
            for lo, hi in split_windows(start, end, AFTERSALE_WINDOW_S)
        ]
        return self._iter_ids("aftersale/getaftersalelist", bodies, self._aftersale_page)

    async def _aftersale_page(self, path: str, body: dict[str, Any]) -> tuple[list[str], str, bool]:
        page = await self._post_as(path, body, AfterSaleIdPage)
        return page.after_sale_order_id_list, page.next_key, page.has_more

    async def accept_aftersale(
        self,
        after_sale_order_id: str,
        *,
        address_id: str | None = None,
        accept_type: int | None = None,
    ) -> None:
        """Agree to an after-sale (``aftersale/acceptapply``).

        For a refund-only request this pays the buyer. For a return, the first acceptance agrees
        to the return (pass the return ``address_id``) and a second, after the goods arrive,
        refunds; ``accept_type`` (:class:`~desk.platform.channels_types.AcceptType`) forces the
        step. Not retried after a timeout: the refund may have gone through — re-read the
        after-sale before trying again.
        """
        body: dict[str, Any] = {"after_sale_order_id": after_sale_order_id}
        if address_id is not None:
            body["address_id"] = address_id
        if accept_type is not None:
            body["accept_type"] = int(accept_type)
        await self._post("aftersale/acceptapply", body, idempotent=False)

    async def reject_aftersale(
        self,
        after_sale_order_id: str,
        *,
        reject_reason_type: int,
        reject_reason: str | None = None,
    ) -> None:
        """Refuse an after-sale (``aftersale/rejectapply``) with a reason from
        :meth:`get_reject_reasons`. Some requests must be negotiated first (10021068).
        Not retried after a timeout, like :meth:`accept_aftersale`."""
        body: dict[str, Any] = {
            "after_sale_order_id": after_sale_order_id,
            "reject_reason_type": reject_reason_type,
        }
        if reject_reason is not None:
            body["reject_reason"] = reject_reason
        await self._post("aftersale/rejectapply", body, idempotent=False)

    async def get_reject_reasons(self) -> list[RejectReason]:
        """The reasons a merchant may reject with (``aftersale/rejectreason/get``)."""
        reply = await self._post_as("aftersale/rejectreason/get", {}, _RejectReasonsReply)
        if reply.reject_reason_list is not None:
            return reply.reject_reason_list
        return reply.reason_list or []

    async def get_aftersale_reasons(self) -> list[AfterSaleReason]:
        """Every reason a buyer may give for an after-sale (``aftersale/reason/get``)."""
        return (await self._post_as("aftersale/reason/get", {}, _ReasonsReply)).reason_list

    async def negotiate_aftersale(
        self,
        after_sale_order_id: str,
        *,
        merchant_update_type: int,
        update_reason_type: int,
        merchant_update_desc: str = "",
        type: int | None = None,  # the platform's field name
        amount: int | None = None,
        media_ids: Sequence[str] = (),
    ) -> None:
        """Negotiate with the buyer (协商, ``aftersale/merchantupdateaftersale``).

        ``merchant_update_type``: 1 agreed — invite the buyer to cancel, 2 ask for evidence,
        3 change the request (then ``type`` 1 refund / 2 return and ``amount`` in fen).
        """
        body: dict[str, Any] = {
            "after_sale_order_id": after_sale_order_id,
            "merchant_update_type": merchant_update_type,
            "update_reason_type": update_reason_type,
            "merchant_update_desc": merchant_update_desc,
            "media_ids": list(media_ids),
        }
        if type is not None:
            body["type"] = type
        if amount is not None:
            body["amount"] = amount
        await self._post("aftersale/merchantupdateaftersale", body, idempotent=False)

    # -- merchant addresses (§4) ------------------------------------------------------------

    async def add_address(self, address: AddressDetail) -> str:
        """Create a merchant address (``merchant/address/add``); returns its ``address_id``."""
        body = {"address_detail": msgspec.to_builtins(address)}
        reply = await self._post_as("merchant/address/add", body, _AddressIdReply, idempotent=False)
        return reply.address_id

    async def list_address_ids(self, *, offset: int = 0, limit: int = 100) -> list[str]:
        """Ids of the store's addresses (``merchant/address/list``)."""
        body = {"offset": offset, "limit": limit}
        return (await self._post_as("merchant/address/list", body, _AddressIdListReply)).address_id_list

    async def get_address(self, address_id: str) -> AddressDetail:
        """One merchant address (``merchant/address/get``)."""
        body = {"address_id": address_id}
        return (await self._post_as("merchant/address/get", body, _AddressDetailReply)).address_detail

    async def update_address(self, address: AddressDetail) -> None:
        """Replace a merchant address; ``address.address_id`` says which (``merchant/address/update``)."""
        if not address.address_id:
            raise ValueError("update_address needs address.address_id")
        await self._post("merchant/address/update", {"address_detail": msgspec.to_builtins(address)})

    async def delete_address(self, address_id: str) -> None:
        """Delete a merchant address (``merchant/address/delete``)."""
        # Not repeated after an unknown outcome: a second delete would fail with "not found".
        await self._post("merchant/address/delete", {"address_id": address_id}, idempotent=False)

    # -- buyer chat, the store's own CS API (§6A) -------------------------------------------

    async def send_text(self, open_id: str, content: str, *, request_id: str) -> str:
        """Send a text to a buyer (``commkf/sendmsg``); returns the platform's ``msg_id``.

        ``request_id`` makes a retried send a no-op on the platform: reuse it when repeating a
        send whose outcome is unknown.
        """
        return await self._send(open_id, request_id, "text", {"content": content})

    async def send_image(self, open_id: str, cos_url: str, *, request_id: str) -> str:
        """Send an image uploaded with :meth:`upload_media`."""
        return await self._send(open_id, request_id, "image", {"cos_url": cos_url})

    async def send_video(self, open_id: str, cos_url: str, *, request_id: str) -> str:
        """Send a video uploaded with :meth:`upload_media`."""
        return await self._send(open_id, request_id, "video", {"cos_url": cos_url})

    async def send_file(self, open_id: str, cos_url: str, *, request_id: str) -> str:
        """Send a file uploaded with :meth:`upload_media`."""
        return await self._send(open_id, request_id, "file", {"cos_url": cos_url})

    async def send_product_share(self, open_id: str, product_id: str, *, request_id: str) -> str:
        """Send a product card."""
        return await self._send(open_id, request_id, "product_share", {"product_id": product_id})

    async def send_order_share(self, open_id: str, order_id: str, *, request_id: str) -> str:
        """Send an order card."""
        return await self._send(open_id, request_id, "order_share", {"order_id": order_id})

    async def _send(self, open_id: str, request_id: str, msg_type: str, content: dict[str, str]) -> str:
        body = {"request_id": request_id, "open_id": open_id, "msg_type": msg_type, msg_type: content}
        # Idempotent: the platform de-duplicates by request_id, so a retry cannot send twice.
        return (await self._post_as("commkf/sendmsg", body, _MsgIdReply)).msg_id

    async def upload_media(
        self,
        open_id: str,
        msg_type: str,
        content: bytes,
        *,
        filename: str,
        content_type: str = "application/octet-stream",
    ) -> str:
        """Upload an image, video or file for a buyer (``commkf/cosupload``, ≤30 MB, kept 14
        days); returns the ``cos_url`` to send."""
        reply = await self._caller.call(
            "POST",
            "channels/ec/commkf/cosupload",
            files={"file": (filename, content, content_type)},
            data={"open_id": open_id, "msg_type": msg_type},
            idempotent=True,  # a second upload only leaves an unused copy
        )
        return reply_as(reply, _CosUrlReply, "channels/ec/commkf/cosupload").cos_url

    # -- listing ----------------------------------------------------------------------------

    def _one_range(
        self,
        update_from: int | None,
        update_to: int | None,
        create_from: int | None,
        create_to: int | None,
    ) -> tuple[str, int, int]:
        by_update = update_from is not None or update_to is not None
        by_create = create_from is not None or create_to is not None
        if by_update == by_create:
            raise ValueError("give exactly one time range: update_from/update_to or create_from/create_to")
        start, end = (update_from, update_to) if by_update else (create_from, create_to)
        if start is None:
            raise ValueError("a time range needs its start")
        return ("update" if by_update else "create"), start, int(self._clock()) if end is None else end

    async def _iter_ids(
        self,
        path: str,
        bodies: list[dict[str, Any]],
        page: Callable[[str, dict[str, Any]], Awaitable[tuple[list[str], str, bool]]],
    ) -> AsyncIterator[str]:
        """Page through each request body in turn, yielding every id once."""
        seen: set[str] = set()
        for body in bodies:
            next_key = ""
            while True:
                ids, new_key, has_more = await page(path, {**body, "next_key": next_key})
                for id_ in ids:
                    if id_ not in seen:
                        seen.add(id_)
                        yield id_
                if not has_more or not new_key:
                    break
                if new_key == next_key:
                    raise PlatformUnavailableError(path, "paging did not advance (same next_key twice)")
                next_key = new_key


def _check_page_size(page_size: int) -> None:
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
