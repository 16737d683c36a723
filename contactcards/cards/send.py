"""Sending one write to Linq for a committed attempt, and recording what happened (the save's phase 2).

The attempt is already in the history as "pending" (``history.audit.write_ahead``, under the
number's lock); here the call is made outside any transaction, never retried, and its outcome is
filled in once. After an unanswered call the card is re-read first: the row says the change took
effect when the card shows it, and nothing yet otherwise (Linq may still apply it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from contactcards.alerts.services import note_linq_error
from contactcards.cards.diff import took_effect
from contactcards.common.clients import log_linq_failure
from contactcards.history.audit import Attempt, record_outcome
from contactcards.linq import Card, CardResult, LinqClient, LinqError
from contactcards.models import AuditEntry
from contactcards.sync import mirror
from contactcards.sync.reads import card_fetch


@dataclass(frozen=True)
class WriteRecord:
    """What ``send_write`` recorded: the stored row, and the card or the error."""

    entry: AuditEntry
    card: Card | None = None  # Linq's answer, or the re-read after an unanswered call
    error: LinqError | None = None
    applied: bool | None = None  # after an unanswered call: True if the re-read showed the change, else unknown


def send_write(entry: AuditEntry, attempt: Attempt, *, client: LinqClient,
               call: Callable[[LinqClient], CardResult]) -> WriteRecord:
    """Make the write call for a committed attempt and record its outcome. Never retries.

    When the answer does not say (timeout, dropped connection, unreadable answer, an error page
    without Linq's code), the card is re-read *before* the outcome is recorded: if it shows the
    change, the row says it took effect; if not, the row says nothing about it (``applied`` empty) -
    Linq may still apply it - until a read after its window settles it (``sync.settle``). Anything
    else that stops this function (the process killed, the database gone) leaves the attempt
    "pending", for that read too.
    """
    started = timezone.now()
    try:
        result = call(client)
    except LinqError as error:
        log_linq_failure(attempt.action, attempt.number.e164, error)
        note_linq_error(attempt.number.team_id, error)
        card, applied = _recheck(client, attempt, error)
        record_outcome(entry, error=error, applied=applied)
        return WriteRecord(entry=entry, card=card, error=error, applied=applied)
    with transaction.atomic():  # one commit for both: the outcome and the card it left
        record_outcome(entry, result=result)
        mirror.record_card(number=attempt.number, card=result.card, source=mirror.Source.WRITE, as_of=started)
    return WriteRecord(entry=entry, card=result.card)


def _recheck(client: LinqClient, attempt: Attempt, error: LinqError) -> tuple[Card | None, bool | None]:
    """After an unanswered write: re-read the card (a free GET). (card, True) when it shows the change;
    (card, None) when it does not - Linq may still apply it, so that says nothing yet."""
    if not error.outcome_unknown:
        return None, None
    load = card_fetch(number=attempt.number, client=client)  # remembered like any read; settles older writes
    if load.error is not None:
        return None, None
    return load.card, (True if took_effect(load.card, attempt.changes) else None)
