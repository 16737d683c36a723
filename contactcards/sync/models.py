"""What we know of Linq: the card mirror (the last card per number), each team's last full read,
webhook endpoints (one per team) and the events they received, and who asked to hear of outside changes.

Imported from ``contactcards.models`` (one Django app, one set of migrations).
"""

from __future__ import annotations

import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _

from contactcards.common import crypto
from contactcards.teams.models import PhoneNumber, Team


def new_path_token() -> str:
    return secrets.token_urlsafe(24)


class WebhookEndpoint(models.Model):
    """Where Linq delivers a team's events: an unguessable path, and the subscription's signing secret.

    The secret (``whsec_...``) is returned by Linq once, when the subscription is created; it is
    stored encrypted like the team's token and never shown again. ``refused`` counts deliveries
    refused for a bad or stale signature (nothing was stored or changed for them); the last one's
    time and which check it failed are kept as a code (anyone can send a refused delivery: none
    of its text is ever kept or shown).
    """

    class Refusal(models.TextChoices):
        SIGNATURE = "signature", _("the signature does not match the secret")
        STALE = "stale", _("the signature's timestamp is more than 5 minutes old or ahead")
        MALFORMED = "malformed", _("its webhook headers are missing or malformed")

    team = models.OneToOneField("contactcards.Team", models.CASCADE, related_name="webhook_endpoint")
    path_token = models.CharField(max_length=64, unique=True, default=new_path_token, editable=False)
    secret_encrypted = crypto.EncryptedTextField(blank=True, editable=False)
    subscription_id = models.CharField(max_length=200, blank=True)
    target_url = models.URLField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    received = models.PositiveIntegerField(default=0)
    last_received_at = models.DateTimeField(null=True, blank=True)
    refused = models.PositiveIntegerField(default=0)
    last_refused_at = models.DateTimeField(null=True, blank=True)
    last_refused_reason = models.CharField(max_length=20, blank=True, choices=Refusal.choices)
    # Refusals since the first of the current window (``sync.webhooks``: the "webhooks refused" alert).
    refused_streak = models.PositiveIntegerField(default=0)
    refused_streak_since = models.DateTimeField(null=True, blank=True)

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


class CardMirror(models.Model):
    """The last card we know of for one number, and when and how we learned it.

    Fed by every card read and write the app makes, by Linq's webhooks and by reconcile, so the
    dashboard renders without calling Linq. ``as_of`` is the moment the knowledge was true at
    Linq - the event's ``occurred_at`` for a webhook, the moment our call was sent for a read or
    a write - and it only moves forward: older knowledge never overwrites newer (see
    ``sync.mirror``). ``has_card`` False means "Linq said this number has no card".
    """

    class Source(models.TextChoices):
        READ = "read", _("read from Linq")
        WRITE = "write", _("our write")
        WEBHOOK = "webhook", _("Linq webhook")
        RECONCILE = "reconcile", _("reconcile")

    number = models.OneToOneField(PhoneNumber, models.CASCADE, primary_key=True, related_name="mirror")
    has_card = models.BooleanField(default=False)
    first_name = models.TextField(blank=True)
    last_name = models.TextField(blank=True)
    image_url = models.TextField(blank=True)
    is_active = models.BooleanField(default=False)
    source = models.CharField(max_length=10, choices=Source.choices)
    as_of = models.DateTimeField()
    recorded_at = models.DateTimeField()
    # The newest change made outside linqadmin (webhook or reconcile), and when someone here last
    # opened the number's card page: the dashboard marks the number while the first is newer.
    outside_changed_at = models.DateTimeField(null=True, blank=True)
    seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("card mirror")

    def __str__(self) -> str:
        card = f"{self.first_name} {self.last_name}".strip() if self.has_card else "no card"
        return f"{self.number_id}: {card} ({self.source} as of {self.as_of:%Y-%m-%d %H:%M:%S})"

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part) if self.has_card else ""

    @property
    def changed_outside_unseen(self) -> bool:
        return self.outside_changed_at is not None and (self.seen_at is None or self.seen_at < self.outside_changed_at)


