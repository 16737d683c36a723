"""Reads for the card page: the card at Linq, the number's recent history, a used form token."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from ..clients import linq_client_for, log_linq_failure
from ..linq import Card, LinqClient, LinqError
from ..models import AuditEntry, FormToken, PhoneNumber
from ..services.outside import note_read

RECENT_ENTRIES = 5


@dataclass(frozen=True)
class CardLoad:
    """The card (None: the number has none) or why it could not be read."""

    card: Card | None
    error: LinqError | None = None


def card_fetch(*, number: PhoneNumber, client: LinqClient | None = None) -> CardLoad:
    """GET the number's card. Reads are not audited and do not spend the write budget.

    What Linq answered (a card or "no card") is remembered in the card mirror, so the dashboard
    shows it without asking Linq again; if it differs from what we knew, the history records a
    change made outside linqadmin.
    """
    started = timezone.now()
    try:
        card = (client or linq_client_for(number.team)).get_card(number.e164)
    except LinqError as error:
        log_linq_failure("GET card", number.e164, error)
        return CardLoad(card=None, error=error)
    note_read(number=number, card=card, as_of=started)  # a difference from what we knew: changed outside
    return CardLoad(card=card)


def recent_entries(*, number: PhoneNumber) -> QuerySet[AuditEntry]:
    """The number's newest audit entries, for the card page's side column."""
    return AuditEntry.objects.filter(number=number)[:RECENT_ENTRIES]


def form_token_used(token: str) -> FormToken | None:
    """The row of a card form's one-time token once its write was sent (None: never used)."""
    return FormToken.objects.select_related("entry").filter(token=token).first() if token else None
