"""Health checks for load balancers and monitoring. No sign-in, no session, no secrets in the answer.

``/healthz``: is this process able to serve? It asks the database one trivial query; 200 or 503.
It never talks to Linq, so an outage at Linq cannot take every app server out of rotation.

``/healthz/linq``: can this process reach Linq? One unauthenticated GET (never a write, never a
token; see ``linq.client.probe``), cached for ``HEALTHZ_LINQ_CACHE_SECONDS`` so frequent probes
do not become traffic at Linq. 200 when reachable, 503 when not.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from contactcards.linq.client import probe

logger = logging.getLogger(__name__)
LINQ_CACHE_KEY = "linqadmin:healthz:linq"


def _answer(payload: dict, healthy: bool) -> JsonResponse:
    payload = {"status": "ok" if healthy else "error", **payload}
    return JsonResponse(payload, status=200 if healthy else 503)


@login_not_required
@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        database = {"ok": True, "vendor": connection.vendor}
    except DatabaseError as exc:
        logger.error("healthz: the database is not reachable (%s)", type(exc).__name__)
        database = {"ok": False, "vendor": connection.vendor, "error": type(exc).__name__}
    database["duration_ms"] = int((time.monotonic() - started) * 1000)
    return _answer({"database": database}, database["ok"])


@login_not_required
@never_cache
@require_safe
def healthz_linq(request: HttpRequest) -> JsonResponse:
    linq = cache.get(LINQ_CACHE_KEY)
    if linq is None:
        result = probe(settings.LINQ_API_BASE_URL, timeout=settings.HEALTHZ_LINQ_TIMEOUT)
        linq = {"reachable": result.reachable, "status": result.status, "detail": result.detail,
                "duration_ms": result.duration_ms, "checked_at": int(time.time())}
        cache.set(LINQ_CACHE_KEY, linq, settings.HEALTHZ_LINQ_CACHE_SECONDS)
        if not result.reachable:
            logger.warning("healthz: Linq is not reachable (%s)", result.detail)
    return _answer({"linq": linq}, linq["reachable"])
