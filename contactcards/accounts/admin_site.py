"""The admin site: staff only, and (ADMIN_REQUIRE_TWO_FACTOR, on outside DEBUG) two-factor verified only.

Its login page is the site's own sign-in, so the admin's sign-in is throttled by django-axes
exactly like everyone else's; a signed-in staff member who has not verified a second factor
gets a page that says what to do instead of a sign-in form that would loop.
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from two_factor.utils import default_device


class AdminSite(admin.AdminSite):
    def admin_view(self, view, cacheable=False):
        """Django's admin views, refusing with 400 what Django's admin code would answer with a 500: a
        NUL in a query parameter or form field (``?role__exact=%00``: PostgreSQL cannot compare text
        holding one), and a number too large for the database or a date (``?created__year=9999…``, a
        group's permission id), which raises OverflowError inside Django's admin code."""
        inner = super().admin_view(view, cacheable)

        @wraps(inner)
        def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if _has_nul(request.GET) or (request.method == "POST" and _has_nul(request.POST)):
                raise BadRequest("NUL character in a query parameter or form field")  # no-i18n
            try:
                response = inner(request, *args, **kwargs)
                if hasattr(response, "render") and not response.is_rendered:
                    response.render()  # a changelist's queries run while its template renders
            except OverflowError as error:
                raise BadRequest("A number in the request is too large.") from error  # no-i18n
            return response

        return guarded

    def has_permission(self, request: HttpRequest) -> bool:
        if not super().has_permission(request):
            return False
        return request.user.is_verified() if settings.ADMIN_REQUIRE_TWO_FACTOR else True

    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        user = request.user
        if user.is_authenticated and user.is_active and user.is_staff and not self.has_permission(request):
            return render(request, "accounts/admin_two_factor_required.html",
                          {"has_device": bool(default_device(user))}, status=403)
        next_url = request.GET.get("next", "")
        if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
            next_url = reverse("admin:index", current_app=self.name)
        return redirect_to_login(next_url)


def _has_nul(data: QueryDict) -> bool:
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in data.lists())
