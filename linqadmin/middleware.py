"""A strict Content-Security-Policy for the app's own pages; the Linq time budget; NUL refused at the door.

Every script and stylesheet is a static file served by the app (no inline code, no CDN), so
the policy can forbid everything else. Card photos are the exception: they live on Linq's CDN
(any https host), and in the demo on the sandbox's local fake CDN (``CSP_EXTRA_IMG_SRC``).
The Django admin is left alone: its templates use inline code that this policy would break.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse

from contactcards.lib.metrics import record_request


def build_policy(extra_img_src: list[str]) -> str:
    img_src = " ".join(["'self'", "https:", "data:", *extra_img_src])
    return "; ".join([
        "default-src 'self'",
        f"img-src {img_src}",
        "script-src 'self'",
        "style-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = build_policy(settings.CSP_EXTRA_IMG_SRC)
        self.admin_prefix = "/admin/"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(self.admin_prefix):
            response.headers.setdefault("Content-Security-Policy", self.policy)
        return response


class LinqTimeBudgetMiddleware:
    """Each request may spend at most ``LINQ_REQUEST_BUDGET`` seconds on Linq calls and lock waits.

    Every Linq client made during the request (``contactcards.common.clients.linq_client_for``) gets what
    is left of it, so the sum of one save's calls - re-read, write, re-read after no answer - stays
    under the budget, and the budget stays well under the worker timeout: a save that runs out of
    time ends as "outcome unknown" (and is reconciled later), never as a killed worker.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from contactcards.common.clients import linq_time_budget

        with linq_time_budget(settings.LINQ_REQUEST_BUDGET):
            return self.get_response(request)


class RefuseNulMiddleware:
    """A NUL character in the path or a header ends the request here, before any view runs.

    No link has one and no browser sends one, and PostgreSQL cannot store or even compare text that
    holds one: every lookup of a path segment with it (a number, a webhook path, an invitation) failed
    with a 500 there, while SQLite answered. Now both answer alike: a path with a NUL names no page
    (404), a header with one (cookies included) is a bad request (400). Query parameters and form
    fields are the views' to parse, each with its own answer (a page number is clamped, a name gets a
    message): tests/common/test_odd_input.py sends NUL to every one of them.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path_info:
            raise Http404("No page has a NUL character in its address.")  # no-i18n
        if any("\x00" in value for key, value in request.META.items()
               if key.startswith("HTTP_") and isinstance(value, str)):
            raise BadRequest("NUL character in a header")  # no-i18n
        return self.get_response(request)


class RequestMetricsMiddleware:
    """/metrics: each request counted by URL name, method and status, and timed by URL name - two
    updates per request, first in the chain so the time includes every other middleware. (Not
    django-prometheus' pair of middlewares: about a dozen updates per request, measured in
    docs/benchmarks.md "Metrics".)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        view = (match.view_name or "<unnamed>") if match is not None else "<unresolved>"
        record_request(view, request.method or "", response.status_code, time.perf_counter() - started)
        return response
