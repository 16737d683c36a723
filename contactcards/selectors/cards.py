"""Reads for the card page: the number's recent history, a used form token (the card at Linq: services.reads)."""

from __future__ import annotations

from django.db.models import QuerySet

from contactcards.models import AuditEntry, FormToken, PhoneNumber

RECENT_ENTRIES = 5


def recent_entries(*, number: PhoneNumber) -> QuerySet[AuditEntry]:
    """The number's newest audit entries, for the card page's side column."""
    return AuditEntry.objects.filter(number=number)[:RECENT_ENTRIES]


def form_token_used(token: str) -> FormToken | None:
    """The row of a card form's one-time token once its write was sent (None: never used)."""
    return FormToken.objects.select_related("entry").filter(token=token).first() if token else None
