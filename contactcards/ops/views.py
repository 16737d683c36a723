"""/metrics: Prometheus' text format, for a scraper with the token or on an allowed network; 404 for anyone else.

Off (404) unless ``METRICS_TOKEN`` or ``METRICS_ALLOWED_NETWORKS`` is set. It needs no sign-in and
touches no session; the client's address is the one the rest of the app uses (``common.http``,
TRUSTED_PROXY_HOPS / TRUSTED_PROXIES), so a proxy in front cannot make everyone "allowed".
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from contactcards.common.http import client_ip, trusted_networks
from contactcards.ops.collector import scrape_registry


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


def token_ok(request: HttpRequest) -> bool:
    """``Authorization: Bearer <METRICS_TOKEN>``, compared in constant time (of equal-length digests)."""
    expected = settings.METRICS_TOKEN
    scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").strip().partition(" ")
    if not expected or scheme.lower() != "bearer" or not given.strip():
        return False
    return hmac.compare_digest(_digest(given.strip()), _digest(expected))


def network_ok(request: HttpRequest) -> bool:
    networks = trusted_networks(tuple(settings.METRICS_ALLOWED_NETWORKS))
    address = client_ip(request)
    if not networks or address is None:
        return False
    ip = ipaddress.ip_address(address)
    return any(ip in network for network in networks)


@csrf_exempt  # a POST without a token must get the same 404, not CSRF's 403
@login_not_required
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if not (token_ok(request) or network_ok(request)):
        raise Http404  # the same answer as any path that does not exist, whatever the method
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)
