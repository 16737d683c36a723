"""Sending one write to Linq for a committed attempt, and recording what happened (the save's phase 2).

The attempt is already in the history as "pending" (``history.audit.write_ahead``, under the
number's lock); here the call is made outside any transaction, never retried, and its outcome is
filled in once. After an unanswered call the card is re-read first, so the row says whether the
change took effect.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone

from contactcards.cards.diff import took_effect
from contactcards.common.clients import log_linq_failure
from contactcards.history.audit import Attempt, record_outcome
from contactcards.linq import Card, CardResult, LinqClient, LinqError
from contactcards.models import AuditEntry
from contactcards.sync import mirror


@dataclass(frozen=True)
class WriteRecord:
    """What ``send_write`` recorded: the stored row, and the card or the error."""

    entry: AuditEntry
    card: Card | None = None  # Linq's answer, or the re-read after an unanswered call
    error: LinqError | None = None
    applied: bool | None = None  # after an unanswered call: did the re-read show the change?


def send_write(entry: AuditEntry, attempt: Attempt, *, client: LinqClient,
               call: Callable[[LinqClient], CardResult]) -> WriteRecord:
    """Make the write call for a committed attempt and record its outcome. Never retries.

    When the outcome is unknown (timeout, dropped connection, unreadable answer), the card is
    re-read *before* the outcome is recorded, so the row says whether the change took effect.
    Anything else that stops this function (the process killed, the database gone) leaves the
    attempt "pending", for ``reconcile``.
    """
    started = timezone.now()
    try:
        result = call(client)
    except LinqError as error:
        log_linq_failure(attempt.action, attempt.number.e164, error)
        card, applied = _recheck(client, attempt, error)
        record_outcome(entry, error=error, applied=applied)
        return WriteRecord(entry=entry, card=card, error=error, applied=applied)
    record_outcome(entry, result=result)
    mirror.record_card(number=attempt.number, card=result.card, source=mirror.Source.WRITE, as_of=started)
    return WriteRecord(entry=entry, card=result.card)


def _recheck(client: LinqClient, attempt: Attempt, error: LinqError) -> tuple[Card | None, bool | None]:
    """After an unanswered write: re-read the card (a free GET) to learn whether it took effect."""
    if not error.outcome_unknown:
        return None, None
    started = timezone.now()
    try:
        card = client.get_card(attempt.number.e164)
    except LinqError:
        return None, None
    mirror.record_card(number=attempt.number, card=card, source=mirror.Source.READ, as_of=started)
    return card, took_effect(card, attempt.changes)


