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
* **IPv6 forms of IPv4 addresses are checked as the IPv4 address.** IPv4-mapped
  (``::ffff:a.b.c.d``), 6to4 (``2002::/16``), NAT64's well-known prefix (``64:ff9b::/96``) and
  Teredo (``2001::/32``, server and client) reach the IPv4 address they carry; local-use NAT64
  (``64:ff9b:1::/48``) and site-local (``fec0::/10``) are never public.
* **Redirects are re-checked, not followed blindly.** requests is told not to follow them; each
  ``Location`` goes through the whole check again (https, resolve, every address), at most
  ``max_redirects`` times.
* **No environment.** ``trust_env=False``: no proxy from ``HTTPS_PROXY`` (a proxy would connect
  to the name itself, undoing the check) and no ``.netrc`` credentials.
* **Bounded in time, whatever the server's pace.** One wall-clock deadline for the whole fetch
  (``total_timeout``: every hop's connect, TLS handshake, request, headers and body). Every
  socket operation waits at most for what is left of it (:class:`DeadlineSSLSocket`), besides
  the per-operation connect and read timeouts, so a server that trickles a byte at a time, in the
  headers or in the body, is cut off at the deadline, not after each 64 KiB.
* **Bounded in size.** A ``Content-Length`` above the cap is refused before reading, and the
  streamed body is counted.

The only escape hatch is :attr:`FetchPolicy.allowed_networks`, an explicit list of CIDRs that
tests and the local demo use for their https servers on 127.0.0.1. It is empty in production.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.ssl_ import create_urllib3_context

from contactcards.lib.words import gettext_noop

RefusalReason = Literal[
    "invalid_url", "not_https", "unresolvable", "private_address", "timeout", "unreachable", "tls",
    "too_many_redirects", "bad_status", "too_large",
]

IPv6Address = ipaddress.IPv6Address
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
    "unspecified": gettext_noop("unspecified"), "loopback": gettext_noop("loopback"),
    "link-local": gettext_noop("link-local"),
    "site-local": gettext_noop("site-local"),
    "multicast": gettext_noop("multicast"),
    "private": gettext_noop("private"), "reserved": gettext_noop("reserved"),
    "not publicly routable": gettext_noop("not publicly routable"),
}

# NAT64: the well-known prefix carries a public IPv4 address in its last 32 bits (RFC 6052);
# the local-use prefix (RFC 8215) is for a network's own translators, never globally reachable.
NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")
SITE_LOCAL = ipaddress.IPv6Network("fec0::/10")  # deprecated (RFC 3879), but still not public


def _unresolvable(host: str) -> str:
    return gettext_noop("The host name %(host)s does not resolve to an address.", host=host)


