"""Webhook subscriptions at Linq, managed by a team's owners: create, pause/resume, delete, test delivery.

Each call to Linq is recorded in the audit history (action "subscription"), never with the
signing secret or the receiver's unguessable path. The secret Linq returns once, on create, is
stored encrypted (``WebhookEndpoint.set_secret``). Creating a subscription gives the team's
receiver a new path, so a subscription created earlier (whose secret is lost) can never be
confused with the new one.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import requests
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.urls import reverse
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from contactcards.common.clients import linq_client_for, log_linq_failure
from contactcards.history.audit import record_subscription_call
from contactcards.linq import LinqError, Subscription
from contactcards.models import AuditEntry, Team, WebhookEndpoint
from contactcards.sync.models import new_path_token
from contactcards.sync.webhooks import SUBSCRIBED_EVENTS

TEST_EVENT = "linqadmin.test"


@dataclass(frozen=True)
class Done:
    ok: bool
    error: LinqError | None = None
    detail: str = ""  # a fact for the page (e.g. the receiver's HTTP status on a test delivery)


def receiver_url(endpoint: WebhookEndpoint) -> str:
    return settings.PUBLIC_URL.rstrip("/") + reverse("webhook_receiver", args=[endpoint.path_token])


def _audit(team: Team, user: AbstractBaseUser, *, changes: dict, body: dict, error: LinqError | None,
           client_ip: str | None) -> AuditEntry:
    return record_subscription_call(team=team, user=user, changes=changes, body=body, error=error,
                                    client_ip=client_ip)


def subscription_create(*, team: Team, user: AbstractBaseUser, client_ip: str | None = None) -> Done:
    """Subscribe the team's receiver to contact-card events; keep the secret, encrypted."""
    if not settings.PUBLIC_URL:
        return Done(ok=False, detail="no_public_url")
    endpoint, _ = WebhookEndpoint.objects.get_or_create(team=team)
    endpoint.path_token = new_path_token()
    target = receiver_url(endpoint)
    try:
        created = linq_client_for(team).create_webhook_subscription(target, list(SUBSCRIBED_EVENTS))
    except LinqError as error:
        if error.kind != "token":
            log_linq_failure("create webhook subscription", team.slug, error)
            _audit(team, user, changes={"subscription": ["", "(create failed)"]},
                   body={"subscribed_events": list(SUBSCRIBED_EVENTS)}, error=error, client_ip=client_ip)
        return Done(ok=False, error=error)
    if not created.signing_secret:
        return Done(ok=False, detail="no_secret")
    endpoint.set_secret(created.signing_secret)
    endpoint.subscription_id, endpoint.target_url = created.id, target
    endpoint.save()
    _audit(team, user, changes={"subscription": ["", created.id]}, body={"subscribed_events": list(SUBSCRIBED_EVENTS)},
           error=None, client_ip=client_ip)
    return Done(ok=True)


def subscriptions_list(*, team: Team) -> tuple[list[Subscription], LinqError | None]:
    try:
        return linq_client_for(team).list_webhook_subscriptions(), None
    except LinqError as error:
        return [], error


def subscription_change(*, team: Team, user: AbstractBaseUser, subscription_id: str, action: str,
                        client_ip: str | None = None) -> Done:
    """``action``: "pause", "resume" or "delete". Deleting this team's subscription forgets its secret."""
    client = linq_client_for(team)
    try:
        if action == "delete":
            client.delete_webhook_subscription(subscription_id)
        else:
            client.set_webhook_subscription_active(subscription_id, action == "resume")
    except LinqError as error:
        if error.kind != "token":
            _audit(team, user, changes={"subscription": [subscription_id, action]}, body={"action": action},
                   error=error, client_ip=client_ip)
        return Done(ok=False, error=error)
    if action == "delete":
        WebhookEndpoint.objects.filter(team=team, subscription_id=subscription_id).update(
            subscription_id="", secret_encrypted="")
    _audit(team, user, changes={"subscription": [subscription_id, action]}, body={"action": action}, error=None,
           client_ip=client_ip)
    return Done(ok=True)


def delivery_test(*, team: Team) -> Done:
    """Send a signed test event to our own public receiver URL, as Linq would: checks that the public
    URL reaches this app and that the stored secret verifies. The event is stored and ignored."""
    endpoint = WebhookEndpoint.objects.filter(team=team).first()
    if endpoint is None or not endpoint.has_secret or not endpoint.target_url:
        return Done(ok=False, detail="no_subscription")
    now = int(time.time())
    message_id = f"msg_test_{uuid.uuid4().hex}"
    body = json.dumps({"event_type": TEST_EVENT, "event_id": message_id,
                       "created_at": datetime.fromtimestamp(now, tz=UTC).isoformat(),
                       "data": {"occurred_at": timezone.now().isoformat()}})
    signature = Webhook(endpoint.get_secret()).sign(message_id, datetime.fromtimestamp(now, tz=UTC), body)
    try:
        answer = requests.post(endpoint.target_url, data=body.encode(), timeout=(3, 10), allow_redirects=False,
                               headers={"Content-Type": "application/json", "webhook-id": message_id,
                                        "webhook-timestamp": str(now), "webhook-signature": signature})
    except requests.RequestException as exc:
        return Done(ok=False, detail=f"not reached ({type(exc).__name__})")
    return Done(ok=200 <= answer.status_code < 300, detail=f"HTTP {answer.status_code}")
