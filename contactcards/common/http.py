"""The client's address: one function for sign-in throttling (django-axes) and the history's client_ip."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_ip(request: HttpRequest) -> str | None:
    """The address the request came from, as a proxy we trust saw it; never something the client wrote.

    Without trusted proxies (the default) that is the socket's address, ``REMOTE_ADDR``. Behind
    proxies, ``X-Forwarded-For`` is read from the right, where our proxies appended what they saw;
    its left part is whatever the client sent and is never used:

    - ``TRUSTED_PROXIES`` (networks): if the socket's address is one of them, walk the header from
      the right past every address in them; the first address outside them is the client.
    - ``TRUSTED_PROXY_HOPS`` = n: the n-th address from the right (n proxies each appended one).

    What is picked must be an IP address (written canonically, so one client is one throttling
    key); anything else - a missing entry, ``not-an-ip``, ``=2+5`` - gives the socket's address.
    django-axes calls this function too (``AXES_CLIENT_IP_CALLABLE``), so throttling and the history
    always agree on who someone is.
    """
    peer = parse_ip(request.META.get("REMOTE_ADDR", ""))
    networks = trusted_networks(tuple(settings.TRUSTED_PROXIES))
    hops = settings.TRUSTED_PROXY_HOPS
    if peer is None or not (networks or hops > 0):
        return peer
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    forwarded = [entry.strip() for entry in header.split(",")] if header.strip() else []
    if networks:
        return _beyond_trusted_networks(peer, forwarded, networks)
    if len(forwarded) < hops:
        return peer  # fewer proxies than configured: it did not come the way we know
    return parse_ip(forwarded[-hops]) or peer


def _beyond_trusted_networks(peer: str, forwarded: list[str], networks: tuple[IPNetwork, ...]) -> str:
    address = peer
    for entry in reversed(forwarded):
        if not _in(address, networks):
            return address
        parsed = parse_ip(entry)
        if parsed is None:
            return peer
        address = parsed
    return address  # every hop was a trusted proxy: the left-most is the client (an internal host)


def _in(address: str, networks: tuple[IPNetwork, ...]) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip in network for network in networks)


def parse_ip(value: str | None) -> str | None:
    """``value`` as a canonical IP address (``[v6]:port`` and ``v4:port`` accepted), else None."""
    if not value or len(value) > 64:
        return None
    text = value.strip()
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:443
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # 203.0.113.7:51234
        text = text.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:  # ::ffff:203.0.113.7 is 203.0.113.7
            return str(ip.ipv4_mapped)
        if ip.scope_id:  # fe80::1%eth0: databases store no zone
            ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
    return str(ip)


@lru_cache(maxsize=8)
def trusted_networks(values: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    """TRUSTED_PROXIES as networks (a bare address is a network of one). settings.py reports a bad
    value as a configuration problem (nothing serves); here it is merely skipped."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            continue
    return tuple(networks)
