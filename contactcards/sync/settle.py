"""Settling our own writes whose outcome is unknown: a re-read of the card says whether each took effect.

Opening a number, a save's re-read and ``manage.py reconcileattempts`` (cron) call this; the rows are
written by the history's one writer (``history.audit.settle``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from contactcards.cards.diff import took_effect
from contactcards.history import audit
from contactcards.linq import Card, LinqError
from contactcards.models import AuditEntry, PhoneNumber, Team
from contactcards.sync.reads import card_fetch


def settle_attempts(number: PhoneNumber, card: Card | None) -> list[AuditEntry]:
    """Record, for each of the number's attempts whose outcome is unknown, whether ``card`` (just
    re-read from Linq) shows its change. Attempts still in flight are left alone.

    A pending attempt (its process never recorded an answer) becomes "outcome unknown" with
    ``applied``; an answered attempt whose outcome was unknown gets ``applied``. Each is written
    once; a concurrent reconciler that got there first wins and this one skips the row.
    """
    done = []
    now = timezone.now()
    for entry in AuditEntry.objects.awaiting_reconciliation(now=now).filter(number=number).order_by("created_at"):
        applied = took_effect(card, entry.changes or {})
        if audit.settle(entry, applied=applied, at=now):
            done.append(entry)
    return done


@dataclass(frozen=True)
class SettleReport:
    settled: list[AuditEntry]
    unreadable: list[tuple[str, LinqError]]


def settle_all_attempts(*, team: Team | None = None) -> SettleReport:
    """``reconcile`` every number that has attempts awaiting it (for ``manage.py reconcileattempts``)."""
    waiting = AuditEntry.objects.awaiting_reconciliation().filter(number__isnull=False)
    if team is not None:
        waiting = waiting.filter(team=team)
    settled: list[AuditEntry] = []
    unreadable: list[tuple[str, LinqError]] = []
    numbers = PhoneNumber.objects.filter(pk__in=waiting.values("number_id")).select_related("team").order_by("pk")
    for number in numbers:
        load = card_fetch(number=number)
        if load.error is not None:
            unreadable.append((number.e164, load.error))
            continue
        settled += settle_attempts(number, load.card)
    return SettleReport(settled=settled, unreadable=unreadable)
