"""Reads from Linq: one card's GET, remembered in the card mirror (services, not selectors: it writes).

Reads are not audited and do not spend the write budget. What Linq answered (a card or "no card")
goes to the mirror, so the dashboard shows it without asking Linq again. What it shows settles our
own writes whose outcome was unknown first; a difference from what we knew that none of them
explains is a change made outside linqadmin (``outside.note_read``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from contactcards.alerts.services import note_linq_error
from contactcards.common.clients import linq_client_for, log_linq_failure
from contactcards.linq import Card, LinqClient, LinqError
from contactcards.models import AuditEntry, PhoneNumber
from contactcards.sync.mirror import mark_seen
from contactcards.sync.outside import note_read


@dataclass(frozen=True)
class CardLoad:
    """The card (None: the number has none) or why it could not be read."""

    card: Card | None
    error: LinqError | None = None
    settled: tuple[AuditEntry, ...] = ()  # our writes whose outcome this read settled (settle.settle_attempts)


def card_fetch(*, number: PhoneNumber, client: LinqClient | None = None, seen: bool = False) -> CardLoad:
    """GET the number's card, remember what Linq answered and settle what it tells about our writes.

    ``seen``: a person opened the card page, so its "changed outside" mark on the dashboard goes.
    """
    started = timezone.now()
    try:
        card = (client or linq_client_for(number.team)).get_card(number.e164)
    except LinqError as error:
        log_linq_failure("GET card", number.e164, error)
        note_linq_error(number.team_id, error)
        if seen:
            mark_seen(number=number)
        return CardLoad(card=None, error=error)
    settled = note_read(number=number, card=card, as_of=started, seen=seen)
    return CardLoad(card=card, settled=tuple(settled))
