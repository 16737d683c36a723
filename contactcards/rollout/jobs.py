"""Rollouts: a confirmed plan becomes a Job with one JobItem per number, run by task-queue workers.

Every item goes through the card page's save service (``cards.services.card_update`` / ``card_create``):
the number's lock, the write budget, the conflict re-read and the audit entry (which carries the
job) all hold for rollouts exactly as for one person saving one card.

Exactly once, across workers and crashes:

* An item changes state only through a conditional UPDATE (``WHERE state = <what we saw>``), so of
  two workers that picked up the same item one claims it and the other does nothing.
* Each attempt has its own one-time save token (``FormToken``): it is consumed in the same
  transaction as the write's audit row, so if a worker dies after a write was recorded, the next
  look at the item finds the token and takes the recorded outcome instead of writing again.
* A worker killed mid-call (nothing recorded, outcome unknown) leaves its item RUNNING; the job's
  watchdog task gives such an item back to the queue after :data:`LEASE`. The next attempt re-reads
  the card under the lock and sends only what Linq does not already have, so a write that did
  reach Linq is not sent twice, and nothing is lost.

Waiting is scheduled, never polled: an item whose number has no write left is enqueued again with
``run_after`` at the budget's next free slot; 429 and 503/4004 wait as long as Linq asked; 500/2022
is retried a bounded number of times (each retry passes the budget check again).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, F, Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from contactcards.cards import services as cards
from contactcards.cards.outcomes import (
    Blocked,
    Busy,
    Conflict,
    Duplicate,
    Failed,
    ImageRefused,
    Next,
    NotChecked,
    OutcomeUnknown,
    Saved,
    SaveOutcome,
    SwitchToCreate,
    SwitchToEdit,
    Unchanged,
    next_step,
)
from contactcards.common.errors import wait_asked
from contactcards.linq import LinqError
from contactcards.models import AuditEntry, FormToken, Job, JobItem, Team
from contactcards.rollout.plan import Plan, PlanRow
from contactcards.teams.services import number_label_tags

logger = logging.getLogger(__name__)

State = JobItem.State
# A write-ahead attempt whose answer never came (the worker died during the call).
UNSETTLED = (AuditEntry.Outcome.PENDING, AuditEntry.Outcome.UNKNOWN)
LEASE = timedelta(minutes=5)  # longer than the slowest save: lock wait + re-read + write + re-read
MAX_SERVER_ERRORS = 3  # 500/2022 (and other retryable failures) before an item fails


# -- creating and cancelling ------------------------------------------------------


def job_create(*, team: Team, user, plan: Plan, source: str, description: str = "") -> Job:
    """Record the job (items to send, items skipped), apply label/tag changes, enqueue the items."""
    if not plan.can_confirm:
        raise ValueError(_("This plan cannot be confirmed."))
    with transaction.atomic():
        job = Job.objects.create(team=team, created_by=user, username=user.get_username(), source=source,
                                 description=description[:200])
        _apply_local_changes(team, plan.rows)
        items = [_item(job, row) for row in plan.rows if row.sends or row.kind == "skip"]
        JobItem.objects.bulk_create(items, batch_size=500)
        if not any(row.sends for row in plan.rows):
            Job.objects.filter(pk=job.pk).update(finished_at=timezone.now())
        transaction.on_commit(lambda: _enqueue_job(job))
    return job


def _item(job: Job, row: PlanRow) -> JobItem:
    sends = row.sends
    return JobItem(
        job=job, number=row.number, phone_number=row.e164, row=row.row,
        action=AuditEntry.Action.CREATE if row.kind == "create" else AuditEntry.Action.UPDATE,
        loaded=row.loaded, desired=row.desired, changes=row.changes,
        state=State.QUEUED if sends else State.SKIPPED,
        reason="" if sends else _("Unchanged: the card already has these values."),
        finished_at=None if sends else timezone.now(),
    )


def _apply_local_changes(team: Team, rows: list[PlanRow]) -> None:
    """Labels and tags live here, not at Linq: they change when the job is confirmed."""
    for row in rows:
        if row.kind == "cannot" or row.number is None or not row.local_change:
            continue
        row.number.team = team
        number_label_tags(number=row.number, label=row.label[1] if row.label else None,
                          tags=row.tags[1] if row.tags else None)


def _enqueue_job(job: Job) -> None:
    from contactcards.common import taskqueue
    from contactcards.rollout import tasks

    queued = job.items.filter(state=State.QUEUED).values_list("pk", flat=True)
    taskqueue.enqueue_many(tasks.run_job_item, [(item_id,) for item_id in queued])
    if job.items.filter(state=State.QUEUED).exists():
        taskqueue.enqueue(tasks.check_job, job.pk, run_after=timezone.now() + LEASE)


def job_cancel(*, job: Job, username: str) -> int:
    """Cancel every item not yet being sent; an item already sending finishes. Returns how many stopped."""
    now = timezone.now()
    with transaction.atomic():
        stopped = job.items.filter(state__in=(State.QUEUED, State.WAITING)).update(
            state=State.CANCELLED, reason=f"Cancelled by {username}.", finished_at=now, not_before=None)
        Job.objects.filter(pk=job.pk, cancelled_at__isnull=True).update(cancelled_at=now, cancelled_by=username)
    _finish_if_done(job.pk)
    return stopped


# -- running one item ----------------------------------------------------------------


def run_item(item_id: int) -> str:
    """The task body: claim the item, save through the card service, record what happened."""
    item = JobItem.objects.select_related("job__team", "job__created_by", "number").filter(pk=item_id).first()
    if item is None or item.state not in (State.QUEUED, State.WAITING):
        return "not open"  # done, cancelled, or another worker has it
    now = timezone.now()
    if item.not_before and item.not_before > now:
        return "not yet"  # an earlier task for this item; the one scheduled for its slot will run it
    claimed = JobItem.objects.filter(pk=item.pk, state=item.state, attempts=item.attempts).update(
        state=State.RUNNING, claimed_at=now, attempts=F("attempts") + 1, not_before=None)
    if claimed != 1:
        return "taken"
    item.state, item.attempts, item.claimed_at = State.RUNNING, item.attempts + 1, now
    if item.number is None or item.job.created_by is None:
        return _finish(item, State.FAILED, _("The number or the person who started the job was removed."))
    try:
        outcome = _save(item)
    except Exception as error:  # a bug must not leave the item running forever
        logger.exception("Job item %s failed", item.pk)
        return _finish(item, State.FAILED, f"Internal error: {type(error).__name__}.")
    return _record(item, outcome)


def _save(item: JobItem) -> SaveOutcome:
    item.number.team = item.job.team
    common = {"number": item.number, "user": item.job.created_by, "token": item.token_for(item.attempts),
              "job": item.job}
    if item.action == AuditEntry.Action.CREATE:
        return cards.card_create(submitted=item.desired, **common)
    return cards.card_update(loaded=item.loaded, submitted=item.desired, **common)


def _record(item: JobItem, outcome: SaveOutcome) -> str:
    """The item's next state, as the save's outcome says (``outcomes.next_step``, the rules the card page
    follows too), with the reason the job page shows."""
    step = next_step(outcome, now=timezone.now())
    reason, code = _reason_for(item, outcome), _code_of(outcome)
    match step.next:
        case Next.DONE:
            card = getattr(outcome, "card", None)
            return _finish(item, State.SENT, reason, entry=step.entry, card_active=card.is_active if card else None)
        case Next.NOTHING if item.attempts > 1:  # the re-read shows the change: an earlier attempt's write reached Linq
            card = outcome.card
            return _finish(item, State.SENT, reason, card_active=card.is_active if card else None)
        case Next.NOTHING:
            return _finish(item, State.SKIPPED, reason)
        case Next.WAIT:
            return _wait(item, step.at, reason, entry=step.entry, code=code)
        case Next.RETRY:
            return _retry(item, reason, step.entry, code=code)
        case Next.CHECK:  # Linq may still apply it: try again once a read can tell (nothing is sent twice)
            return _retry(item, reason, step.entry, code=code, not_before=step.at)
    return _finish(item, State.FAILED, reason, entry=step.entry, code=code)  # REVIEW, STOP


def _reason_for(item: JobItem, outcome: SaveOutcome) -> str:
    """What the job page says about the item (issue 21 turns these into facts worded by the template)."""
    match outcome:
        case Saved(unanswered=unanswered):
            return _("Linq did not answer, but the re-read card shows the change.") if unanswered else ""
        case Unchanged() if item.attempts > 1:
            return _("Linq already shows the change (an earlier attempt's write reached it); nothing sent again.")
        case Unchanged():
            return _("Unchanged: Linq already has these values.")
        case Duplicate(previous=None):
            return _("A write was recorded without its outcome; check the history.")
        case Duplicate(previous=entry) if entry.is_success or entry.applied:
            return ""
        case Duplicate(previous=entry) if entry.unsettled:
            return _("Linq did not say whether the change was applied: trying again once a re-read can tell.")
        case Duplicate(previous=entry):
            return f"{entry.error_message} (HTTP {entry.http_status})"
        case Blocked():
            return _("No write left for this number; waiting for its next slot.")
        case Busy():
            return _("The number was busy with another save.")
        case Conflict(conflicts=conflicts):
            fields = ", ".join(_("%(field)s (preview: “%(loaded)s”, Linq now: “%(remote)s”)")
                               % {"field": c.label, "loaded": c.loaded, "remote": c.remote} for c in conflicts)
            return _("Changed at Linq since the preview: %(fields)s. Preview again.") % {"fields": fields}
        case ImageRefused(check=check):  # nothing sent, nothing spent: Linq could not have used the link
            return _("Linq could not use the photo link: %(reason)s") % {"reason": check.message}
        case SwitchToEdit():
            return _("A card was set up for this number since the preview. Preview again.")
        case SwitchToCreate():
            return _("The card was deleted at Linq since the preview. Preview again.")
        case NotChecked(error=error) if error.retryable:
            return _("The card could not be re-read: %(reason)s") % {"reason": _reason(error)}
        case NotChecked(error=error):
            return _reason(error)
        case Failed(error=error) if wait_asked(error):
            return _("%(reason)s Waiting as Linq asked.") % {"reason": _reason(error)}
        case Failed(error=error):
            return _reason(error)
        case OutcomeUnknown(error=error):
            return _("%(reason)s Linq did not say whether the change was applied: trying again once a re-read "
                     "can tell.") % {"reason": _reason(error)}
    raise TypeError(f"unexpected save outcome {outcome!r}")


def _code_of(outcome: SaveOutcome) -> int | None:
    """Linq's code for the item, when Linq gave one."""
    match outcome:
        case NotChecked(error=error) | Failed(error=error) | OutcomeUnknown(error=error):
            return error.code
        case Duplicate(previous=entry) if entry is not None and not (entry.is_success or entry.applied):
            return entry.linq_code
    return None


