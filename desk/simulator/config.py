"""The stores and WeCom corps a simulator plays, with the credentials the desk is configured with."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field

from desk.simulator import catalog, data

__all__ = ["SimCorp", "SimStore", "demo_corp", "demo_store"]


@dataclass(slots=True)
class SimStore:
    """One Channels store (视频号小店): its API credentials and its message-push settings.

    ``push_url`` is where the platform posts the store's events (None: the store has no push URL
    configured, so the platform drops them, as it does for real). ``gh_id`` is the store's
    original id, sent as ``ToUserName``; derived from the appid when not given. ``category`` is
    what it sells (``baby``, ``fashion``, ``outdoor`` … see :mod:`~desk.simulator.catalog`): read
    from the name when not given (萌宝母婴好物 sells baby goods), ``general`` if the name says nothing.
    """

    appid: str
    secret: str
    token: str
    aes_key: str
    push_url: str | None = None
    name: str = ""
    gh_id: str = ""
    unionid_bound: bool = True
    """Whether the store is bound to an Open Platform account, so orders carry ``unionid``."""
    category: str = ""

    def __post_init__(self) -> None:
        if not self.gh_id:
            self.gh_id = "gh_" + hashlib.sha1(self.appid.encode(), usedforsecurity=False).hexdigest()[:12]
        if not self.name:
            self.name = self.appid
        if not self.category:
            self.category = catalog.category_for_name(self.name)
        catalog.check_category(self.category)


@dataclass(slots=True)
class SimCorp:
    """One WeCom corp with 微信客服 accounts (``open_kfid``s) and staff for contact hand-off."""

    corpid: str
    secret: str
    token: str
    aes_key: str
    push_url: str | None = None
    kf_accounts: list[str] = field(default_factory=list)
    name: str = ""
    agent_id: str = "1000002"
    staff: list[str] = field(default_factory=lambda: ["zhangsan", "lisi", "wangwu"])
    kf_names: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name:
            self.name = self.corpid
        for n, open_kfid in enumerate(self.kf_accounts):
            self.kf_names.setdefault(open_kfid, f"{self.name}客服{n + 1}")


def _derived(seed: int, *parts: object) -> bytes:
    return hashlib.sha256(":".join(str(p) for p in (seed, *parts)).encode()).digest()


def _aes_key(raw: bytes) -> str:
    # 32 bytes → 44 characters of base64 with one "=": the EncodingAESKey is those 43 characters.
    return base64.b64encode(raw).decode()[:43]


def demo_store(n: int, *, push_url: str | None = None, seed: int = 1) -> SimStore:
    """The ``n``-th demo store (n ≥ 1): stable credentials and a shop-like name for a seed.

    ``desk demo`` and the tests configure the desk with the same values the simulator uses.
    """
    digest = _derived(seed, "store", n)
    return SimStore(
        appid="wx" + digest[:8].hex(),
        secret=digest[8:24].hex(),
        token="tok" + digest[24:32].hex(),
        aes_key=_aes_key(_derived(seed, "store-aes", n)),
        push_url=push_url,
        name=data.STORE_NAMES[(n - 1) % len(data.STORE_NAMES)],
    )


def demo_corp(n: int = 1, *, push_url: str | None = None, seed: int = 1, kf_accounts: int = 2) -> SimCorp:
    """The ``n``-th demo WeCom corp with ``kf_accounts`` 微信客服 accounts."""
    digest = _derived(seed, "corp", n)
    return SimCorp(
        corpid="ww" + digest[:8].hex(),
        secret=base64.urlsafe_b64encode(digest[8:32]).decode().rstrip("="),
        token="tok" + digest[:6].hex(),
        aes_key=_aes_key(_derived(seed, "corp-aes", n)),
        push_url=push_url,
        kf_accounts=["wk" + _derived(seed, "kf", n, k)[:15].hex()[:30] for k in range(kf_accounts)],
        name=data.CORP_NAMES[(n - 1) % len(data.CORP_NAMES)],
    )
