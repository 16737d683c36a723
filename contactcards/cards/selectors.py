"""Reads for the card page: the number's recent history, a used form token (the card at Linq: services.reads)."""

from __future__ import annotations

from django.db.models import QuerySet

from contactcards.linq import Card
from contactcards.models import AuditEntry, CardMirror, FormToken, PhoneNumber

RECENT_ENTRIES = 5


def recent_entries(*, number: PhoneNumber) -> QuerySet[AuditEntry]:
    """The number's newest audit entries, for the card page's side column."""
    return AuditEntry.objects.filter(number=number)[:RECENT_ENTRIES]


def form_token_used(token: str) -> FormToken | None:
    """The row of a card form's one-time token once its write was sent (None: never used)."""
    return FormToken.objects.select_related("entry").filter(token=token).first() if token else None


def known_card(*, number: PhoneNumber) -> Card | None:
    """The card as last known (the mirror), for a page that did not read Linq again: after a refused save,
    the "Current card at Linq" box still shows what Linq has. None: no card known."""
    row = CardMirror.objects.filter(number=number, has_card=True).first()
    if row is None:
        return None
    return Card(phone_number=number.e164, first_name=row.first_name, last_name=row.last_name or None,
                image_url=row.image_url or None, is_active=row.is_active)