def _reason(error: LinqError) -> str:
    parts = [error.message]
    if error.status:
        parts.append(f"(HTTP {error.status}{f', Linq code {error.code}' if error.code else ''})")
    return " ".join(parts)[:500]


def _retry(item: JobItem, reason: str, entry: AuditEntry | None, *, code: int | None = None,
           not_before: datetime | None = None) -> str:
    """A bounded retry for failures that may pass (500/2022, a busy lock, a failed re-read, no answer)."""
    errors = item.server_errors + 1
    JobItem.objects.filter(pk=item.pk).update(server_errors=errors)
    if errors >= MAX_SERVER_ERRORS:
        return _finish(item, State.FAILED, f"{reason} Failed {errors} times; giving up.", entry=entry, code=code)
    until = timezone.now() + timedelta(seconds=15 * 2 ** (errors - 1))
    if not_before is not None and not_before > until:
        until = not_before
    return _wait(item, until, f"{reason} Trying again ({errors} of {MAX_SERVER_ERRORS}).", entry=entry, code=code)


def _wait(item: JobItem, until: datetime, reason: str, *, entry: AuditEntry | None = None,
          code: int | None = None) -> str:
    """Park the item until ``until`` and schedule its task then (run_after): no polling in between."""
    from contactcards.common import taskqueue
    from contactcards.rollout import tasks

    updated = JobItem.objects.filter(pk=item.pk, state=State.RUNNING, attempts=item.attempts).update(
        state=State.WAITING, not_before=until, reason=reason, claimed_at=None,
        entry=entry or F("entry"), linq_code=code)
    if updated:
        taskqueue.enqueue(tasks.run_job_item, item.pk, run_after=until)
    return "waiting"


