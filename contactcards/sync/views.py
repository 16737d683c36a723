"""Linq's webhooks: the per-team receiver (public, signed) and the owners' webhook settings page."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from contactcards.common.access import get_team_for_user, require_owner
from contactcards.common.errors import meaning
from contactcards.common.http import client_ip
from contactcards.lib.metrics import record_webhook
from contactcards.models import WebhookEndpoint, WebhookEvent
from contactcards.sync import subscriptions
from contactcards.sync.webhooks import MAX_BODY, receive


@csrf_exempt
@login_not_required
def webhook_receiver(request: HttpRequest, token: str) -> HttpResponse:
    """Where Linq delivers a team's events. Unknown paths are 404; refused signatures 400 (counted)."""
    endpoint = WebhookEndpoint.objects.filter(path_token=token[:64]).first()
    if endpoint is None:
        record_webhook("refused", "unknown_endpoint")
        raise Http404("No such endpoint.")
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = MAX_BODY + 1
    if length > MAX_BODY:
        record_webhook("refused", "too_large")
        return JsonResponse({"status": "too_large"}, status=413)
    try:
        body = request.body
    except RequestDataTooBig:
        record_webhook("refused", "too_large")
        return JsonResponse({"status": "too_large"}, status=413)
    headers = {name.lower(): value for name, value in request.headers.items()}
    receipt = receive(endpoint=endpoint, body=body, headers=headers)
    return JsonResponse({"status": receipt.reason}, status=receipt.status)


def webhooks_page(request: HttpRequest, slug: str) -> HttpResponse:
    """Every member sees whether webhooks are on and what arrived; owners manage the subscription."""
    team, membership = get_team_for_user(request, slug)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    return _render(request, team, membership)


def _render(request, team, membership, *, status: int = 200, **extra) -> HttpResponse:
    endpoint = WebhookEndpoint.objects.filter(team=team).first()
    listed, list_error = ([], None)
    if membership.is_owner and team.has_token:
        listed, list_error = subscriptions.subscriptions_list(team=team)
    context = {
        "team": team, "membership": membership, "endpoint": endpoint,
        "public_url": settings.PUBLIC_URL,
        "subscriptions": listed, "list_error": meaning(list_error) if list_error else None,
        "events": WebhookEvent.objects.filter(team=team).select_related("entry")[:20],
        **extra,
    }
    return render(request, "contactcards/webhooks.html", context, status=status)


def _owner_post(request: HttpRequest, slug: str):
    team, membership = get_team_for_user(request, slug)
    require_owner(membership)
    if request.method != "POST":
        return team, membership, HttpResponseNotAllowed(["POST"])
    return team, membership, None


def webhooks_create(request: HttpRequest, slug: str) -> HttpResponse:
    team, membership, refused = _owner_post(request, slug)
    if refused:
        return refused
    done = subscriptions.subscription_create(team=team, user=request.user, client_ip=client_ip(request))
    return _after(request, team, membership, done, _("Subscribed: Linq will deliver this team's card events here."))


def webhooks_subscription(request: HttpRequest, slug: str, subscription_id: str) -> HttpResponse:
    """Pause, resume or delete one of the subscriptions Linq lists for the team's token (404 for any other)."""
    team, membership = get_team_for_user(request, slug)
    require_owner(membership)
    listed, error = subscriptions.subscriptions_list(team=team) if len(subscription_id) <= 200 else ([], None)
    if error is not None:
        return _render(request, team, membership, failure=subscriptions.Done(ok=False, error=error),
                       failure_error=meaning(error))
    if not any(s.id == subscription_id for s in listed):
        raise Http404("No such subscription.")
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    action = request.POST.get("action", "")
    if action not in ("pause", "resume", "delete"):
        return _render(request, team, membership, status=400, bad_action=True)
    done = subscriptions.subscription_change(team=team, user=request.user, subscription_id=subscription_id,
                                             action=action, client_ip=client_ip(request))
    words = {"pause": _("Subscription paused."), "resume": _("Subscription resumed."),
             "delete": _("Subscription deleted.")}
    return _after(request, team, membership, done, words[action])


def webhooks_test(request: HttpRequest, slug: str) -> HttpResponse:
    team, membership, refused = _owner_post(request, slug)
    if refused:
        return refused
    done = subscriptions.delivery_test(team=team)
    return _render(request, team, membership, test_result=done)


def _after(request, team, membership, done, success: str) -> HttpResponse:
    if done.ok:
        messages.success(request, success)
        return redirect("webhooks", slug=team.slug)
    return _render(request, team, membership, status=400 if done.error is None else 200,
                   failure=done, failure_error=meaning(done.error) if done.error else None)
