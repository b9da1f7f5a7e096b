"""The errcodes the simulated platform answers with, and the exception that carries one.

Codes marked [U] are not documented for this API (spec §1, §3, §6): the simulator needs *some*
code for the rule, so it uses the one the WeChat platform uses for the same rule elsewhere. A
client should treat them as opaque platform errors, not branch on their exact value.
"""

from __future__ import annotations

__all__ = [
    "ADDRESS_NOT_FOUND",
    "AFTERSALE_BAD_ID",
    "AFTERSALE_LIST_WINDOW",
    "AFTERSALE_NEGOTIATE_FIRST",
    "AFTERSALE_NOT_FOUND",
    "AFTERSALE_REFUND_TOO_OFTEN",
    "AFTERSALE_RETURN_ADDRESS_INVALID",
    "AFTERSALE_RETURN_ADDRESS_MISSING",
    "AFTERSALE_WRONG_STATUS",
    "BAD_JSON",
    "BUSY",
    "COMMKF_INVALID_OPENID",
    "COMMKF_MEDIA_TOO_LARGE",
    "COMMKF_REPLY_LIMIT",
    "COMMKF_REPLY_WINDOW_CLOSED",
    "DAILY_QUOTA",
    "EXTERNAL_CONTACT_NOT_FOUND",
    "INVALID_APPID",
    "INVALID_APPSECRET",
    "INVALID_ARGS",
    "INVALID_CREDENTIAL",
    "INVALID_TOKEN",
    "KF_BAD_OPEN_KFID",
    "KF_INVALID_CODE",
    "KF_INVALID_CURSOR",
    "KF_INVALID_MSG_TOKEN",
    "KF_NOT_FOUND",
    "KF_WRONG_STATE",
    "MISSING_TOKEN",
    "ORDER_NOT_FOUND",
    "ORDER_WRONG_STATUS",
    "TOKEN_EXPIRED",
    "UNKNOWN_API",
    "WECOM_INVALID_CORPID",
    "WECOM_USERID_NOT_FOUND",
    "ApiError",
]

# §1 — the envelope and tokens [V]
BUSY = -1
INVALID_CREDENTIAL = 40001
INVALID_APPID = 40013
INVALID_APPSECRET = 40125
"""What the token endpoints answer today for a wrong AppSecret (older answers said 40001)."""
DAILY_QUOTA = 45009
INVALID_TOKEN = 40014
MISSING_TOKEN = 41001
TOKEN_EXPIRED = 42001
INVALID_ARGS = 40097
BAD_JSON = 47001
UNKNOWN_API = 48001
"""api unauthorized — what the platform answers for a path the caller may not use [V code]."""
WECOM_INVALID_CORPID = 40013

# §2 — orders [U]: the documents give no codes for these, so they share the list's generic one.
ORDER_NOT_FOUND = 10010001
ORDER_WRONG_STATUS = 10010002

# §3 — after-sales [V]
AFTERSALE_BAD_ID = 10020000
AFTERSALE_WRONG_STATUS = 10020001
AFTERSALE_LIST_WINDOW = 10020004
AFTERSALE_NOT_FOUND = 10021050
AFTERSALE_REFUND_TOO_OFTEN = 10021059
AFTERSALE_RETURN_ADDRESS_MISSING = 10021060
AFTERSALE_RETURN_ADDRESS_INVALID = 10021062
AFTERSALE_NEGOTIATE_FIRST = 10021068
"""Rejecting before negotiating, where the platform asks for a negotiation first."""

# §4 — merchant addresses [U]
ADDRESS_NOT_FOUND = 10021062

# §6A — the store's own customer service (commkf) [U]: the official-account customer-service
# API enforces the same "48 h / 5 replies" rule with these two codes.
COMMKF_REPLY_WINDOW_CLOSED = 45015
COMMKF_REPLY_LIMIT = 45047
COMMKF_INVALID_OPENID = 40003
COMMKF_MEDIA_TOO_LARGE = 40006

# §6B — WeCom kf [S]; 95007 (msg token) and 40029 (event code) [U]
KF_BAD_OPEN_KFID = 95000
KF_NOT_FOUND = 95004
KF_INVALID_MSG_TOKEN = 95007
KF_WRONG_STATE = 95018
KF_INVALID_CODE = 40029
KF_INVALID_CURSOR = 40097

# §7 — WeCom contacts [V codes from the WeCom error list]
WECOM_USERID_NOT_FOUND = 60111
EXTERNAL_CONTACT_NOT_FOUND = 84061


class ApiError(Exception):
    """A call the platform refuses: answered as ``{"errcode": code, "errmsg": "… rid: …"}``."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"{errcode} {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
