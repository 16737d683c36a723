"""The admin site: staff only, and (ADMIN_REQUIRE_TWO_FACTOR, on outside DEBUG) two-factor verified only.

Its login page is the site's own sign-in, so the admin's sign-in is throttled by django-axes
exactly like everyone else's; a signed-in staff member who has not verified a second factor
gets a page that says what to do instead of a sign-in form that would loop.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from two_factor.utils import default_device


class AdminSite(admin.AdminSite):
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
