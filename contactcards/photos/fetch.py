"""Fetch an image URL the way Linq would, without becoming a way into our own network.

No Django imports (like ``contactcards.linq``): the caller passes a :class:`FetchPolicy`.

Design (requests + a pinned-address HTTPAdapter):

* **Resolve once, check every address.** The host is resolved with ``socket.getaddrinfo``; if
  *any* address it resolves to is loopback, private, link-local, reserved, multicast,
  unspecified or otherwise not globally routable, the URL is refused before anything connects.
  IPv4-mapped IPv6 addresses are checked as the IPv4 address they carry.
* **Connect to the checked address, verify TLS for the name.** The request goes to
  ``https://<checked ip>:<port>/<path>`` with ``Host: <name>``; :class:`PinnedHostAdapter`
  adds ``server_hostname`` (SNI) and ``assert_hostname`` (the certificate must be valid for the
  name, not the IP) to urllib3's pool key. urllib3 connects to an IP literal, so DNS is never
  asked again: an answer that changes between the check and the connect (DNS rebinding)
  cannot move the connection.
* **Redirects are re-checked, not followed blindly.** requests is told not to follow them; each
  ``Location`` goes through the whole check again (https, resolve, every address), at most
  ``max_redirects`` times.
* **No environment.** ``trust_env=False``: no proxy from ``HTTPS_PROXY`` (a proxy would connect
  to the name itself, undoing the check) and no ``.netrc`` credentials.
* **Bounded.** Connect and read timeouts, an overall deadline, and a byte cap: a
  ``Content-Length`` above the cap is refused before reading, and the streamed body is counted.

The only escape hatch is :attr:`FetchPolicy.allowed_networks`, an explicit list of CIDRs that
tests and the local demo use for their https servers on 127.0.0.1. It is empty in production.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter

from contactcards.words import _

RefusalReason = Literal[
    "invalid_url", "not_https", "unresolvable", "private_address", "timeout", "unreachable", "tls",
    "too_many_redirects", "bad_status", "too_large",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class FetchPolicy:
    max_bytes: int
    connect_timeout: float = 3.0
    read_timeout: float = 5.0
    total_timeout: float = 10.0
    max_redirects: int = 3
    allowed_networks: tuple[IPNetwork, ...] = ()
    ca_bundle: str = ""  # a CA file to trust instead of the system's (tests/demo); "" = the default
    user_agent: str = "linqadmin-photo-check/1.0"


@dataclass(frozen=True)
class Fetched:
    url: str  # the final URL, after any (checked) redirects
    body: bytes
    content_type: str
    redirects: int


@dataclass
class FetchRefused(Exception):
    reason: RefusalReason
    message: str
    status: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


def parse_networks(values: list[str] | tuple[str, ...]) -> tuple[IPNetwork, ...]:
    """CIDRs (or single addresses) from settings; anything else is a configuration error."""
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values if value.strip())


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (the resolver boundary; tests patch ``socket.getaddrinfo``)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[IPAddress] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in seen:
            seen.append(address)
    return seen


# The words for address_problem's kinds, in a refusal's sentence.
ADDRESS_KINDS = {
    "unspecified": _("unspecified"), "loopback": _("loopback"),
    "link-local": _("link-local"), "multicast": _("multicast"),
    "private": _("private"), "reserved": _("reserved"),
    "not publicly routable": _("not publicly routable"),
}


def _unresolvable(host: str) -> str:
    return _("The host name %(host)s does not resolve to an address.", host=host)


def address_problem(address: IPAddress) -> str | None:
    """Why this address is not a public internet address, or None when it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    checks = (
        ("unspecified", address.is_unspecified), ("loopback", address.is_loopback),
        ("link-local", address.is_link_local), ("multicast", address.is_multicast),
        ("private", address.is_private), ("reserved", address.is_reserved),
        ("not publicly routable", not address.is_global),
    )
    return next((name for name, hit in checks if hit), None)


@dataclass(frozen=True)
class Target:
    """A URL that passed the checks: where to connect and what to call it."""

    url: str
    host: str  # the ASCII (IDNA) name, or the IP literal
    port: int
    path: str
    addresses: tuple[IPAddress, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == 443 else f"{host}:{self.port}"


def check_target(url: str, policy: FetchPolicy) -> Target:
    """Parse, resolve and check a URL; raise :class:`FetchRefused` without connecting anywhere."""
    try:
        parts = urlsplit(url)
        port = parts.port or 443
        raw_host = parts.hostname or ""
    except ValueError:
        raise FetchRefused("invalid_url", _("This is not a valid link.")) from None
    if parts.scheme.lower() != "https":
        raise FetchRefused("not_https", _("The link must start with https:// (Linq only fetches secure links)."))
    if not raw_host:
        raise FetchRefused("invalid_url", _("The link has no host name."))
    if parts.username is not None or parts.password is not None:
        raise FetchRefused("invalid_url", _("Links with a user name or password in them are not accepted."))
    try:
        host = raw_host.encode("idna").decode("ascii").lower() if not raw_host.isascii() else raw_host.lower()
    except UnicodeError:
        raise FetchRefused("invalid_url", _("The link's host name is not valid.")) from None
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError, ValueError):
        raise FetchRefused("unresolvable", _unresolvable(host)) from None
    if not addresses:
        raise FetchRefused("unresolvable", _unresolvable(host))
    for address in addresses:
        if any(address in network for network in policy.allowed_networks):
            continue
        problem = address_problem(address)
        if problem:
            raise FetchRefused(
                "private_address",
                _("%(host)s points to a %(kind)s address (%(address)s), not a public one: Linq could not fetch "
                  "it, and this dashboard does not fetch from internal networks.",
                  host=host, kind=ADDRESS_KINDS.get(problem, problem), address=address),
                extra={"address": str(address)},
            )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(url=url, host=host, port=port, path=path, addresses=tuple(addresses))


