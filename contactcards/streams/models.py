"""Audit streams: where a team sends its history as it is written, and the outbox of what is still to send.

Imported from ``contactcards.models`` (one Django app, one set of migrations).

``StreamMessage`` is a transactional outbox: ``history.audit`` inserts one row per stream of the team in
the same transaction as the history change it describes (a new entry, a pending attempt's outcome, a
re-read's result), so a message exists exactly when its change committed. The delivery task numbers
the rows it can see in id order (``sequence``: 1, 2, 3 … per stream, no gaps), sends them in that order
and deletes each one only after the receiver took it. A row that commits late (concurrent transactions
commit out of id order) is not behind any cursor: it is simply the next one numbered. See
docs/audit-streaming.md.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from contactcards.common import crypto
from contactcards.teams.models import Team


class AuditStream(models.Model):
    """One receiver of a team's history: an https URL (signed webhooks) or a syslog server.

    The webhook signing secret (``whsec_…``) is generated here, shown once to the owner who created
    or rotated it, stored encrypted and never rendered again. The delivery columns are facts the
    settings page words: how far delivery got, since when it fails and with what (``last_error`` is a
    code, ``last_error_status`` the receiver's HTTP status), when it tries again.
    """

    class Kind(models.TextChoices):
        WEBHOOK = "webhook", _("Signed webhook (HTTPS)")
        SYSLOG = "syslog", _("Syslog (RFC 5424)")

    class Transport(models.TextChoices):
        UDP = "udp", _("UDP")
        TCP = "tcp", _("TCP")

    class Failure(models.TextChoices):
        ADDRESS = "address", _("the address is not allowed or does not resolve")
        CONNECTION = "connection", _("the connection was refused or broke")
        TIMEOUT = "timeout", _("no answer in time")
        TLS = "tls", _("no valid certificate for the host name")
        STATUS = "status", _("the receiver answered with an error status")
        SECRET = "secret", _("the signing secret cannot be decrypted")

    team = models.ForeignKey(Team, models.CASCADE, related_name="audit_streams")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    url = models.URLField(max_length=2000, blank=True)
    secret_encrypted = crypto.EncryptedTextField(blank=True, editable=False)
    secret_set_at = models.DateTimeField(null=True, blank=True)
    syslog_host = models.CharField(max_length=253, blank=True)
    syslog_port = models.PositiveIntegerField(null=True, blank=True)
    syslog_transport = models.CharField(max_length=3, choices=Transport.choices, blank=True)
    syslog_facility = models.PositiveSmallIntegerField(default=13)  # 13: log audit (RFC 5424)
    paused = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # Delivery state (streams.delivery).
    next_sequence = models.BigIntegerField(default=1)  # the sequence the next numbered message gets
    delivered = models.BigIntegerField(default=0)  # messages the receiver took
    last_delivered_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)  # first failure since the last delivery
    failures = models.PositiveIntegerField(default=0)  # consecutive failed attempts
    last_error = models.CharField(max_length=20, choices=Failure.choices, blank=True)
    last_error_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    retry_at = models.DateTimeField(null=True, blank=True)  # backoff: no attempt before this
    task_due_at = models.DateTimeField(null=True, blank=True)  # a delivery task is queued for then
    lease_until = models.DateTimeField(null=True, blank=True)  # a worker is delivering until then

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"audit stream {self.name} of team {self.team_id}"  # no-i18n

    def set_secret(self, secret: str) -> None:
        self.secret_encrypted = crypto.encrypt(secret) if secret else ""

    def get_secret(self) -> str:
        return crypto.decrypt(self.secret_encrypted) if self.secret_encrypted else ""

    @property
    def target(self) -> str:
        """Where it sends, for people and the history (never the secret)."""
        if self.kind == self.Kind.WEBHOOK:
            return self.url
        return f"{self.syslog_transport}://{self.syslog_host}:{self.syslog_port}"


class StreamMessage(models.Model):
    """One change of the history still to be delivered to one stream (the outbox; deleted once delivered).

    ``payload`` is the entry's facts as they were when the change committed; ``entry_id`` is a plain
    id (pruning may delete the entry before a slow stream sends it). ``sequence`` is given by the
    delivery task, in id order, once: a retry sends the same body with the same ``webhook-id``.
    """

    class Event(models.TextChoices):
        WRITTEN = "written", _("entry written")
        OUTCOME = "outcome", _("outcome recorded")
        SETTLED = "settled", _("outcome settled by a re-read")

    # No database constraint: a history write must never fail because a stream was deleted at that
    # moment (the outbox row would reference a row just gone). Deleting a stream deletes its messages
    # (Django's cascade); a message that raced with the deletion is removed by the watchdog.
    stream = models.ForeignKey(AuditStream, models.CASCADE, related_name="messages", db_constraint=False)
    entry_id = models.BigIntegerField()
    event = models.CharField(max_length=10, choices=Event.choices)
    payload = models.JSONField()
    created_at = models.DateTimeField()
    sequence = models.BigIntegerField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["stream", "id"], name="streammessage_stream_id"),
            models.Index(fields=["stream", "sequence"], name="streammessage_stream_seq"),
        ]

    def __str__(self) -> str:
        return f"{self.event} of entry {self.entry_id} for stream {self.stream_id}"  # no-i18n

    @property
    def message_id(self) -> str:
        """The ``webhook-id``: stable per entry and change, so a receiver can drop a repeat."""
        return f"audit_{self.entry_id}_{self.event}"
