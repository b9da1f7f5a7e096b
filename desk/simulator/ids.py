"""Platform identifiers: 19-digit ids, openids, tokens — deterministic for a given seed.

Ids come from per-kind counters rather than the shared random stream, so an id never depends on
the order in which concurrent callers (the desk, the buyer page, a scenario) asked for one: the
n-th order of a seeded run always gets the same id. They grow with n, like the platform's.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import string

__all__ = ["IdFactory"]

_ALNUM = string.ascii_letters + string.digits
_OPENID_CHARS = _ALNUM + "-_"

# Leading digits per kind; the real platform's order ids start with 37, after-sales with 20.
_PREFIX = {
    "order": 37,
    "aftersale": 20,
    "address": 11,
    "commkf_msg": 73,
    "transaction": 42,
    "complaint": 30,
}


class IdFactory:
    """Every identifier the simulator hands out."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._counters: dict[str, itertools.count[int]] = {}

    def _next(self, kind: str) -> int:
        counter = self._counters.get(kind)
        if counter is None:
            counter = self._counters[kind] = itertools.count(1)
        return next(counter)

    def _digest(self, *parts: object) -> int:
        text = ":".join(str(p) for p in (self._seed, *parts))
        return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")

    def numeric(self, kind: str) -> str:
        """A 19-digit id of ``kind`` (order, aftersale, address, commkf_msg, transaction).

        Increasing with every call; the low digits carry a seed-dependent jitter so that ids
        of different runs and kinds do not line up.
        """
        n = self._next(kind)
        base = _PREFIX[kind] * 10**17 + (self._digest(kind) % 10**12) * 10**4
        return str(base + n * 9973 + self._digest(kind, n) % 9973)

    def product_id(self, store_index: int, n: int) -> str:
        """A 14-digit product id (SPU), like ``10000031486925``."""
        return str(10_000_000_000_000 + (self._digest("product", store_index, n) % 10**11))

    def sku_id(self, store_index: int, product: int, n: int) -> str:
        """A 10-digit SKU id."""
        return str(1_000_000_000 + self._digest("sku", store_index, product, n) % 10**9)

    def openid(self, appid: str) -> str:
        """A 28-character openid, distinct per store (openids are per app)."""
        n = self._next(f"openid:{appid}")
        return "o" + self._chars(_OPENID_CHARS, 27, "openid", appid, n)

    def unionid(self) -> str:
        """A 28-character unionid, the same person across every store of one Open Platform."""
        return "o" + self._chars(_OPENID_CHARS, 27, "unionid", self._next("unionid"))

    def external_userid(self) -> str:
        """A WeCom external_userid (``wm…``, 32 characters)."""
        return "wm" + self._chars(_ALNUM, 30, "external", self._next("external"))

    def msgid(self, corpid: str) -> str:
        """A WeCom kf message id."""
        return self._chars(_ALNUM, 24, "kfmsg", corpid, self._next(f"kfmsg:{corpid}"))

    def hex(self, kind: str, length: int = 32) -> str:
        """Lowercase hex of ``length`` characters (config ids, welcome codes, kf tokens)."""
        out = ""
        n = self._next(f"hex:{kind}")
        while len(out) < length:
            out += f"{self._digest('hex', kind, n, len(out)):016x}"
        return out[:length]

    def _chars(self, alphabet: str, length: int, *parts: object) -> str:
        value = self._digest(*parts)
        rng = random.Random(value)  # noqa: S311 - identifiers of a simulation, not secrets
        return "".join(rng.choice(alphabet) for _ in range(length))
