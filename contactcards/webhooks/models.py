"""Webhook endpoints (one per team) and the events they received.

Imported into ``contactcards.models`` so contactcards stays one Django app with one set of migrations.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from contactcards import crypto


def new_path_token() -> str:
    return secrets.token_urlsafe(24)


class WebhookEndpoint(models.Model):
    """Where Linq delivers a team's events: an unguessable path, and the subscription's signing secret.

    The secret (``whsec_...``) is returned by Linq once, when the subscription is created; it is
    stored encrypted like the team's token and never shown again. ``refused`` counts deliveries
    refused for a bad or stale signature (nothing was stored or changed for them).
    """

    team = models.OneToOneField("contactcards.Team", models.CASCADE, related_name="webhook_endpoint")
    path_token = models.CharField(max_length=64, unique=True, default=new_path_token, editable=False)
    secret_encrypted = models.TextField(blank=True, editable=False)
    subscription_id = models.CharField(max_length=200, blank=True)
    target_url = models.URLField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    received = models.PositiveIntegerField(default=0)
    last_received_at = models.DateTimeField(null=True, blank=True)
    refused = models.PositiveIntegerField(default=0)
    last_refused_at = models.DateTimeField(null=True, blank=True)
    last_refused_reason = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"webhook endpoint of team {self.team_id}"  # no-i18n

    def set_secret(self, secret: str) -> None:
        self.secret_encrypted = crypto.encrypt(secret) if secret else ""

    def get_secret(self) -> str:
        return crypto.decrypt(self.secret_encrypted) if self.secret_encrypted else ""

    @property
    def has_secret(self) -> bool:
        return bool(self.secret_encrypted)


class WebhookEvent(models.Model):
    """One delivery accepted by the receiver: the raw body as Linq signed it, then what processing made of it.

    ``webhook_id`` is unique per team, so Linq's retries and replays of the same message are no-ops.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be processed")
        RECORDED = "recorded", _("Recorded in the history")
        MATCHED = "matched", _("Matched to a change made here")
        IGNORED = "ignored", _("Ignored")

    team = models.ForeignKey("contactcards.Team", models.CASCADE, related_name="webhook_events")
    webhook_id = models.CharField(max_length=200)
    signed_at = models.DateTimeField()  # the webhook-timestamp header
    received_at = models.DateTimeField(auto_now_add=True)
    body = models.BinaryField()
    event_type = models.CharField(max_length=100, blank=True)
    event_id = models.CharField(max_length=200, blank=True)
    phone_number = models.CharField(max_length=32, blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    note = models.CharField(max_length=300, blank=True)  # why it was ignored, in facts
    processed_at = models.DateTimeField(null=True, blank=True)
    # The history entry this event became, or the one it confirmed (our own write, or a change
    # reconcile had already found).
    entry = models.ForeignKey("contactcards.AuditEntry", models.SET_NULL, null=True, blank=True,
                              related_name="webhook_events")
    card_active = models.BooleanField(null=True, blank=True)  # what Linq said about is_active, if anything

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["team", "webhook_id"], name="unique_webhook_id_per_team"),
        ]
        indexes = [models.Index(fields=["team", "event_id"], name="webhook_event_team_event_id")]

    def __str__(self) -> str:
        return f"{self.event_type or 'event'} {self.webhook_id} ({self.status})"


class OutsideChangeAlert(models.Model):
    """An owner who asked to be emailed when a card of the team is changed outside linqadmin."""

    team = models.ForeignKey("contactcards.Team", models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="unique_outside_alert")]