class PinnedHostAdapter(HTTPAdapter):
    """Connect to the URL's host (an IP literal) while presenting and verifying ``hostname`` over TLS."""

    def __init__(self, hostname: str, **kwargs: Any) -> None:
        self.hostname = hostname
        super().__init__(max_retries=0, **kwargs)

    def build_connection_pool_key_attributes(self, request, verify, cert=None):  # type: ignore[override]
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        pool_kwargs["server_hostname"] = self.hostname
        pool_kwargs["assert_hostname"] = self.hostname
        return host_params, pool_kwargs


def fetch_image(url: str, policy: FetchPolicy) -> Fetched:
    """GET ``url`` within the policy, following (re-checked) redirects; raise :class:`FetchRefused`."""
    deadline = time.monotonic() + policy.total_timeout
    current = url
    for hop in range(policy.max_redirects + 1):
        target = check_target(current, policy)
        session, response = _get(target, policy)
        try:
            if response.is_redirect:
                location = response.headers.get("Location", "")
                if not location:
                    raise FetchRefused("bad_status", _("The server answered %(status)s without a Location to go to.",
                                                       status=response.status_code), status=response.status_code)
                current = urljoin(current, location)
                continue
            if response.status_code != 200:
                raise FetchRefused("bad_status", _("The server answered %(status)s instead of the image (Linq would "
                                                   "get the same).", status=response.status_code),
                                   status=response.status_code)
            body = _read_capped(response, policy, deadline)
            return Fetched(url=current, body=body, content_type=response.headers.get("Content-Type", ""),
                           redirects=hop)
        finally:
            response.close()
            session.close()
    raise FetchRefused("too_many_redirects",
                       _("The link redirects more than %(count)d times.", count=policy.max_redirects))


def _get(target: Target, policy: FetchPolicy) -> tuple[requests.Session, requests.Response]:
    """Connect to the first checked address that accepts (all of them passed the check)."""
    last_error: FetchRefused | None = None
    for address in target.addresses:
        literal = f"[{address}]" if address.version == 6 else str(address)
        session = requests.Session()
        session.trust_env = False
        session.mount("https://", PinnedHostAdapter(target.host))
        try:
            return session, session.get(
                f"https://{literal}:{target.port}{target.path}",
                headers={"Host": target.host_header, "User-Agent": policy.user_agent,
                         "Accept": "image/jpeg, image/png;q=0.9, */*;q=0.1"},
                timeout=(policy.connect_timeout, policy.read_timeout),
                allow_redirects=False, stream=True, verify=policy.ca_bundle or True,
            )
        except requests.exceptions.SSLError:
            session.close()
            raise FetchRefused("tls", _("%(host)s did not present a valid certificate for its name.",
                                        host=target.host)) from None
        except requests.exceptions.Timeout:
            session.close()
            raise FetchRefused("timeout", _("%(host)s did not answer in time.", host=target.host)) from None
        except requests.exceptions.RequestException:
            session.close()
            last_error = FetchRefused("unreachable", _("Could not connect to %(host)s.", host=target.host))
    assert last_error is not None
    raise last_error


def _read_capped(response: requests.Response, policy: FetchPolicy, deadline: float) -> bytes:
    too_large = FetchRefused("too_large",
                             _("The image is larger than %(size)s.", size=_megabytes(policy.max_bytes)),
                             extra={"max_bytes": policy.max_bytes})
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise too_large
    chunks: list[bytes] = []
    total = 0
    try:
        for chunk in response.iter_content(chunk_size=64 * 1024):
            total += len(chunk)
            if total > policy.max_bytes:
                raise too_large
            if time.monotonic() > deadline:
                raise FetchRefused("timeout", _("The image took too long to download."))
            chunks.append(chunk)
    except requests.exceptions.RequestException as error:
        if isinstance(error, requests.exceptions.ConnectionError) and "timed out" in str(error).lower():
            raise FetchRefused("timeout", _("The image took too long to download.")) from None
        raise FetchRefused("unreachable", _("The connection broke while downloading the image.")) from None
    return b"".join(chunks)


def _megabytes(count: int) -> str:
    return f"{count / 1_000_000:g} MB"
