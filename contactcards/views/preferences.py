"""A person's own preferences: the time zone their times are shown in."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

from contactcards.timezones import chosen_zone_name, remember_choice, zone_names


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(label=_("Time zone"), required=False)
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, browser_zone: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        browser = _("Follow my browser (%(zone)s)") % {"zone": browser_zone} if browser_zone else _("Follow my browser")
        self.fields["time_zone"].choices = [("", browser), *((name, name) for name in zone_names())]


def time_zone(request: HttpRequest) -> HttpResponse:
    browser_zone = request.COOKIES.get("tz", "") if request.COOKIES.get("tz", "") in zone_names() else ""
    if request.method == "POST":
        form = TimeZoneForm(request.POST, browser_zone=browser_zone)
        if form.is_valid():
            remember_choice(request, form.cleaned_data["time_zone"])
            messages.success(request, _("Times are now shown in %(zone)s.")
                             % {"zone": form.cleaned_data["time_zone"] or _("your browser's time zone")})
            target = form.cleaned_data["next"]
            if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
                return redirect(target)
            return redirect("time_zone")
    else:
        form = TimeZoneForm(initial={"time_zone": chosen_zone_name(request), "next": request.GET.get("next", "")},
                            browser_zone=browser_zone)
    return render(request, "contactcards/time_zone.html", {"form": form, "browser_zone": browser_zone})
