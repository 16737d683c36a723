"""A strict Content-Security-Policy for the app's own pages.

Every script and stylesheet is a static file served by the app (no inline code, no CDN), so
the policy can forbid everything else. Card photos are the exception: they live on Linq's CDN
(any https host), and in the demo on the sandbox's local fake CDN (``CSP_EXTRA_IMG_SRC``).
The Django admin is left alone: its templates use inline code that this policy would break.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


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
