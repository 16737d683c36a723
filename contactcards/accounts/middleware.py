"""Session rules for every request, and a team's two-factor requirement before any of its pages."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from two_factor.utils import default_device

from contactcards.access import TwoFactorRequired
from contactcards.accounts.sessions import keep_alive, session_is_current


class SessionSecurityMiddleware:
    """Signed-in requests: end sessions older than "sign out everywhere", renew the idle timeout.

    Every response: a Permissions-Policy that turns off browser features the app never uses; and
    when someone is signed in, ``Cache-Control: no-store`` (with Django's other never-cache
    headers), so neither a shared cache nor the browser's back button keeps a team's pages.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            if session_is_current(request):
                keep_alive(request)
            else:
                logout(request)
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        if request.user.is_authenticated and "no-store" not in response.get("Cache-Control", ""):
            add_never_cache_headers(response)
        return response


class TeamTwoFactorMiddleware:
    """Answers ``TwoFactorRequired`` from the access helper (a team page of a team that requires it).

    A member with no second factor is sent to set one up; a member who has one but whose session
    did not use it (signed in before setting it up elsewhere) signs in again with it. The check
    itself costs nothing: the access helper reads the flag from the membership row it loads anyway.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, TwoFactorRequired):
            return None
        if default_device(request.user):
            logout(request)
            return redirect_to_login(request.get_full_path())
        return redirect(f"{reverse('two_factor_required')}?{urlencode({'team': exception.team.slug})}")
