"""Who is really asking: the client's address and scheme, taken from a proxy only when it is trusted.

Behind a reverse proxy every connection comes from the proxy, which reports the real client in
``X-Forwarded-For`` and the scheme it was reached over in ``X-Forwarded-Proto``. Anyone can send
those headers, so desk reads them only on connections from ``DESK_TRUSTED_PROXIES`` (addresses or
networks). ``X-Forwarded-For`` is read from the right, as each proxy appends the address it saw:
the first address that is not a trusted proxy is the client. Entries further left were written by
the client itself and prove nothing, so rotating them gains an attacker nothing.

desk applies this itself (:class:`ProxyHeadersMiddleware`) rather than leaving it to uvicorn's
``--forwarded-allow-ips``, so the rule is the same under any server and in the tests, and there is
one setting for it. ``desk serve`` therefore runs uvicorn with its own proxy handling off.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

__all__ = [
    "Network",
    "ProxyHeadersMiddleware",
    "TrustedProxies",
    "parse_address",
    "parse_trusted_proxies",
]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_SCHEMES = frozenset({"http", "https"})


def parse_trusted_proxies(text: str) -> tuple[Network, ...]:
    """The networks in a ``DESK_TRUSTED_PROXIES`` value: addresses or CIDR networks, separated by
    commas or spaces (``10.0.0.5, 172.31.254.0/24``). A bare address is a network of one.

    Raises:
        ValueError: naming the first entry that is neither an address nor a network.
    """
    networks: list[Network] = []
    for entry in text.replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(
                f"{entry!r} is not an IP address or network (e.g. 10.0.0.5 or 172.31.254.0/24)"
            ) from None
    return tuple(networks)


def parse_address(value: str) -> Address | None:
    """An address as ``X-Forwarded-For`` writes one (``1.2.3.4``, ``1.2.3.4:5678``, ``2001:db8::1``,
    ``[2001:db8::1]:443``), IPv4-mapped IPv6 read as IPv4; None for anything else (``unknown``)."""
    value = value.strip()
    if value.startswith("["):
        value, closed, rest = value[1:].partition("]")
        if not closed or (rest and not (rest[0] == ":" and _is_port(rest[1:]))):
            return None
    elif value.count(":") == 1:
        value, _, port = value.partition(":")
        if not _is_port(port):
            return None
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_port(text: str) -> bool:
    return text.isascii() and text.isdigit()


class TrustedProxies:
    """The proxies whose forwarding headers are believed."""

    def __init__(self, networks: Iterable[Network]) -> None:
        self.networks = tuple(networks)

    @classmethod
    def parse(cls, text: str) -> TrustedProxies:
        """From a ``DESK_TRUSTED_PROXIES`` value (see :func:`parse_trusted_proxies`)."""
        return cls(parse_trusted_proxies(text))

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, address: Address | None) -> bool:
        # ip_address in a network of the other family is simply False, never an error.
        return address is not None and any(address in network for network in self.networks)

    def client(self, peer: str, forwarded_for: str) -> str:
        """The client's address for a connection from ``peer`` carrying ``forwarded_for``.

        ``peer`` itself unless it is a trusted proxy; otherwise the rightmost forwarded address
        that is not a trusted proxy. When every forwarded address is trusted, the leftmost (the
        client is itself inside the trusted networks). An entry that is not an address stops the
        walk at the proxy that wrote it: a trusted proxy that cannot name its client is the
        client as far as desk can tell.
        """
        current = parse_address(peer)
        if current is None or not self.trusts(current):
            return str(current) if current is not None else peer
        for entry in reversed([e for e in forwarded_for.split(",") if e.strip()]):
            address = parse_address(entry)
            if address is None:
                break
            current = address
            if not self.trusts(address):
                break
        return str(current)


class ProxyHeadersMiddleware:
    """Rewrite the ASGI scope's client address and scheme from a trusted proxy's headers.

    Everything downstream (``request.client``, ``request.url``, the login throttle, secure
    cookies) then sees the real client, and never a value a client merely claimed.
    """

    def __init__(self, app: ASGIApp, trusted: TrustedProxies) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if self.trusted and scope["type"] in ("http", "websocket") and client:
            peer = client[0]
            if self.trusted.trusts(parse_address(peer)):
                forwarded: list[str] = []
                proto = ""
                for name, value in scope["headers"]:
                    if name == b"x-forwarded-for":
                        forwarded.append(value.decode("latin-1"))
                    elif name == b"x-forwarded-proto":
                        proto = value.decode("latin-1").strip().lower()
                # Several headers are one list in order (RFC 9110 §5.3).
                scope["client"] = (self.trusted.client(peer, ",".join(forwarded)), client[1])
                if proto in _SCHEMES and scope["type"] == ScopeType.HTTP:
                    scope["scheme"] = proto
        await self.app(scope, receive, send)