def embedded_ipv4(address: IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to: mapped, 6to4, NAT64 (well-known prefix), Teredo."""
    carried: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        carried.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        carried.append(address.sixtofour)
    if address in NAT64_WELL_KNOWN:
        carried.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address.teredo is not None:
        carried.extend(address.teredo)  # the Teredo server and the (de-obfuscated) client
    return carried


def address_problem(address: IPAddress) -> str | None:
    """Why this address is not a public internet address, or None when it is.

    An IPv6 address that carries an IPv4 address (see :func:`embedded_ipv4`) is refused when the
    IPv4 address is; NAT64's well-known prefix is then judged by its IPv4 address alone (Python
    calls the whole prefix "reserved", but an IPv6-only network reaches every IPv4 site through it).
    """
    if isinstance(address, ipaddress.IPv6Address):
        carried = embedded_ipv4(address)
        for ipv4 in carried:
            problem = _own_problem(ipv4)
            if problem:
                return problem
        if address.ipv4_mapped is not None or address in NAT64_WELL_KNOWN:
            return None  # judged by the IPv4 address it is
        if address in SITE_LOCAL:
            return "site-local"
        if address in NAT64_LOCAL_USE:
            return "not publicly routable"
    return _own_problem(address)


def _own_problem(address: IPAddress) -> str | None:
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
        raise FetchRefused("invalid_url", gettext_noop("This is not a valid link.")) from None
    if parts.scheme.lower() != "https":
        raise FetchRefused("not_https",
            gettext_noop("The link must start with https:// (Linq only fetches secure links)."))
    if not raw_host:
        raise FetchRefused("invalid_url", gettext_noop("The link has no host name."))
    if parts.username is not None or parts.password is not None:
        raise FetchRefused("invalid_url", gettext_noop("Links with a user name or password in them are not accepted."))
    try:
        host = raw_host.encode("idna").decode("ascii").lower() if not raw_host.isascii() else raw_host.lower()
    except UnicodeError:
        raise FetchRefused("invalid_url", gettext_noop("The link's host name is not valid.")) from None
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
                gettext_noop("%(host)s points to a %(kind)s address (%(address)s), not a public one: Linq could not "
                             "fetch it, and this dashboard does not fetch from internal networks.",
                             host=host, kind=ADDRESS_KINDS.get(problem, problem), address=address),
                extra={"address": str(address)},
            )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(url=url, host=host, port=port, path=path, addresses=tuple(addresses))


class DeadlineSSLSocket(ssl.SSLSocket):
    """A TLS socket whose every blocking operation - the handshake, each send, each receive - waits
    at most until its context's ``deadline`` (a ``time.monotonic()`` value), and no longer than the
    per-operation timeout it was given (``settimeout``: urllib3's connect, then read timeout).

    Per-operation timeouts alone do not bound a fetch: a server that sends one byte every second
    answers every receive in time, forever. With this, the whole fetch ends at the deadline.
    """

    _per_operation: float | None = None

    def settimeout(self, value: float | None) -> None:
        self._per_operation = value
        super().settimeout(value)

    def _until_deadline(self) -> None:
        deadline: float | None = getattr(self.context, "deadline", None)
        if deadline is None or super().gettimeout() == 0.0:  # no deadline, or non-blocking: nothing waits
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the fetch's deadline has passed")  # no-i18n
        limit = self._per_operation
        super().settimeout(remaining if limit is None else min(limit, remaining))

    def do_handshake(self, block: bool = False) -> None:
        self._until_deadline()
        super().do_handshake(block)

    def recv(self, buflen: int = 1024, flags: int = 0) -> bytes:
        self._until_deadline()
        return super().recv(buflen, flags)

    def recv_into(self, buffer: Any, nbytes: int | None = None, flags: int = 0) -> int:
        self._until_deadline()
        return super().recv_into(buffer, nbytes, flags)  # type: ignore[arg-type]

    def read(self, len: int = 1024, buffer: Any = None) -> Any:  # noqa: A002 - ssl.SSLSocket's signature
        self._until_deadline()
        return super().read(len, buffer)

    def send(self, data: Any, flags: int = 0) -> int:
        self._until_deadline()
        return super().send(data, flags)

    def write(self, data: Any) -> int:
        self._until_deadline()
        return super().write(data)


def deadline_context(deadline: float) -> ssl.SSLContext:
    """urllib3's usual TLS context (it still loads the CAs and checks the name), with sockets that
    keep ``deadline``."""
    context = create_urllib3_context()
    context.sslsocket_class = DeadlineSSLSocket
    context.deadline = deadline  # type: ignore[attr-defined]
    return context


class PinnedHostAdapter(HTTPAdapter):
    """Connect to the URL's host (an IP literal) while presenting and verifying ``hostname`` over TLS."""

    def __init__(self, hostname: str, ssl_context: ssl.SSLContext | None = None, **kwargs: Any) -> None:
        self.hostname = hostname
        self.ssl_context = ssl_context
        super().__init__(max_retries=0, **kwargs)

    def build_connection_pool_key_attributes(self, request, verify, cert=None):  # type: ignore[override]
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        pool_kwargs["server_hostname"] = self.hostname
        pool_kwargs["assert_hostname"] = self.hostname
        if self.ssl_context is not None:
            pool_kwargs["ssl_context"] = self.ssl_context
        return host_params, pool_kwargs


def fetch_image(url: str, policy: FetchPolicy) -> Fetched:
    """GET ``url`` within the policy, following (re-checked) redirects; raise :class:`FetchRefused`.

    Everything - every hop's name lookup check, connect, TLS handshake, headers and body - shares
    one deadline, ``policy.total_timeout`` from now.
    """
    deadline = time.monotonic() + policy.total_timeout
    current = url
    for hop in range(policy.max_redirects + 1):
        target = check_target(current, policy)
        if time.monotonic() >= deadline:  # the name lookup itself took all the time there was
            raise FetchRefused("timeout", gettext_noop("%(host)s did not answer in time.", host=target.host))
        session, response = _get(target, policy, deadline)
        try:
            if response.is_redirect:
                location = response.headers.get("Location", "")
                if not location:
                    raise FetchRefused("bad_status",
                        gettext_noop("The server answered %(status)s without a Location to go to.",
                                                       status=response.status_code), status=response.status_code)
                current = urljoin(current, location)
                continue
            if response.status_code != 200:
                raise FetchRefused("bad_status",
                    gettext_noop("The server answered %(status)s instead of the image (Linq would "
                                                   "get the same).", status=response.status_code),
                                   status=response.status_code)
            body = _read_capped(response, policy, deadline)
            return Fetched(url=current, body=body, content_type=response.headers.get("Content-Type", ""),
                           redirects=hop)
        finally:
            response.close()
            session.close()
    raise FetchRefused("too_many_redirects",
                       gettext_noop("The link redirects more than %(count)d times.", count=policy.max_redirects))


def _get(target: Target, policy: FetchPolicy, deadline: float) -> tuple[requests.Session, requests.Response]:
    """Connect to the first checked address that accepts (all of them passed the check)."""
    timed_out = FetchRefused("timeout", gettext_noop("%(host)s did not answer in time.", host=target.host))
    last_error: FetchRefused | None = None
    for address in target.addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise timed_out
        literal = f"[{address}]" if address.version == 6 else str(address)
        session = requests.Session()
        session.trust_env = False
        session.mount("https://", PinnedHostAdapter(target.host, ssl_context=deadline_context(deadline)))
        try:
            return session, session.get(
                f"https://{literal}:{target.port}{target.path}",
                headers={"Host": target.host_header, "User-Agent": policy.user_agent,
                         "Accept": "image/jpeg, image/png;q=0.9, */*;q=0.1"},
                # The TCP connect is a plain socket: it gets what is left of the deadline directly.
                timeout=(min(policy.connect_timeout, remaining), policy.read_timeout),
                allow_redirects=False, stream=True, verify=policy.ca_bundle or True,
            )
        except requests.exceptions.SSLError:
            session.close()
            if time.monotonic() >= deadline:
                raise timed_out from None
            raise FetchRefused("tls", gettext_noop("%(host)s did not present a valid certificate for its name.",
                                        host=target.host)) from None
        except requests.exceptions.Timeout:
            session.close()
            raise timed_out from None
        except requests.exceptions.RequestException as error:
            session.close()
            if time.monotonic() >= deadline or _timed_out(error):
                raise timed_out from None
            last_error = FetchRefused("unreachable", gettext_noop("Could not connect to %(host)s.", host=target.host))
    assert last_error is not None
    raise last_error


def _timed_out(error: BaseException) -> bool:
    return "timed out" in str(error).lower() or "deadline" in str(error).lower()


def _read_capped(response: requests.Response, policy: FetchPolicy, deadline: float) -> bytes:
    too_large = FetchRefused("too_large",
                             gettext_noop("The image is larger than %(size)s.", size=_megabytes(policy.max_bytes)),
                             extra={"max_bytes": policy.max_bytes})
    too_slow = FetchRefused("timeout", gettext_noop("The image took too long to download."))
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
                raise too_slow
            chunks.append(chunk)
    except requests.exceptions.RequestException as error:
        if time.monotonic() >= deadline or _timed_out(error):
            raise too_slow from None
        raise FetchRefused("unreachable", gettext_noop("The connection broke while downloading the image.")) from None
    return b"".join(chunks)


def _megabytes(count: int) -> str:
    return f"{count / 1_000_000:g} MB"
