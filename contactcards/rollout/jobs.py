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
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from contactcards.alerts.services import raise_alert
from contactcards.cards import services as cards
from contactcards.cards.outcomes import (
    Blocked,
    Busy,
    Conflict,
    Duplicate,
    Failed,
    ImageRefused,
    LineReleased,
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
from contactcards.common.clients import linq_time_budget
from contactcards.common.errors import wait_asked
from contactcards.history.audit import record_change_event
from contactcards.lib.paging import PageLinks, page_window
from contactcards.linq import LinqError
from contactcards.models import AlertKind, AuditEntry, FormToken, Job, JobItem, Team
from contactcards.rollout.plan import Plan, PlanRow
from contactcards.teams.services import number_label_tags

logger = logging.getLogger(__name__)

State = JobItem.State
Why = JobItem.Why
# A write-ahead attempt whose answer never came (the worker died during the call).
UNSETTLED = (AuditEntry.Outcome.PENDING, AuditEntry.Outcome.UNKNOWN)
# An item's save gets the same time for Linq as one web request's save (LINQ_REQUEST_BUDGET: the lock wait,
# the re-read, the write, a re-read after an unanswered write), after its photo check (at most
# PHOTO_FETCH_TOTAL_TIMEOUT). Its write can then no longer be in flight once LINQ_ATTEMPT_STALE_AFTER has
# passed (60 s by default), and that is the item's lease: an item still RUNNING then has lost its worker, and
# the watchdog, scheduled for the moment the lease runs out, gives it back to the queue. (A shorter lease
# would only make the next attempt wait for the dead one's write to count as no longer in flight.)
ITEM_LINQ_SECONDS = settings.LINQ_REQUEST_BUDGET
LEASE = timedelta(seconds=max(settings.LINQ_ATTEMPT_STALE_AFTER,
                              settings.PHOTO_FETCH_TOTAL_TIMEOUT + settings.LINQ_REQUEST_BUDGET))
MAX_SERVER_ERRORS = 3  # 500/2022 (and other retryable failures) before an item fails


# -- creating and cancelling ------------------------------------------------------


def job_create(*, team: Team, user, plan: Plan, source: str, description: str = "",
               skip_refused: bool = False, api_token=None, when=None) -> Job:
    """Record the job (items to send, items skipped), apply label/tag changes, enqueue the items.

    ``skip_refused``: the person chose to send the rows that can be done and skip the refused ones; those
    are recorded as skipped items with their reasons, so the job says what was left out and why.
    ``when`` (a ``deferred.Deferral``): the job waits for an approver, or its time, instead of starting
    (``deferred.hold``; its schedule was checked against the write budget before, ``deferred.check``).
    """
    if not plan.confirmable(skip_refused=skip_refused):
        raise ValueError(_("This plan cannot be confirmed."))
    with transaction.atomic():
        job = Job.objects.create(team=team, created_by=user, username=user.get_username(), source=source,
                                 description=description[:200], api_token=api_token)
        _apply_local_changes(team, plan.rows)  # labels and tags are ours, not the card's: set now, as ever
        items = [_item(job, row) for row in plan.rows]
        JobItem.objects.bulk_create(items, batch_size=500)
        if not any(row.sends for row in plan.rows):
            Job.objects.filter(pk=job.pk).update(finished_at=timezone.now())
        elif when is not None and when.defers:
            from contactcards.rollout import deferred

            deferred.hold(job, user=user, when=when)
        else:
            _enqueue_job(job)  # two task rows, committed with the job: nothing else holds the request
    return job


def _item(job: Job, row: PlanRow) -> JobItem:
    """One row of the plan as an item: to send (queued), unchanged or refused (skipped at once)."""
    sends = row.sends
    if sends:
        why, detail = "", {}
    elif row.kind == "cannot":  # skipped on purpose: the reasons the preview gave (already in words)
        why, detail = Why.REFUSED, {"reasons": [str(reason) for reason in row.reasons]}
    else:
        why, detail = Why.UNCHANGED, {}
    return JobItem(
        job=job, number=row.number, phone_number=row.e164[:16], row=row.row,
        action=AuditEntry.Action.UPDATE if row.kind in ("change", "skip", "cannot") else AuditEntry.Action.CREATE,
        loaded=row.loaded, desired=row.desired, changes=row.changes,
        state=State.QUEUED if sends else State.SKIPPED, why=why, detail=detail,
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
    """Start the job from the queue: one task enqueues its items in chunks (``start_job``), and the watchdog
    comes one lease later. Called inside the transaction that records the job, so both task rows commit
    with it (a transactional outbox: no job without its tasks, no task without its job)."""
    from contactcards.common import taskqueue
    from contactcards.rollout import tasks

    taskqueue.enqueue(tasks.start_job, job.pk)
    taskqueue.enqueue(tasks.check_job, job.pk, run_after=timezone.now() + LEASE)  # the watchdog


ENQUEUE_CHUNK = 1000


def start_job(job_id: int) -> str:
    """Enqueue one task per queued item, a chunk per transaction (a few INSERTs each), then mark the job as
    enqueued. Run again (by the watchdog, when a worker died before the end) it enqueues the items again:
    a second task for an item does nothing (its claim is a conditional UPDATE)."""
    from contactcards.common import taskqueue
    from contactcards.rollout import tasks

    ids = list(JobItem.objects.filter(job_id=job_id, state=State.QUEUED, attempts=0).values_list("pk", flat=True))
    for start in range(0, len(ids), ENQUEUE_CHUNK):
        taskqueue.enqueue_many(tasks.run_job_item, [(item_id,) for item_id in ids[start:start + ENQUEUE_CHUNK]])
    Job.objects.filter(pk=job_id, enqueued_at__isnull=True).update(enqueued_at=timezone.now())
    return f"{len(ids)} items"


def job_cancel(*, job: Job, user) -> int:
    """Cancel every item not yet being sent; an item already sending finishes. Returns how many stopped.

    A requested or scheduled change gets a history row of its own when it is cancelled, linked to its job as
    its request and its schedule are: who cancelled it, and when (once: the job's ``cancelled_at`` is set once).
    """
    now = timezone.now()
    username = user.get_username()
    deferred = (job.approval != Job.Approval.NONE or job.start_at is not None or job.source == Job.Source.END)
    with transaction.atomic():
        stopped = job.items.filter(state__in=(State.QUEUED, State.WAITING)).update(
            state=State.CANCELLED, why=Why.CANCELLED, detail={"by": username}, reason="", finished_at=now,
            not_before=None)
        cancelled = Job.objects.filter(pk=job.pk, cancelled_at__isnull=True).update(cancelled_at=now,
                                                                                   cancelled_by=username)
        if cancelled and deferred:
            numbers = list(job.items.values_list("phone_number", flat=True)[:2])
            record_change_event(job=job, action=AuditEntry.Action.CHANGE_CANCELLED, user=user,
                                phone_number=numbers[0] if len(numbers) == 1 else "")
    _finish_if_done(job.pk)
    return stopped


def job_retry(*, job: Job, user) -> Job:
    """A new job of just the failed items of a finished job, sent the same way (``run_job_item``: the
    number's lock, the write budget, the conflict check against what the preview saw, the audit).

    One retry per job: asking again (a double click) returns the retry already made.
    """
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        existing = job.retries.order_by("pk").first()
        if existing is not None:
            return existing
        if job.items.filter(state__in=JobItem.OPEN_STATES).exists():
            raise ValueError(_("The job is still running: retry its failed items once it has finished."))
        failed = list(job.items.filter(state=State.FAILED).order_by("pk"))
        if not failed:
            raise ValueError(_("This job has no failed items to retry."))
        retry = Job.objects.create(team=job.team, created_by=user, username=user.get_username(), source=job.source,
                                   description=job.description, retry_of=job)
        JobItem.objects.bulk_create([
            JobItem(job=retry, number=item.number, phone_number=item.phone_number, row=item.row,
                    action=item.action, loaded=item.loaded, desired=item.desired, changes=item.changes,
                    state=State.QUEUED)
            for item in failed
        ], batch_size=500)
        _enqueue_job(retry)  # its task rows commit with it, as job_create's do
    return retry


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
        state=State.RUNNING, claimed_at=now, attempts=F("attempts") + 1, not_before=None,
        worker=f"{socket.gethostname()}:{os.getpid()}"[:100])  # who has it (operators; a forked process differs)
    if claimed != 1:
        return "taken"
    item.state, item.attempts, item.claimed_at = State.RUNNING, item.attempts + 1, now
    if item.number is None or item.job.created_by is None:
        return _finish(item, State.FAILED, Fact(Why.REMOVED))
    try:
        with linq_time_budget(ITEM_LINQ_SECONDS):  # so the lease can be close to the longest save
            outcome = _save(item)
    except Exception as error:  # a bug must not leave the item running forever
        logger.exception("Job item %s failed", item.pk)
        return _finish(item, State.FAILED, Fact(Why.INTERNAL, {"error": type(error).__name__}))
    return _record(item, outcome)


def _save(item: JobItem) -> SaveOutcome:
    """What the card page does for the card Linq has now: PATCH an active card, POST a first one, and POST
    the whole card again for a pending one (its set-up did not complete; PATCH is refused).

    The preview chose one; the card may have moved between states since. Each switch costs nothing at Linq
    (the save re-reads under the lock and sends nothing when the state is not the one it writes for), and
    the second call has a token of its own. A card set up since a "no card" preview is not overwritten.
    """
    item.number.team = item.job.team
    token = item.token_for(item.attempts)
    common = {"number": item.number, "user": item.job.created_by, "job": item.job, "api_token": item.job.api_token}
    if item.action == AuditEntry.Action.CREATE:
        outcome = cards.card_create(submitted=item.desired, token=token, **common)
        if isinstance(outcome, SwitchToEdit) and item.loaded:  # was pending, is active now: edit it
            return cards.card_update(loaded=item.loaded, submitted=item.desired, token=f"{token}-edit", **common)
        return outcome
    outcome = cards.card_update(loaded=item.loaded, submitted=item.desired, token=token,
                                restored_from=item.restored_from, **common)
    if isinstance(outcome, SwitchToCreate) and outcome.pending:  # pending now: set it up again
        return cards.card_create(submitted=item.desired, token=f"{token}-setup", **common)
    return outcome


def _record(item: JobItem, outcome: SaveOutcome) -> str:
    """The item's next state, as the save's outcome says (``outcomes.next_step``, the rules the card page
    follows too), with the fact the job page words."""
    step = next_step(outcome, now=timezone.now())
    reason, code = _fact_for(item, outcome), _code_of(outcome)
    if isinstance(outcome, LineReleased):  # nothing was sent, and nothing can be: skipped, with the reason
        return _finish(item, State.SKIPPED, reason)
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


@dataclass(frozen=True)
class Fact:
    """Why an item is where it is: a code (``JobItem.Why``) and its particulars, worded by the template."""

    why: str
    detail: dict = field(default_factory=dict)

    def but(self, **more) -> Fact:
        return Fact(self.why, {**self.detail, **more})


def _fact_for(item: JobItem, outcome: SaveOutcome) -> Fact:
    """What the job page says about the item, as facts (``includes/job_item_fact.html`` words them)."""
    match outcome:
        case Saved(unanswered=unanswered) if unanswered:
            return Fact(Why.UNANSWERED_APPLIED)
        case Saved(created=True) if item.loaded:  # a pending card (it had values): set up again, whole
            return Fact(Why.SET_UP_AGAIN)
        case Saved():
            return Fact("")
        case Unchanged() if item.attempts > 1:
            return Fact(Why.ALREADY_APPLIED)
        case Unchanged():
            return Fact(Why.UNCHANGED)
        case Duplicate(previous=None):
            return Fact(Why.NO_OUTCOME)
        case Duplicate(previous=entry) if entry.is_success or entry.applied:
            return Fact("")
        case Duplicate(previous=entry) if entry.unsettled:
            return Fact(Why.UNSETTLED)
        case Duplicate(previous=entry):
            return Fact(Why.LINQ_ERROR, {"status": entry.http_status, "code": entry.linq_code,
                                         "message": entry.error_message})
        case Blocked():
            return Fact(Why.BUDGET)
        case Busy():
            return Fact(Why.BUSY)
        case Conflict(conflicts=conflicts):  # both versions: what it was asked against, Linq's now, and the ask
            return Fact(Why.CONFLICT, {"fields": [{"field": c.name, "loaded": c.loaded, "remote": c.remote,
                                                   "wanted": item.desired.get(c.name)} for c in conflicts]})
        case ImageRefused(check=check):  # nothing sent, nothing spent: Linq could not have used the link
            return Fact(Why.IMAGE_REFUSED, {"reason": check.reason, "message": check.message})
        case SwitchToEdit():
            return Fact(Why.CARD_APPEARED)
        case SwitchToCreate(pending=True):
            return Fact(Why.SET_UP_AGAIN)
        case SwitchToCreate():
            return Fact(Why.CARD_DELETED)
        case NotChecked(error=error) if error.retryable:
            return Fact(Why.REREAD_FAILED, _error_detail(error))
        case NotChecked(error=error):
            return Fact(Why.LINQ_ERROR, _error_detail(error))
        case Failed(error=error) if wait_asked(error):
            return Fact(Why.LINQ_WAIT, _error_detail(error))
        case Failed(error=error):
            return Fact(Why.LINQ_ERROR, _error_detail(error))
        case OutcomeUnknown(error=error):
            return Fact(Why.OUTCOME_UNKNOWN, _error_detail(error))
        case LineReleased():
            return Fact(Why.RELEASED)
    raise TypeError(f"unexpected save outcome {outcome!r}")


def _code_of(outcome: SaveOutcome) -> int | None:
    """Linq's code for the item, when Linq gave one."""
    match outcome:
        case NotChecked(error=error) | Failed(error=error) | OutcomeUnknown(error=error):
            return error.code
        case Duplicate(previous=entry) if entry is not None and not (entry.is_success or entry.applied):
            return entry.linq_code
    return None


def _error_detail(error: LinqError) -> dict:
    """Linq's answer as facts: HTTP status, Linq's code, Linq's message (shown as Linq wrote it)."""
    return {"status": error.status, "code": error.code, "message": (error.message or "")[:500]}


def _retry(item: JobItem, reason: Fact, entry: AuditEntry | None, *, code: int | None = None,
           not_before: datetime | None = None) -> str:
    """A bounded retry for failures that may pass (500/2022, a busy lock, a failed re-read, no answer)."""
    errors = item.server_errors + 1
    JobItem.objects.filter(pk=item.pk).update(server_errors=errors)
    if errors >= MAX_SERVER_ERRORS:
        return _finish(item, State.FAILED, reason.but(attempt=errors, attempts=MAX_SERVER_ERRORS, gave_up=True),
                       entry=entry, code=code)
    until = timezone.now() + timedelta(seconds=15 * 2 ** (errors - 1))
    if not_before is not None and not_before > until:
        until = not_before
    return _wait(item, until, reason.but(attempt=errors, attempts=MAX_SERVER_ERRORS), entry=entry, code=code)


def _wait(item: JobItem, until: datetime, reason: Fact | str, *, entry: AuditEntry | None = None,
          code: int | None = None) -> str:
    """Park the item until ``until`` and schedule its task then (run_after): no polling in between."""
    from contactcards.common import taskqueue
    from contactcards.rollout import tasks

    updated = JobItem.objects.filter(pk=item.pk, state=State.RUNNING, attempts=item.attempts).update(
        state=State.WAITING, not_before=until, **_fact_fields(reason), claimed_at=None,
        entry=entry or F("entry"), linq_code=code)
    if updated:
        taskqueue.enqueue(tasks.run_job_item, item.pk, run_after=until)
    return "waiting"


def _fact_fields(reason: Fact | str) -> dict:
    """The item's columns for a fact; prose (from a caller not yet giving facts) is kept as legacy text."""
    if isinstance(reason, Fact):
        return {"why": reason.why, "detail": reason.detail, "reason": ""}
    return {"why": "", "detail": {}, "reason": reason}


def _finish(item: JobItem, state: str, reason: Fact | str, *, entry: AuditEntry | None = None,
            card_active: bool | None = None, code: int | None = None) -> str:
    updated = JobItem.objects.filter(pk=item.pk, state=State.RUNNING, attempts=item.attempts).update(
        state=state, **_fact_fields(reason), finished_at=timezone.now(), entry=entry or F("entry"),
        card_active=card_active, linq_code=code, not_before=None)
    if updated:
        _finish_if_done(item.job_id)
    return state


def _finish_if_done(job_id: int) -> None:
    """Mark the job finished once no item is open; the one call that marks it raises the ``job_failed``
    alert when items failed."""
    if JobItem.objects.filter(job_id=job_id, state__in=JobItem.OPEN_STATES).exists():
        return
    if not Job.objects.filter(pk=job_id, finished_at__isnull=True).update(finished_at=timezone.now()):
        return  # finished already (another worker, the watchdog)
    counts = dict(JobItem.objects.filter(job_id=job_id).values_list("state").annotate(n=Count("pk")))
    failed = counts.get(State.FAILED, 0)
    job = Job.objects.select_related("team").get(pk=job_id)
    scheduled = job.start_at is not None or job.source == Job.Source.END  # told as schedule_failed (deferred)
    if failed and not scheduled:
        raise_alert(job.team, AlertKind.JOB_FAILED,
                    facts={"job_id": job_id, "failed": failed, "items": sum(counts.values()),
                           "sent": counts.get(State.SENT, 0), "source": job.source, "description": job.description,
                           "by": job.username})
    from contactcards.rollout import deferred  # (deferred builds on this module)

    deferred.job_finished(job_id)


# -- the watchdog: items whose worker died ----------------------------------------------


def check_job(job_id: int) -> str:
    """Give back items a dead worker left RUNNING, re-enqueue lost ones; come back when the next lease runs out.

    A worker that dies mid-item leaves it RUNNING with its ``claimed_at``; no item can legitimately run
    longer than :data:`LEASE`, so the watchdog runs again exactly when the oldest running item's lease
    ends (or one lease from now when none is running): a dead worker costs one lease, not minutes more.
    """
    from contactcards.common import taskqueue
    from contactcards.rollout import tasks

    now = timezone.now()
    if Job.objects.filter(pk=job_id, enqueued_at__isnull=True, created_at__lte=now - LEASE).exists():
        start_job(job_id)  # its items were never all enqueued (the worker running start_job died)
    stale = list(JobItem.objects.filter(job_id=job_id, state=State.RUNNING, claimed_at__lte=now - LEASE)
                 .values_list("pk", "attempts"))
    for pk, attempts in stale:
        item = JobItem.objects.select_related("job").get(pk=pk)
        used = _recorded_write(item, attempts)
        if used is not None:
            _record(item, Duplicate(previous=used))  # its write's outcome was recorded before it died
            continue
        # No outcome recorded: the call may or may not have reached Linq. The next attempt (a new
        # token) re-reads the card under the lock and sends only what is still missing.
        if JobItem.objects.filter(pk=pk, state=State.RUNNING, attempts=attempts).update(
                state=State.QUEUED, claimed_at=None, why=Why.WORKER_STOPPED, detail={}, reason=""):
            taskqueue.enqueue(tasks.run_job_item, pk)
    open_items = JobItem.objects.filter(job_id=job_id, state__in=JobItem.OPEN_STATES)
    if open_items.exists():
        oldest = open_items.filter(state=State.RUNNING).aggregate(at=Min("claimed_at"))["at"]
        taskqueue.enqueue(tasks.check_job, job_id, run_after=max(oldest + LEASE, now) if oldest else now + LEASE)
        return "open"
    _finish_if_done(job_id)
    return "finished"


def _recorded_write(item: JobItem, attempts: int) -> AuditEntry | None:
    """The last write an attempt recorded with its outcome (an attempt may switch once, edit <-> set up,
    under a token of its own), or None when it recorded none or its outcome is still unknown."""
    base = item.token_for(attempts)
    tokens = [base, f"{base}-edit", f"{base}-setup"]
    used = (FormToken.objects.select_related("entry").filter(token__in=tokens, entry__isnull=False)
            .order_by("-entry_id").first())
    if used is None or used.entry.outcome in UNSETTLED:
        return None
    return used.entry


# -- progress ------------------------------------------------------------------------------


# Each item is in exactly one of these, in this order (the counters and the bar's segments): "sent" is split
# into active at Linq, pending at Linq, and sent without a known card status (an outcome taken from the history).
BOXES = ("queued", "waiting", "running", "active", "pending", "sent", "failed", "skipped", "cancelled")
BAR = ("active", "pending", "sent", "skipped", "failed", "cancelled", "running", "waiting", "queued")  # done first
# A poll's cursor is "changes from OVERLAP before this poll began": an UPDATE stamped just before a poll
# may commit just after it read, so polls overlap by this much and the client merges rows by id.
OVERLAP = timedelta(seconds=2)


@dataclass(frozen=True)
class Progress:
    counts: dict[str, int]  # per JobItem.State
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

    @property
    def boxes(self) -> dict[str, int]:
        """Each item counted once (they add up to ``total``): sent split into active / pending / other."""
        split = {"active": self.active, "pending": self.pending,
                 "sent": self.counts[State.SENT] - self.active - self.pending}
        return {box: split[box] if box in split else self.counts[box] for box in BOXES}

    @property
    def segments(self) -> list[dict]:
        """The bar: one segment per non-empty box, as offsets and widths in percent of all items."""
        segments, start, boxes = [], 0.0, self.boxes
        for box in BAR:
            if count := boxes[box]:
                width = 100 * count / self.total
                segments.append({"box": box, "count": count, "x": round(start, 3), "width": round(width, 3)})
                start += width
        return segments

    def as_dict(self) -> dict:
        return {
            "counts": self.counts, "boxes": self.boxes, "segments": self.segments, "total": self.total,
            "done": self.done, "percent": self.percent, "active": self.active, "pending": self.pending,
            "finished": self.finished, "cancelled": self.cancelled,
            "waiting_until": self.waiting_until.isoformat() if self.waiting_until else None,
        }


def job_progress(job: Job) -> Progress:
    """Counts per state in one query: a few groups (state, card active), each with its earliest
    ``not_before``. Polled every second by an open job page: one pass over the job's items that
    only counts, where eleven filtered counts over the same rows cost twice as much (docs/benchmarks.md)."""
    counts = dict.fromkeys(State.values, 0)
    total = active = pending = 0
    waiting_until = None
    groups = (job.items.order_by().values_list("state", "card_active")
              .annotate(n=Count("pk"), first_slot=Min("not_before")))
    for state, card_active, n, first_slot in groups:
        total += n
        if state in counts:
            counts[state] += n
        if state == State.SENT and card_active is not None:
            if card_active:
                active += n
            else:
                pending += n
        if state == State.WAITING and first_slot is not None:
            waiting_until = first_slot if waiting_until is None else min(waiting_until, first_slot)
    finished = not any(counts[s] for s in JobItem.OPEN_STATES)
    return Progress(counts=counts, total=total, active=active, pending=pending,
                    waiting_until=waiting_until, finished=finished, cancelled=job.cancelled_at is not None)


def job_items_since(job: Job, since: datetime | None, *,
                    ids: list[int] | None = None) -> tuple[list[JobItem], datetime]:
    """The items changed since ``since`` (all of them without it), and the cursor for the next poll;
    ``ids``: only these (the rows a page shows).

    One indexed query (``jobitem_job_updated``): a poll of a 5,000-item job reads only what changed.
    """
    cursor = timezone.now() - OVERLAP  # taken before reading, so nothing stamped after it is missed
    items = job.items.all()
    if since is not None:
        items = items.filter(updated_at__gte=since)
    if ids is not None:
        items = items.filter(pk__in=ids)
    return list(items), cursor


ITEMS_PER_PAGE = 100


@dataclass(frozen=True)
class ItemsPage(PageLinks):
    """One page of a job's items, all of them or those in one state (``show``)."""

    items: list[JobItem]
    show: str
    page: int
    pages: int


def job_items_page(job: Job, *, show: str = "", page: int = 1) -> ItemsPage:
    """A page of the job's items in row order (``show``: a state, else every item); page clamped."""
    items = job.items.all()
    if show in State.values:
        items = items.filter(state=show)
    else:
        show = ""
    page, pages, start = page_window(items.count(), page, ITEMS_PER_PAGE)
    return ItemsPage(items=list(items[start:start + ITEMS_PER_PAGE]), show=show, page=page, pages=pages)
