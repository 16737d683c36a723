"""Where a stream may send: an https URL or a syslog host that resolves to public addresses only.

The same rules as the app's other outbound calls (``photos.fetch``: resolve once, refuse loopback,
private, link-local and every other non-public address, connect to the checked address, verify TLS
for the name, no redirects, no proxy from the environment). ``AUDIT_STREAM_ALLOWED_NETWORKS`` lists the
networks an operator allows on purpose (a SIEM on the company network; the tests' 127.0.0.1).
Checked when a stream is saved and again before every delivery (a name may resolve elsewhere later).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import requests
from django.conf import settings

from contactcards.photos.fetch import (
    FetchPolicy,
    FetchRefused,
    IPAddress,
    PinnedHostAdapter,
    Target,
    address_problem,
    check_target,
    deadline_context,
    parse_networks,
    resolve,
)

USER_AGENT = "linqadmin-audit-stream/1.0"


def policy() -> FetchPolicy:
    return FetchPolicy(
        max_bytes=64 * 1024, connect_timeout=settings.AUDIT_STREAM_CONNECT_TIMEOUT,
        read_timeout=settings.AUDIT_STREAM_READ_TIMEOUT, total_timeout=settings.AUDIT_STREAM_TOTAL_TIMEOUT,
        max_redirects=0, allowed_networks=parse_networks(settings.AUDIT_STREAM_ALLOWED_NETWORKS),
        ca_bundle=settings.AUDIT_STREAM_CA_BUNDLE, user_agent=USER_AGENT,
    )


@dataclass(frozen=True)
class Refused(Exception):
    """Why a target may not be used: ``invalid_url``, ``not_https``, ``unresolvable``, ``private_address``."""

    reason: str
    address: str = ""


def webhook_target(url: str) -> Target:
    """The checked target of a webhook URL, or :class:`Refused`."""
    try:
        return check_target(url, policy())
    except FetchRefused as refused:
        raise Refused(refused.reason, str(refused.extra.get("address", ""))) from None
    except (ValueError, UnicodeError):
        raise Refused("invalid_url") from None


class Failed(Exception):
    """A POST that did not get through, as a fact: ``code`` (``address``, ``connection``, ``timeout``,
    ``tls``, ``status``) and the receiver's HTTP status."""

    def __init__(self, code: str, status: int | None = None) -> None:
        super().__init__(code)
        self.code, self.status = code, status


def post(url: str, body: bytes, headers: dict[str, str]) -> None:
    """POST ``body`` to ``url`` at its checked address (checked now: a name may resolve elsewhere later),
    under the outbound policy; returns when the receiver answers 2xx, else raises :class:`Failed`.
    The answer's body is never read. Used by the audit streams and the alerts' chat webhooks."""
    try:
        target = webhook_target(url)
    except Refused:
        raise Failed("address") from None
    rules = policy()
    headers = {"User-Agent": rules.user_agent, **headers, "Host": target.host_header}
    deadline = time.monotonic() + rules.total_timeout
    last: Failed | None = None
    for address in target.addresses:
        literal = f"[{address}]" if address.version == 6 else str(address)
        session = requests.Session()
        session.trust_env = False
        session.mount("https://", PinnedHostAdapter(target.host, ssl_context=deadline_context(deadline)))
        try:
            # stream=True and close(): the status is all we need; the answer's body is never read.
            answer = session.post(f"https://{literal}:{target.port}{target.path}", data=body,
                                  headers=headers, allow_redirects=False, verify=rules.ca_bundle or True,
                                  timeout=(rules.connect_timeout, rules.read_timeout), stream=True)
            answer.close()
        except requests.exceptions.SSLError:
            raise Failed("tls") from None
        except requests.exceptions.Timeout:
            raise Failed("timeout") from None
        except (requests.exceptions.RequestException, OSError, ValueError):
            last = Failed("connection")
            if time.monotonic() >= deadline:
                break
            continue
        finally:
            session.close()
        if 200 <= answer.status_code < 300:
            return
        raise Failed("status", answer.status_code)
    raise last or Failed("connection")


def syslog_addresses(host: str, port: int) -> tuple[IPAddress, ...]:
    """Every address a syslog host resolves to, each allowed, or :class:`Refused`."""
    if not host or len(host) > 253 or any(ord(ch) <= 32 or ord(ch) == 127 for ch in host):
        raise Refused("invalid_url")
    try:
        addresses = resolve(host.encode("idna").decode("ascii") if not host.isascii() else host, port)
    except (OSError, UnicodeError, ValueError):
        raise Refused("unresolvable") from None
    if not addresses:
        raise Refused("unresolvable")
    allowed = policy().allowed_networks
    for address in addresses:
        if not any(address in network for network in allowed) and address_problem(address):
            raise Refused("private_address", str(address))
    return tuple(addresses)
