"""The alerts page (``/t/<team>/alerts/``): every member sets their own alerts and sees what they were told;
owners also set the team's channels (an address, a chat webhook) and see every delivery of the team.
Outsiders get 404 (the access helpers); a non-owner gets 403 for anything about a team channel. A chat
webhook's URL is never rendered: only its host.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters

from contactcards.alerts import selectors, services
from contactcards.alerts.forms import SubscriptionAddForm, SubscriptionChangeForm
from contactcards.common.access import get_alert_subscription_for_user, get_team_for_user, require_owner
from contactcards.models import AlertSubscription, Membership, Team


def _change_form(subscription: AlertSubscription, data=None) -> SubscriptionChangeForm:
    return SubscriptionChangeForm(data, prefix=f"a{subscription.pk}",
                                  initial={"kinds": subscription.kinds, "cadence": subscription.cadence})


def _render(request: HttpRequest, team: Team, membership: Membership, *, status: int = 200,
            mine_form: SubscriptionAddForm | None = None, team_form: SubscriptionAddForm | None = None,
            invalid: SubscriptionChangeForm | None = None) -> HttpResponse:
    def rows(subscriptions):
        return [(s, invalid if invalid is not None and invalid.prefix == f"a{s.pk}" else _change_form(s))
                for s in subscriptions]

    context = {
        "team": team, "membership": membership,
        "mine": rows(selectors.personal_subscriptions(team=team, user=request.user)),
        "channels": rows(selectors.team_channels(team=team)) if membership.is_owner else [],
        "channel_count": len(selectors.team_channels(team=team)),
        "mine_form": mine_form or SubscriptionAddForm(personal=True, prefix="mine"),
        "team_form": (team_form or SubscriptionAddForm(personal=False, prefix="team")) if membership.is_owner else None,
        "my_deliveries": selectors.personal_deliveries(team=team, user=request.user),
        "digest_hour": selectors.digest_hour(),
    }
    return render(request, "contactcards/alerts.html", context, status=status)


def alerts_page(request: HttpRequest, slug: str) -> HttpResponse:
    team, membership = get_team_for_user(request, slug)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    return _render(request, team, membership)


@sensitive_post_parameters("mine-webhook_url", "team-webhook_url")
def alerts_add(request: HttpRequest, slug: str, scope: str) -> HttpResponse:
    """Add one of my alerts (``scope`` "mine", any member) or a team channel ("team", owners)."""
    team, membership = get_team_for_user(request, slug)
    personal = scope == "mine"
    if not personal:
        require_owner(membership)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = SubscriptionAddForm(request.POST, personal=personal, prefix=scope)
    if not form.is_valid():
        return _render(request, team, membership, status=400,
                       **({"mine_form": form} if personal else {"team_form": form}))
    data = form.cleaned_data
    services.subscription_create(team=team, user=request.user, personal=personal, channel=data["channel"],
                                 kinds=data["kinds"], cadence=data["cadence"], email=data.get("email", ""),
                                 webhook_url=data["webhook_url"], webhook_host=data["webhook_host"])
    messages.success(request, _("Alert added.") if personal else _("Team channel added."))
    return redirect("alerts", slug=team.slug)


def alerts_change(request: HttpRequest, slug: str, alert_id: int) -> HttpResponse:
    """Change the kinds and the cadence of one alert, or delete it (``action=delete``)."""
    subscription, membership = get_alert_subscription_for_user(request, slug, alert_id)
    if not subscription.is_personal:
        require_owner(membership)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    team = subscription.team
    if request.POST.get("action") == "delete":
        services.subscription_delete(subscription=subscription)
        messages.success(request, _("Alert deleted."))
        return redirect("alerts", slug=team.slug)
    form = _change_form(subscription, request.POST)
    if not form.is_valid():
        return _render(request, team, membership, status=400, invalid=form)
    if services.subscription_change(subscription=subscription, kinds=form.cleaned_data["kinds"],
                                    cadence=form.cleaned_data["cadence"]):
        messages.success(request, _("Alert changed."))
    else:
        messages.info(request, _("Nothing changed."))
    return redirect("alerts", slug=team.slug)


def alerts_deliveries(request: HttpRequest, slug: str) -> HttpResponse:
    """Every delivery of the team's alerts, who or where was told what and whether it got through (owners)."""
    team, membership = get_team_for_user(request, slug)
    require_owner(membership)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    return render(request, "contactcards/alerts_deliveries.html",
                  {"team": team, "membership": membership, "deliveries": selectors.team_deliveries(team=team)})