class LineHealth(models.Model):
    """What Linq last said about one line (``GET /v3/phone_numbers``, ``phone_number.*`` webhooks): its
    status (ACTIVE / FLAGGED), its reputation (HEALTHY / AT_RISK / CRITICAL; BETA at Linq) with Linq's
    page about it, and whether the line was released from the team's token.

    Kept in ``sync`` beside the card mirror, not in ``teams``: it is knowledge of Linq's state, fed by
    the same reads and webhooks, with the same rule - ``as_of`` (when it was true at Linq) only moves
    forward, so an older event never overwrites a newer read (``sync.health``). Values Linq sends that
    this app does not know are kept as ``UNKNOWN``; "" means Linq has not said.
    """

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE", _("Active")
        FLAGGED = "FLAGGED", _("Flagged")
        UNKNOWN = "UNKNOWN", _("Unknown")

    class Reputation(models.TextChoices):
        HEALTHY = "HEALTHY", _("Healthy")
        AT_RISK = "AT_RISK", _("At risk")
        CRITICAL = "CRITICAL", _("Critical")
        UNKNOWN = "UNKNOWN", _("Unknown")

    class Source(models.TextChoices):
        READ = "read", _("read from Linq")
        WEBHOOK = "webhook", _("Linq webhook")
        RECONCILE = "reconcile", _("reconcile")

    number = models.OneToOneField(PhoneNumber, models.CASCADE, primary_key=True, related_name="health")
    status = models.CharField(max_length=10, blank=True, choices=Status.choices)
    reputation = models.CharField(max_length=10, blank=True, choices=Reputation.choices)
    doc_url = models.TextField(blank=True)
    released = models.BooleanField(default=False)  # Linq released the line from the team's token
    source = models.CharField(max_length=10, choices=Source.choices)
    as_of = models.DateTimeField()
    recorded_at = models.DateTimeField()

    class Meta:
        verbose_name = _("line health")
        indexes = [models.Index(fields=["status", "reputation", "released"], name="line_health_state")]

    def __str__(self) -> str:
        released = " released" if self.released else ""
        return f"{self.number_id}: {self.status or '-'} / {self.reputation or '-'}{released}"

    @property
    def needs_attention(self) -> bool:
        return needs_attention(status=self.status, reputation=self.reputation, released=self.released)

    @property
    def doc_link(self) -> str:
        """Linq's page about the line, only when it is an http(s) link (anything else is never a link)."""
        return self.doc_url if self.doc_url.lower().startswith(("https://", "http://")) else ""


ATTENTION_REPUTATIONS = ("AT_RISK", "CRITICAL")


def needs_attention(*, status: str, reputation: str, released: bool) -> bool:
    """Flagged, at risk, critical or released: a line someone should look at (``attention_q`` in SQL)."""
    return released or status == "FLAGGED" or reputation in ATTENTION_REPUTATIONS


def attention_q(prefix: str = "") -> models.Q:
    """The same rule as :func:`needs_attention`, over ``LineHealth`` (``prefix``: the path to it)."""
    return (models.Q(**{prefix + "released": True}) | models.Q(**{prefix + "status": "FLAGGED"})
            | models.Q(**{prefix + "reputation__in": ATTENTION_REPUTATIONS}))


class TeamSync(models.Model):
    """A team's last full read of its cards from Linq (the dashboard's refresh button, reconcile)."""

    team = models.OneToOneField(Team, models.CASCADE, primary_key=True, related_name="sync")
    refreshed_at = models.DateTimeField(null=True, blank=True)
    refreshed_by = models.CharField(max_length=150, blank=True)
    error_at = models.DateTimeField(null=True, blank=True)
    error_message = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"sync of {self.team_id}"