def _finish(item: JobItem, state: str, reason: str, *, entry: AuditEntry | None = None,
            card_active: bool | None = None, code: int | None = None) -> str:
    updated = JobItem.objects.filter(pk=item.pk, state=State.RUNNING, attempts=item.attempts).update(
        state=state, reason=reason, finished_at=timezone.now(), entry=entry or F("entry"),
        card_active=card_active, linq_code=code, not_before=None)
    if updated:
        _finish_if_done(item.job_id)
    return state


def _finish_if_done(job_id: int) -> None:
    if not JobItem.objects.filter(job_id=job_id, state__in=JobItem.OPEN_STATES).exists():
        Job.objects.filter(pk=job_id, finished_at__isnull=True).update(finished_at=timezone.now())


# -- the watchdog: items whose worker died ----------------------------------------------


def check_job(job_id: int) -> str:
    """Give back items a dead worker left RUNNING, re-enqueue lost ones; come back later while the job is open."""
    from contactcards.common import taskqueue
    from contactcards.rollout import tasks

    now = timezone.now()
    stale = list(JobItem.objects.filter(job_id=job_id, state=State.RUNNING, claimed_at__lt=now - LEASE)
                 .values_list("pk", "attempts"))
    for pk, attempts in stale:
        item = JobItem.objects.select_related("job").get(pk=pk)
        used = FormToken.objects.select_related("entry").filter(token=item.token_for(attempts)).first()
        if used is not None and used.entry is not None and used.entry.outcome not in UNSETTLED:
            _record(item, Duplicate(previous=used.entry))  # its write's outcome was recorded before it died
            continue
        # No outcome recorded: the call may or may not have reached Linq. The next attempt (a new
        # token) re-reads the card under the lock and sends only what is still missing.
        if JobItem.objects.filter(pk=pk, state=State.RUNNING, attempts=attempts).update(
                state=State.QUEUED, claimed_at=None,
                reason=_("Its worker stopped mid-save; checking the card and trying again.")):
            taskqueue.enqueue(tasks.run_job_item, pk)
    if JobItem.objects.filter(job_id=job_id, state__in=JobItem.OPEN_STATES).exists():
        taskqueue.enqueue(tasks.check_job, job_id, run_after=now + LEASE)
        return "open"
    _finish_if_done(job_id)
    return "finished"


