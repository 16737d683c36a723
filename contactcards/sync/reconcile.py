"""Reconcile: read all of a team's cards in one call and record what changed that nobody told us about.

Used by the dashboard's refresh button, ``manage.py reconcile [SLUG]`` and the periodic task
(``reconcile_all_teams``, which schedules its next run itself). Every difference between Linq's cards
and the mirror - a change no webhook told us about, or one made while webhooks were off - becomes
a history entry "changed outside linqadmin (found by reconcile)". Numbers read for the first
time are only remembered (there is nothing to compare them with). Like every read, it settles our
own writes whose outcome was unknown first (``settle.settle_attempts``), and a difference one of them
explains is ours, not an outside change (``outside.unexplained``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from contactcards.alerts.services import note_linq_error, schedule_digests
from contactcards.common.clients import linq_client_for, log_linq_failure
from contactcards.linq import LinqClient, LinqError
from contactcards.models import AuditEntry, PhoneNumber, Team, TeamSync
from contactcards.sync import health, mirror
from contactcards.sync.outside import card_diff, record_outside_change, unexplained
from contactcards.sync.settle import settle_attempts

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReconcileResult:
    entries: list[AuditEntry] = field(default_factory=list)  # the outside changes found
    line_entries: list[AuditEntry] = field(default_factory=list)  # the line-health changes found
    error: LinqError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def reconcile_team(*, team: Team, username: str = "", client: LinqClient | None = None) -> ReconcileResult:
    """One ``GET /v3/contact_card`` for all of the team's cards, compared with and recorded in the mirror."""
    started = timezone.now()
    try:
        cards = (client or linq_client_for(team)).list_cards()
    except LinqError as error:
        if error.kind != "token":
            log_linq_failure("GET all cards", team.slug, error)
        note_linq_error(team.pk, error)
        TeamSync.objects.update_or_create(team=team, defaults={"error_at": started, "error_message": error.message})
        return ReconcileResult(error=error)
    entries = []
    changed = mirror.record_cards(team=team, cards=cards, source=mirror.Source.RECONCILE, as_of=started)
    by_number = {card.phone_number: card for card in cards}
    waiting = AuditEntry.objects.awaiting_settlement().filter(team=team).values("number_id")
    for number in PhoneNumber.objects.filter(team=team, pk__in=waiting).order_by("pk"):
        settle_attempts(number, by_number.get(number.e164), read_at=started)  # our own writes first
    for change in changed:
        if change.before is None:
            continue  # first knowledge of this number: nothing to compare with
        before = change.before if change.before["has_card"] else None
        after = change.after if change.after["has_card"] else None
        changes = unexplained(number=change.number, changes=card_diff(before, after),
                              card=by_number.get(change.number.e164), read_at=started, known_as_of=change.known_as_of)
        if changes:
            entries.append(record_outside_change(number=change.number, changes=changes, found_by="reconcile"))
    TeamSync.objects.update_or_create(
        team=team, defaults={"refreshed_at": started, "refreshed_by": username, "error_at": None, "error_message": ""},
    )
    # The lines too (one GET /v3/phone_numbers): status, reputation, released (sync.health). A failure here
    # is logged there and leaves what we knew; the cards' read above stands.
    lines = health.read_lines(team=team, source=health.Source.RECONCILE, client=client)
    return ReconcileResult(entries=entries, line_entries=lines.entries)


@task()
def reconcile_all_teams(reschedule: bool = True) -> dict[str, int]:
    """Reconcile every team that has a token; then schedule the next run (``RECONCILE_INTERVAL``)."""
    found = {}
    for team in Team.objects.exclude(token_encrypted=""):
        result = reconcile_team(team=team, username="reconcile (periodic)")
        found[team.slug] = len(result.entries) if result.ok else -1
    _wake_audit_streams()
    schedule_digests()  # the alerts' hourly chain: started again if it was lost
    if reschedule:
        schedule_reconcile()
    return found


def _wake_audit_streams() -> None:
    """The audit streams' watchdog rides on the periodic run: a stream whose wake-up was lost is woken."""
    from contactcards.streams.delivery import wake_waiting

    wake_waiting()


def schedule_reconcile() -> None:
    """Enqueue the next periodic reconcile unless one is already waiting (one chain, however often called)."""
    from django_tasks_db.models import DBTaskResult

    from contactcards.common import taskqueue

    interval = settings.RECONCILE_INTERVAL_SECONDS
    if interval <= 0:
        return
    if DBTaskResult.objects.filter(task_path=reconcile_all_teams.module_path, status="READY").exists():
        return
    taskqueue.enqueue(reconcile_all_teams, run_after=timezone.now() + timedelta(seconds=interval))
