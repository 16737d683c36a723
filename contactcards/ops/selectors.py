"""What /metrics reads from the database at scrape time: cheap, bounded, indexed queries.

Being read from the database, not counted by the process that did the work, these say the truth
even when no worker runs: a queue that stopped moving shows its depth and the age of its oldest
waiting task growing, whichever web process is scraped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Count, Min, Q
from django_tasks_db.models import DBTaskResult, get_date_max

from contactcards.models import AuditEntry

# The outcomes an unsettled write can have (``history.models.unsettled_q``): spelled out beside it; the
# query's condition holds the partial index ``audit_number_unsettled``'s, so the database scans only that index.
UNSETTLED_OUTCOMES = (AuditEntry.Outcome.PENDING, AuditEntry.Outcome.UNKNOWN, AuditEntry.Outcome.API_ERROR,
                      AuditEntry.Outcome.NETWORK_ERROR)


@dataclass(frozen=True)
class QueueState:
    queue: str
    waiting: int  # due now, not started
    scheduled: int  # waiting for their run_after
    oldest_waiting_since: datetime | None  # since when the oldest waiting task could have run


@dataclass(frozen=True)
class Unsettled:
    count: int  # writes whose outcome is unknown that a read may settle now (not in flight)
    oldest: datetime | None  # the oldest one's creation


def task_queues(*, now: datetime) -> list[QueueState]:
    """Every configured queue (zeros included, so an alert always has a series), from one grouped query
    over the ready tasks (django-tasks-db's partial index on status READY)."""
    never = get_date_max()  # run_after of a task enqueued without one: due since it was enqueued
    due = Q(run_after=never) | Q(run_after__lte=now)
    rows = (DBTaskResult.objects.filter(status="READY").values("queue_name").order_by()
            .annotate(waiting=Count("id", filter=due),
                      scheduled=Count("id", filter=Q(run_after__gt=now, run_after__lt=never)),
                      oldest_enqueued=Min("enqueued_at", filter=Q(run_after=never)),
                      oldest_run_after=Min("run_after", filter=Q(run_after__lte=now))))
    found = {row["queue_name"]: row for row in rows}
    names = sorted({*settings.TASKS["default"].get("QUEUES", ["default"]), *found})
    states = []
    for name in names:
        row = found.get(name) or {}
        since = [value for value in (row.get("oldest_enqueued"), row.get("oldest_run_after")) if value is not None]
        states.append(QueueState(queue=name, waiting=row.get("waiting", 0), scheduled=row.get("scheduled", 0),
                                 oldest_waiting_since=min(since) if since else None))
    return states


def unsettled_writes(*, now: datetime) -> Unsettled:
    """Writes sent whose outcome nobody knows yet and that a read may settle now
    (``AuditEntry.objects.awaiting_settlement``): their count and the oldest one's time, one query."""
    rows = AuditEntry.objects.awaiting_settlement(now=now).filter(outcome__in=UNSETTLED_OUTCOMES)
    found = rows.aggregate(count=Count("id"), oldest=Min("created_at"))
    return Unsettled(count=found["count"] or 0, oldest=found["oldest"])
