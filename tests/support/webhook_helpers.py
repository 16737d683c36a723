"""Signed deliveries for webhook tests: what Linq sends, built and signed with the team's secret."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from contactcards.models import WebhookEndpoint

DANA = {"type": "team_member", "id": "tm_1", "name": "Dana Dashboard", "email": "dana@example.com"}
SECRET = "whsec_" + base64.b64encode(b"secret-for-tests-only-01234567").decode()


def endpoint_for(team, secret: str = SECRET) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(team=team, subscription_id="sub_test", target_url="http://testserver/hooks/")
    endpoint.set_secret(secret)
    endpoint.save()
    return endpoint


def card_event(number: str, *, event_type: str = "contact_card.updated", occurred_at: datetime | None = None,
               card: dict | None = None, change: dict | None = None, actor: dict | None = None,
               origin: str = "dashboard", event_id: str | None = None) -> dict:
    occurred_at = occurred_at or timezone.now()
    data = {
        "summary": "display text only", "occurred_at": occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "actor": actor or DANA, "origin": origin, "phone_number": number,
        "contact_card": {"id": "cc_1", "first_name": "Acme", "last_name": "Support", "image_url": None, **(card or {})},
    }
    if event_type == "contact_card.updated":
        data["change"] = change if change is not None else {}
    return {"api_version": "v3", "webhook_version": "2026-02-03", "event_type": event_type,
            "event_id": event_id or f"evt_{uuid.uuid4().hex}", "created_at": data["occurred_at"],
            "partner_id": "p_1", "trace_id": uuid.uuid4().hex, "data": data}


def last_name_changed(number: str, old: str, new: str, **options) -> dict:
    """An update event: someone changed the last name from ``old`` to ``new``."""
    return card_event(number, card={"last_name": new, **options.pop("card", {})},
                      change={"last_name": {"from": old, "to": new}}, **options)


def deliver(client, endpoint: WebhookEndpoint, payload: dict | bytes, *, webhook_id: str | None = None,
            timestamp: float | None = None, secret: str | None = None, signature: str | None = None,
            headers: dict | None = None):
    """POST one delivery to the endpoint as Linq would (signed over the raw body)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    ts = int(time.time() if timestamp is None else timestamp)
    webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    if signature is None:
        signature = Webhook(secret or endpoint.get_secret()).sign(
            webhook_id, datetime.fromtimestamp(ts, tz=UTC), body.decode("utf-8", "replace"))
    sent = {"webhook-id": webhook_id, "webhook-timestamp": str(ts), "webhook-signature": signature,
            **(headers or {})}
    return client.post(f"/hooks/linq/{endpoint.path_token}/", data=body, content_type="application/json",
                       headers={k: v for k, v in sent.items() if v is not None})


def minutes_ago(minutes: float) -> datetime:
    return timezone.now() - timedelta(minutes=minutes)
