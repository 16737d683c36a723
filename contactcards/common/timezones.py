"""Each person sees times in their own zone.

The zone is, in order: the one they chose (``UserPreference.time_zone``, on the time-zone page;
kept in the session from sign-in on),
else the one their browser reported (static/js/app.js sets the ``tz`` cookie from
``Intl.DateTimeFormat().resolvedOptions().timeZone``), else settings.TIME_ZONE (UTC). The
middleware activates it for the request, so every ``|date`` and ``|time`` in the templates
converts to it; the templates print the zone's abbreviation next to each time. Stored times
and the CSV export stay in UTC.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

COOKIE = "tz"


@lru_cache(maxsize=1)
def zone_names() -> tuple[str, ...]:
    return tuple(sorted(name for name in zoneinfo.available_timezones() if "/" in name or name == "UTC"))


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    """``zone_names()`` as a set: every request checks its zone against it (a tuple was ~600 comparisons)."""
    return frozenset(zone_names())


def parse_zone(value: object) -> zoneinfo.ZoneInfo | None:
    """A known IANA zone, or None for anything else (a cookie is user input: no 500s, no odd files)."""
    if not isinstance(value, str) or not value or len(value) > 64 or value not in _known_zones():
        return None
    try:
        return zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


SESSION_KEY = "linqadmin_time_zone"


def chosen_zone_name(request: HttpRequest) -> str:
    """The zone the signed-in person chose ("" for none). Copied into the session when they sign
    in (``on_sign_in``) and when they choose, so a page costs no query for it."""
    if not getattr(request.user, "is_authenticated", False):
        return ""
    return request.session.get(SESSION_KEY, "")


def on_sign_in(sender, request: HttpRequest | None, user, **kwargs) -> None:
    """``user_logged_in``: bring the person's chosen zone into their new session."""
    if request is None or not hasattr(request, "session"):
        return
    from contactcards.models import UserPreference  # apps are ready by the time anyone signs in

    request.session[SESSION_KEY] = (UserPreference.objects.filter(user=user)
                                    .values_list("time_zone", flat=True).first() or "")


def remember_choice(request: HttpRequest, name: str) -> None:
    from contactcards.models import UserPreference

    UserPreference.objects.update_or_create(user=request.user, defaults={"time_zone": name})
    request.session[SESSION_KEY] = name


def zone_for(request: HttpRequest) -> tuple[zoneinfo.ZoneInfo, str]:
    """(zone, where it came from: "chosen", "browser" or "default")."""
    chosen = parse_zone(chosen_zone_name(request))
    if chosen is not None:
        return chosen, "chosen"
    browser = parse_zone(request.COOKIES.get(COOKIE))
    if browser is not None:
        return browser, "browser"
    return zoneinfo.ZoneInfo(settings.TIME_ZONE), "default"


class TimeZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone, source = zone_for(request)
        request.time_zone, request.time_zone_source = zone, source
        timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