# -- progress ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    counts: dict[str, int]
    total: int
    active: int  # sent, and the card is active at Linq
    pending: int  # sent, Linq has not applied it to the line yet
    waiting_until: datetime | None  # the earliest slot a waiting item waits for
    finished: bool
    cancelled: bool

    @property
    def done(self) -> int:
        return sum(self.counts[s] for s in (State.SENT, State.FAILED, State.SKIPPED, State.CANCELLED))

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(100 * self.done / self.total)

    def as_dict(self) -> dict:
        return {
            "counts": self.counts, "total": self.total, "done": self.done, "percent": self.percent,
            "active": self.active, "pending": self.pending, "finished": self.finished, "cancelled": self.cancelled,
            "waiting_until": self.waiting_until.isoformat() if self.waiting_until else None,
        }


def job_progress(job: Job) -> Progress:
    """Counts per state in one query."""
    aggregates = {state: Count("pk", filter=Q(state=state)) for state in State.values}
    row = job.items.aggregate(
        **aggregates,
        total=Count("pk"),
        active=Count("pk", filter=Q(state=State.SENT, card_active=True)),
        pending=Count("pk", filter=Q(state=State.SENT, card_active=False)),
        waiting_until=Min("not_before", filter=Q(state=State.WAITING)),
    )
    counts = {state: row[state] for state in State.values}
    finished = not any(counts[s] for s in JobItem.OPEN_STATES)
    return Progress(counts=counts, total=row["total"], active=row["active"], pending=row["pending"],
                    waiting_until=row["waiting_until"], finished=finished, cancelled=job.cancelled_at is not None)
