"""The card form's one-time tokens (one write per form). Imported from ``contactcards.models``."""

from __future__ import annotations

from django.db import models

from contactcards.history.models import AuditEntry
from contactcards.teams.models import PhoneNumber


class FormToken(models.Model):
    """A card form's one-time token, consumed (inserted) when the form's write is sent to Linq.

    The unique insert is the atomic "first one wins": a double click, a browser resubmit or a
    second tab posting the same form finds the row and sends nothing. Tokens are random and
    unguessable but not secret; a form that never causes a write leaves no row.
    """

    token = models.CharField(max_length=64, unique=True)
    number = models.ForeignKey(PhoneNumber, models.CASCADE, related_name="+")
    entry = models.ForeignKey(AuditEntry, models.SET_NULL, null=True, blank=True, related_name="+")
    used_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # Each write removes the tokens older than FORM_TOKEN_TTL (guard.consume_form_token): an index
        # range, not a scan of every token of the last two days (thousands in a rollout).
        indexes = [models.Index(fields=["used_at"], name="formtoken_used_at")]

    def __str__(self) -> str:
        return f"form token for {self.number_id} used at {self.used_at:%Y-%m-%d %H:%M:%S}"
