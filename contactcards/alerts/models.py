"""Alerts: what happened (``AlertEvent``), who asked to be told (``AlertSubscription``), and each telling
(``AlertDelivery``). Imported from ``contactcards.models`` (one Django app, one set of migrations).

Facts in rows, words in templates: an event stores its kind and facts (numbers, codes, counts, the id of
the history entry it is about); ``templates/alerts/`` words them for a mail or a chat message, in the reader's language.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from contactcards.common import crypto
from contactcards.teams.models import Team


class AlertKind(models.TextChoices):
    LINE_FLAGGED = "line_flagged", _("A line was flagged by Linq")
    LINE_AT_RISK = "line_at_risk", _("A line's reputation is at risk")
    LINE_CRITICAL = "line_critical", _("A line's reputation is critical")
    LINE_ASSIGNED = "line_assigned", _("A line was assigned to the team's token")
    LINE_RELEASED = "line_released", _("A line was released")
    OUTSIDE_CHANGE = "outside_change", _("A card was changed outside linqadmin")
    JOB_FAILED = "job_failed", _("A job finished with failures")
    SCHEDULE_FAILED = "schedule_failed", _("A scheduled change could not be sent")
    TOKEN_REFUSED = "token_refused", _("Linq refused the team's token")
    WEBHOOKS_REFUSED = "webhooks_refused", _("Webhook deliveries were refused for a while")


class AlertSubscription(models.Model):
    """Someone who asked to be told of some kinds of alerts of a team.

    A person's own subscription (``user`` set) goes to their account's email address (read when each
    alert is sent) or to a chat webhook of theirs; a team channel (``user`` empty, set by an owner) goes
    to ``email`` or to a chat webhook. A chat webhook's URL is a secret (whoever has it can post to the
    channel): stored encrypted, never rendered back - the page shows its host only.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        CHAT = "chat", _("Chat (incoming webhook, Slack-compatible)")

    class Cadence(models.TextChoices):
        IMMEDIATE = "immediate", _("At once")
        DIGEST = "digest", _("A daily digest")

    team = models.ForeignKey(Team, models.CASCADE, related_name="alert_subscriptions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, null=True, blank=True, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    email = models.EmailField(max_length=254, blank=True)  # a team channel's address
    webhook_url_encrypted = crypto.EncryptedTextField(blank=True, editable=False)
    webhook_host = models.CharField(max_length=253, blank=True)  # what people see of the webhook
    kinds = models.JSONField(default=list)  # AlertKind values
    cadence = models.CharField(max_length=10, choices=Cadence.choices, default=Cadence.IMMEDIATE)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150, blank=True)
    digest_until = models.DateTimeField(null=True, blank=True)  # the last digest covered events up to here

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["team", "cadence"], name="alertsub_team_cadence")]

    def __str__(self) -> str:
        return f"alert subscription {self.pk} of team {self.team_id}"  # no-i18n

    def set_webhook_url(self, url: str) -> None:
        self.webhook_url_encrypted = crypto.encrypt(url) if url else ""

    def get_webhook_url(self) -> str:
        return crypto.decrypt(self.webhook_url_encrypted) if self.webhook_url_encrypted else ""

    @property
    def is_personal(self) -> bool:
        return self.user_id is not None

    @property
    def target(self) -> str:
        """Where it goes, for people (never the webhook's secret path)."""
        if self.channel == self.Channel.CHAT:
            return self.webhook_host
        return self.email if not self.is_personal else (self.user.email if self.user else "")

    def kind_labels(self) -> list[str]:
        labels = dict(AlertKind.choices)
        return [labels[kind] for kind in self.kinds if kind in labels]


class AlertEvent(models.Model):
    """One thing a team may be told of: its kind, its facts, the number and history entry it is about.

    ``dedupe_key`` (empty for most) makes an alert that must not repeat a row that exists once: the token
    refused and webhooks refused alerts carry their kind and period (``raise_alert(once_per=)``).
    """

    team = models.ForeignKey(Team, models.CASCADE, related_name="alert_events")
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    number = models.ForeignKey("contactcards.PhoneNumber", models.SET_NULL, null=True, blank=True, related_name="+")
    phone_number = models.CharField(max_length=32, blank=True)  # a copy: the number may be removed later
    # The history entry it is about: a plain id (pruning the history deletes entries; an alert never blocks it).
    entry_id = models.BigIntegerField(null=True, blank=True)
    facts = models.JSONField(default=dict)
    dedupe_key = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["team", "dedupe_key"], condition=~Q(dedupe_key=""),
                                               name="alertevent_unique_dedupe")]
        indexes = [models.Index(fields=["team", "created_at"], name="alertevent_team_created")]

    def __str__(self) -> str:
        return f"{self.kind} alert {self.pk} of team {self.team_id}"  # no-i18n


class AlertDelivery(models.Model):
    """One telling: one event (at once) or a day's events (a digest) to one subscription's address.

    The address is copied (``target``: an email address or a webhook's host), so the record stays
    true after the subscription is changed or deleted. ``error`` is a code (``Failure``), never a message
    that could carry a secret.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Being sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed, will be retried")
        GAVE_UP = "gave_up", _("Failed, given up")

    class Failure(models.TextChoices):
        ADDRESS = "address", _("the address is not allowed or does not resolve")
        CONNECTION = "connection", _("the connection was refused or broke")
        TIMEOUT = "timeout", _("no answer in time")
        TLS = "tls", _("no valid certificate for the host name")
        STATUS = "status", _("the receiver answered with an error status")
        SECRET = "secret", _("the webhook address cannot be decrypted")
        MAIL = "mail", _("the mail server refused or could not be reached")
        NO_ADDRESS = "no_address", _("there is no email address to send to")

    team = models.ForeignKey(Team, models.CASCADE, related_name="alert_deliveries")
    subscription = models.ForeignKey(AlertSubscription, models.SET_NULL, null=True, blank=True,
                                     related_name="deliveries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")
    channel = models.CharField(max_length=10, choices=AlertSubscription.Channel.choices)
    cadence = models.CharField(max_length=10, choices=AlertSubscription.Cadence.choices)
    target = models.CharField(max_length=254, blank=True)
    events = models.ManyToManyField(AlertEvent, related_name="deliveries")
    kind = models.CharField(max_length=20, blank=True)  # the one event's kind; "" for a digest
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=12, choices=Failure.choices, blank=True)
    error_status = models.PositiveSmallIntegerField(null=True, blank=True)  # the receiver's HTTP status

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["team", "-created_at"], name="alertdelivery_team_newest"),
                   models.Index(fields=["user", "-created_at"], name="alertdelivery_user_newest")]

    def __str__(self) -> str:
        return f"alert delivery {self.pk} ({self.status})"  # no-i18n
