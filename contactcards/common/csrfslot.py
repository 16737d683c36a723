"""A page rendered once and served to many (the dashboard, the sign-in page) carries a slot where each
request's own CSRF token goes: render with ``csrf_token`` set to :data:`SLOT`, cache the HTML, then answer
with :func:`with_token`. The slot is random per process, so no template text can forge it."""

from __future__ import annotations

import secrets

from django.http import HttpRequest
from django.middleware.csrf import get_token

SLOT = "csrf-slot-" + secrets.token_hex(16)


def with_token(html: str, request: HttpRequest) -> str:
    """The cached ``html`` with this request's CSRF token in its slots."""
    return html.replace(SLOT, get_token(request))
