"""Home and the team dashboard."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render

from ..access import get_team_for_user
from ..errors import meaning
from ..selectors.dashboard import SORTS, load_dashboard
from ..selectors.teams import memberships_of


def home(request: HttpRequest) -> HttpResponse:
    """Go to the team used last, else the first team; explain when the user has none."""
    memberships = memberships_of(user_id=request.user.pk)
    last = request.session.get("team")
    for membership in memberships:
        if membership.team.slug == last:
            return redirect("dashboard", slug=last)
    if len(memberships) >= 1:
        return redirect("dashboard", slug=memberships[0].team.slug)
    return render(request, "contactcards/no_team.html")


def dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    """Every number of the team with its card at a glance; one GET /v3/contact_card for all of them."""
    team, membership = get_team_for_user(request, slug)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    if request.session.get("team") != team.slug:
        request.session["team"] = team.slug  # home goes back to the team used last
    board = load_dashboard(team=team, query=request.GET.get("q", ""), sort=request.GET.get("sort", ""))
    context = {
        "team": team,
        "membership": membership,
        "board": board,
        "sorts": SORTS,
        "error": meaning(board.error) if board.error else None,
    }
    return render(request, "contactcards/dashboard.html", context)
