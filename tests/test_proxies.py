"""Who is asking: X-Forwarded-For and -Proto believed from configured proxies only."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar import Request, get

from desk.proxies import TrustedProxies, parse_address, parse_trusted_proxies
from tests.conftest import app_lifespan, client_for, login

PROXY = "10.1.2.3"
NGINX_NET = TrustedProxies.parse("10.1.0.0/16, 2001:db8:ff::/48")

ipv4s = st.ip_addresses(v=4)
ipv6s = st.ip_addresses(v=6)
addresses = st.one_of(ipv4s, ipv6s)
public_v4 = ipv4s.filter(lambda a: a not in ipaddress.ip_network("10.1.0.0/16"))


# -- parsing -------------------------------------------------------------------------------------


def test_trusted_proxies_are_addresses_or_networks_in_a_list() -> None:
    networks = parse_trusted_proxies("10.0.0.5, 172.31.254.0/24 2001:db8::/32,,")
    assert [str(n) for n in networks] == ["10.0.0.5/32", "172.31.254.0/24", "2001:db8::/32"]
    assert parse_trusted_proxies("") == ()
    with pytest.raises(ValueError, match="'nginx' is not an IP address or network"):
        parse_trusted_proxies("10.0.0.5, nginx")


@given(st.text())
def test_any_trusted_proxies_text_parses_or_names_its_bad_entry(text: str) -> None:
    entries = text.replace(",", " ").split()
    bad = []
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            bad.append(entry)
    if not bad:
        assert len(parse_trusted_proxies(text)) == len(entries)
        return
    with pytest.raises(ValueError, match="is not an IP address or network") as refused:
        parse_trusted_proxies(text)
    assert repr(bad[0]) in str(refused.value)


@given(addresses, st.integers(min_value=0, max_value=65535))
def test_forwarded_addresses_parse_with_or_without_a_port(address: Any, port: int) -> None:
    expected = getattr(address, "ipv4_mapped", None) or address  # ::ffff:a.b.c.d is an IPv4 client
    assert parse_address(str(address)) == expected
    written = f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"
    assert parse_address(f" {written} ") == expected
    if address.version == 6:
        assert parse_address(f"[{address}]") == expected


def test_ipv4_mapped_addresses_read_as_ipv4_and_junk_as_nothing() -> None:
    assert parse_address("::ffff:192.0.2.1") == ipaddress.ip_address("192.0.2.1")
    for junk in (
        "unknown",
        "",
        "1.2.3",
        "[::1",
        "[::1]x",
        "[::1]:https",
        "1.2.3.4:",
        "_hidden",
        "1.2.3.4:x:y",
    ):
        assert parse_address(junk) is None


# -- choosing the client ---------------------------------------------------------------------------


@given(public_v4, st.text())
def test_an_untrusted_peer_is_the_client_whatever_it_forwards(peer: Any, forwarded: str) -> None:
    assert NGINX_NET.client(str(peer), forwarded) == str(peer)
    assert TrustedProxies([]).client(str(peer), forwarded) == str(peer)


@given(public_v4, st.lists(st.one_of(addresses.map(str), st.text(max_size=20)), max_size=5))
def test_what_a_client_writes_left_of_its_own_address_changes_nothing(real: Any, forged: list[str]) -> None:
    # The proxy appends the address it saw; everything before it came from the client.
    header = ", ".join([*forged, str(real)])
    assert NGINX_NET.client(PROXY, header) == str(real)


def test_the_rightmost_untrusted_address_is_the_client_through_a_chain_of_proxies() -> None:
    assert NGINX_NET.client(PROXY, "198.51.100.1, 203.0.113.7, 10.1.9.9") == "203.0.113.7"
    assert NGINX_NET.client(PROXY, "203.0.113.7:5555") == "203.0.113.7"
    assert NGINX_NET.client(PROXY, "[2001:db8:1::5]:443") == "2001:db8:1::5"
    # Every hop trusted: the client is inside the trusted networks; the leftmost is it.
    assert NGINX_NET.client(PROXY, "10.1.0.7, 10.1.0.8") == "10.1.0.7"
    # No header: the proxy itself is all desk knows of; a hop it cannot read stops the walk there.
    assert NGINX_NET.client(PROXY, "") == PROXY
    assert NGINX_NET.client(PROXY, "203.0.113.7, unknown") == PROXY


@given(st.text(), st.text())
def test_choosing_the_client_never_fails(peer: str, forwarded: str) -> None:
    client = NGINX_NET.client(peer, forwarded)
    assert client == peer or parse_address(client) is not None


# -- through the running app -------------------------------------------------------------------------


@get("/test/whoami", name="test:whoami", include_in_schema=False)
async def whoami(request: Request[Any, Any, Any]) -> dict[str, str]:
    return {"client": request.client.host if request.client else "", "scheme": request.url.scheme}


@pytest.fixture
def proxied_app(make_app: Any) -> Any:
    app = make_app(trusted_proxies=f"{PROXY}, 10.9.0.0/16")
    app.register(whoami)
    return app


async def test_the_app_believes_forwarded_headers_from_a_trusted_proxy(proxied_app: Any, make_user) -> None:
    # The probe page needs a user (only public pages answer without one).
    headers = {"x-forwarded-for": "1.1.1.1, 203.0.113.7", "x-forwarded-proto": "https"}
    seen = await _ask_signed_in(proxied_app, make_user, PROXY, headers)
    assert seen == {"client": "203.0.113.7", "scheme": "https"}


async def test_the_app_ignores_forwarded_headers_from_anyone_else(proxied_app: Any, make_user) -> None:
    headers = {"x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "https"}
    seen = await _ask_signed_in(proxied_app, make_user, "198.51.100.20", headers)
    assert seen == {"client": "198.51.100.20", "scheme": "http"}


async def test_without_trusted_proxies_nobody_is_believed(make_app: Any, make_user) -> None:
    app = make_app()
    app.register(whoami)
    seen = await _ask_signed_in(app, make_user, "127.0.0.1", {"x-forwarded-for": "203.0.113.7"})
    assert seen["client"] == "127.0.0.1"


async def _ask_signed_in(app: Any, make_user: Any, peer: str, headers: dict[str, str]) -> dict[str, str]:
    user = await make_user("probe")
    async with app_lifespan(app), client_for(app, peer) as c:
        await login(c, app, user)
        r = await c.get("/test/whoami", headers=headers)
        assert r.status_code == 200, r.text
        return r.json()
