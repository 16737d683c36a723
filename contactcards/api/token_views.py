"""The API token pages: a team's tokens (under its settings: make one for yourself; owners see and revoke
everyone's), and revoking one from there or from the account page. The secret is shown once."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from contactcards.api.forms import TokenForm
from contactcards.api.selectors import token_of_team, tokens_of_team, tokens_of_user
from contactcards.api.services import token_create, token_revoke
from contactcards.common.access import get_team_for_user
from contactcards.common.http import client_ip


@never_cache
def team_tokens(request: HttpRequest, slug: str) -> HttpResponse:
    team, membership = get_team_for_user(request, slug)
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    form = TokenForm(request.POST if request.method == "POST" else None, membership=membership)
    made = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            made = token_create(membership=membership, name=form.cleaned_data["name"],
                                scopes=form.cleaned_data["scopes"], days=form.cleaned_data["days"],
                                client_ip=client_ip(request))
            form = TokenForm(membership=membership)
        else:
            status = 400
    tokens = tokens_of_team(team=team) if membership.is_owner else tokens_of_user(user_id=request.user.pk, team=team)
    return render(request, "api/team_tokens.html", {
        "team": team, "membership": membership, "form": form, "made": made, "tokens": tokens,
        "docs_url": reverse("api_docs"),
    }, status=status)


def token_revoke_view(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Revoke a token: its own person may, and the team's owners may revoke anyone's."""
    team, membership = get_team_for_user(request, slug)
    token = token_of_team(team=team, pk=pk)
    if token is None or (token.user_id != request.user.pk and not membership.is_owner):
        raise Http404("No such token.")
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if token_revoke(token=token, user=request.user, client_ip=client_ip(request)):
        messages.success(request, _("The token %(name)s is revoked: it no longer works.") % {"name": token.name})
    if request.POST.get("back") == "account":
        return redirect("account")
    return redirect("team_api_tokens", slug=team.slug)

