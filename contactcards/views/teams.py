"""Home and the team dashboard."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from ..access import get_team_for_user
from ..models import Membership


def home(request: HttpRequest) -> HttpResponse:
    memberships = list(Membership.objects.filter(user_id=request.user.pk).select_related("team"))
    last = request.session.get("team")
    for membership in memberships:
        if membership.team.slug == last:
            return redirect("dashboard", slug=last)
    if len(memberships) >= 1:
        return redirect("dashboard", slug=memberships[0].team.slug)
    return render(request, "contactcards/no_team.html")


def dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    team, membership = get_team_for_user(request, slug)
    request.session["team"] = team.slug
    numbers = team.numbers.all()
    return render(request, "contactcards/dashboard.html",
                  {"team": team, "membership": membership, "numbers": numbers})
