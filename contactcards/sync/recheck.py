"""Reading again the cards of our writes whose outcome is unknown, once their window is over.

Each attempt schedules ``tasks.recheck_attempts`` for the end of its window (``schedule_recheck``, in
the write-ahead transaction); ``manage.py reconcileattempts`` (cron) and the periodic reconcile read
whatever is left. A read settles what it can (``settle.settle_attempts``, via ``reads.card_fetch``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from contactcards.common import taskqueue
from contactcards.linq import LinqError
from contactcards.models import AuditEntry, PhoneNumber, Team, unknown_window
from contactcards.sync import tasks
from contactcards.sync.reads import card_fetch


def schedule_recheck(entry: AuditEntry) -> None:
    """Read the entry's card once its window is over (``recheck_attempts``), unless it is settled by then."""
    taskqueue.enqueue(tasks.recheck_attempts, entry.number_id, run_after=entry.created_at + unknown_window())


@dataclass(frozen=True)
class SettleReport:
    settled: list[AuditEntry]
    unreadable: list[tuple[str, LinqError]]
    unknown: list[AuditEntry]  # read, but not shown and still within their window: settled later


def settle_all_attempts(*, team: Team | None = None) -> SettleReport:
    """Read the card of every number that has writes a read may settle (for ``manage.py reconcileattempts``)."""
    waiting = AuditEntry.objects.awaiting_settlement().filter(number__isnull=False)
    if team is not None:
        waiting = waiting.filter(team=team)
    settled: list[AuditEntry] = []
    unreadable: list[tuple[str, LinqError]] = []
    numbers = list(PhoneNumber.objects.filter(pk__in=waiting.values("number_id")).select_related("team")
                   .order_by("pk"))
    for number in numbers:
        load = card_fetch(number=number)  # settles what the card tells (``reconcile``)
        if load.error is not None:
            unreadable.append((number.e164, load.error))
            continue
        settled += load.settled
    read = [number.pk for number in numbers if number.e164 not in {e164 for e164, _error in unreadable}]
    unknown = list(AuditEntry.objects.awaiting_settlement().filter(number_id__in=read).order_by("created_at"))
    return SettleReport(settled=settled, unreadable=unreadable, unknown=unknown)


RECHECK_TRIES = 5  # a card that cannot be read is tried again after 2, 4, 8, 16 minutes; then reconcile's turn


def recheck_number(number_pk: int, tries: int = 1) -> str:
    """What ``tasks.recheck_attempts`` does at the end of an attempt's window: read the number's card (one
    free GET) if it still has writes whose outcome is unknown, which settles them (``reads.card_fetch``
    calls ``settle.settle_attempts``). The periodic reconcile and ``manage.py reconcileattempts`` settle
    whatever this cannot."""
    number = PhoneNumber.objects.select_related("team").filter(pk=number_pk).first()
    if number is None or not AuditEntry.objects.awaiting_settlement().filter(number=number).exists():
        return "nothing to settle"
    load = card_fetch(number=number)
    if load.error is not None:
        if tries < RECHECK_TRIES:
            taskqueue.enqueue(tasks.recheck_attempts, number_pk, tries + 1,
                              run_after=timezone.now() + timedelta(minutes=2 ** tries))
        return "unreadable"
    return f"settled {len(load.settled)}"
