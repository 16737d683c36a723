"""Changes that wait (issue 24): for an approver (four eyes), or for their time (schedules).

One save path: every deferred change is a rollout ``Job`` - one card's edit or restore is a job of one
item, a bulk edit or CSV import one job with its preview's items - and it is sent, when its time comes,
by the same ``jobs.run_item`` as any rollout (``cards.services``: the number's lock, the write budget,
the write-ahead audit, and the conflict check against the card as it was when the change was asked for:
an item whose card changed at Linq meanwhile is not sent, and the job page shows both versions).

* **Requests**: a change by a member who needs approval (``Membership.needs_approval``) is held with
  ``Job.approval`` AWAITING; approvers are emailed after commit. An approver (never the requester)
  approves or rejects it with a comment; an undecided request expires at ``expires_at`` (a task).
* **Schedules**: a job with ``start_at`` starts then (a task with ``run_after``: it survives restarts).
  With ``end_at``, starting creates an END job (``Job.ends``) holding what the items replace, which starts
  at ``end_at`` and puts it back through the same path, as a change of its own.
* Each step is a history row (``history.audit.record_change_event``) carrying the job, as the writes do.

Starting is idempotent: ``start`` claims the job with a conditional UPDATE (``started_at`` null), so an
approved request, or a schedule whose task ran twice, is sent once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from contactcards.alerts.services import raise_alert
from contactcards.cards.budget import WRITE_WINDOW, schedule_clash
from contactcards.common import taskqueue
from contactcards.history.audit import record_change_event, record_team_change
from contactcards.lib import metrics
from contactcards.models import AlertKind, AuditEntry, Job, JobItem, Membership, PhoneNumber, Role
from contactcards.rollout import jobs

logger = logging.getLogger(__name__)

Action = AuditEntry.Action
Approval = Job.Approval
State = JobItem.State
# Where a job may still be changed or cancelled: not started, not cancelled, not refused.
OPEN_APPROVALS = (Approval.NONE, Approval.AWAITING, Approval.APPROVED)


class Refused(Exception):
    """A request or schedule that cannot be made or decided; the message says why (already in words)."""


@dataclass(frozen=True)
class Deferral:
    """How a change waits: for approval (``approval``), from ``start_at``, until ``end_at``; the requester's note."""

    approval: bool = False
    start_at: datetime | None = None
    end_at: datetime | None = None
    note: str = ""

    @property
    def defers(self) -> bool:
        return self.approval or self.start_at is not None or self.end_at is not None


# -- making one ----------------------------------------------------------------------------------


def check(*, numbers: list[PhoneNumber], when: Deferral, ignore: Job | None = None,
          now: datetime | None = None) -> None:
    """Refuse (``Refused``, with the reason) a schedule that starts in the past, ends before it starts, or
    that the write budget cannot meet: a write it plans for a number too close to another planned one
    (``budget.schedule_clash``). ``ignore``: the job being rescheduled (its own times do not count)."""
    now = now or timezone.now()
    start, end = when.start_at, when.end_at
    if start is not None and start < now - timedelta(minutes=1):
        raise Refused(_("The start time has passed: choose a time from now on."))
    if end is not None and end <= (start or now):
        raise Refused(_("The end must come after the start."))
    if end is not None and end - (start or now) < WRITE_WINDOW:
        raise Refused(_("The end must be at least %(minutes)d minutes after the start: Linq allows only a few "
                        "writes per number in that time, and the change and its end are two of them.")
                      % {"minutes": WRITE_WINDOW.seconds // 60})
    ours = [at for at in (start, end) if at is not None]
    if not ours:
        return
    planned = _planned_writes([number.pk for number in numbers], ignore=ignore)
    for number in numbers:
        for at in ours:
            clash = schedule_clash(planned.get(number.pk, ()), at)
            if clash is not None:
                raise Refused(_("%(number)s already has a change planned at %(clash)s (UTC): a scheduled change "
                                "to one number needs %(minutes)d minutes to itself, as Linq allows only a few "
                                "writes per number in that time. Choose another time.")
                              % {"number": number.e164, "clash": f"{clash:%Y-%m-%d %H:%M}",
                                 "minutes": WRITE_WINDOW.seconds // 60})


def _planned_writes(number_ids: list[int], *, ignore: Job | None) -> dict[int, list[datetime]]:
    """Each number's planned write times: the starts and ends of jobs not started yet."""
    items = (JobItem.objects.filter(number_id__in=number_ids, job__started_at__isnull=True,
                                    job__cancelled_at__isnull=True, job__approval__in=OPEN_APPROVALS)
             .exclude(job__start_at__isnull=True, job__end_at__isnull=True)
             .values_list("number_id", "job__start_at", "job__end_at", "job_id"))
    planned: dict[int, list[datetime]] = {}
    for number_id, start, end, job_id in items:
        if ignore is not None and job_id == ignore.pk:
            continue
        planned.setdefault(number_id, []).extend(at for at in (start, end) if at is not None)
    return planned


def card_change(*, number: PhoneNumber, user, loaded: dict, desired: dict, changes: dict, when: Deferral,
                restored_from: int | None = None, create: bool = False) -> Job:
    """One card's change as a job of one item, held for approval and/or its time. ``loaded``: the card as it
    was when the change was asked for (the conflict check's reference); ``changes``: {field: [old, new]}."""
    check(numbers=[number], when=when)
    source = Job.Source.RESTORE if restored_from is not None else Job.Source.CARD
    with transaction.atomic():
        job = Job.objects.create(team=number.team, created_by=user, username=user.get_username(), source=source,
                                 description=number.e164)
        JobItem.objects.create(job=job, number=number, phone_number=number.e164,
                               action=Action.CREATE if create else Action.UPDATE,
                               loaded=loaded, desired=desired, changes=changes, restored_from=restored_from)
        hold(job, user=user, when=when)
    return job


def hold(job: Job, *, user, when: Deferral) -> None:
    """In the transaction that records the job: hold it for approval, or until its time (its task rows
    commit with it), and write the history's first step."""
    now = timezone.now()
    fields = {"note": when.note[:2000], "start_at": when.start_at, "end_at": when.end_at}
    if when.approval:
        fields.update(approval=Approval.AWAITING, expires_at=now + timedelta(hours=job.team.approval_hours))
    Job.objects.filter(pk=job.pk).update(**fields)
    for name, value in fields.items():
        setattr(job, name, value)
    phone, changes = _one_number(job)
    if when.approval:
        record_change_event(job=job, action=Action.CHANGE_REQUESTED, user=user, phone_number=phone,
                            changes=changes, subject=when.note)
        from contactcards.rollout import tasks

        taskqueue.enqueue(tasks.expire_request, job.pk, run_after=job.expires_at)
        transaction.on_commit(lambda: taskqueue.enqueue(tasks.email_approvers, job.pk))
        return
    _record_schedule(job, user=user)
    _start_at_its_time(job)


def _one_number(job: Job) -> tuple[str, dict]:
    """A one-number job's number and changes, for its history rows (a bulk job's are on its items)."""
    items = list(job.items.all()[:2])
    if len(items) == 1:
        return items[0].phone_number, items[0].changes
    return "", {}


def _record_schedule(job: Job, *, user) -> None:
    if job.start_at is None and job.end_at is None:
        return
    phone, _changes = _one_number(job)
    record_change_event(job=job, action=Action.CHANGE_SCHEDULED, user=user, phone_number=phone,
                        changes=_times(job))


def _times(job: Job) -> dict:
    """A schedule as the history stores it (UTC, ISO 8601)."""
    return {name: [None, value.isoformat()] for name, value in (("start_at", job.start_at), ("end_at", job.end_at))
            if value is not None}


def _start_at_its_time(job: Job) -> None:
    """The task that starts the job at ``start_at`` (now when it has none), written in the caller's
    transaction. An earlier task for the same job (before a reschedule) finds it is not time yet."""
    from contactcards.rollout import tasks

    taskqueue.enqueue(tasks.start_deferred, job.pk, run_after=job.start_at)


# -- deciding ------------------------------------------------------------------------------------


def decide(*, job: Job, user, membership: Membership, approve: bool, comment: str = "",
           client_ip: str | None = None) -> Job:
    """An approver's decision. Refused: the requester's own request (nobody approves their own change),
    a member who may not approve, a request already decided, withdrawn or expired."""
    if not membership.may_approve:
        raise Refused(_("Only owners and approvers decide change requests."))
    if job.created_by_id == user.pk:
        raise Refused(_("Nobody approves their own request: another approver decides it."))
    now = timezone.now()
    with transaction.atomic():
        current = Job.objects.select_for_update().get(pk=job.pk)
        if current.approval != Approval.AWAITING or current.cancelled_at is not None:
            raise Refused(_("This request has already been decided or withdrawn."))
        if current.expires_at is not None and current.expires_at <= now:
            _expire(current, now)
            raise Refused(_("This request has expired."))
        decided = Approval.APPROVED if approve else Approval.REJECTED
        Job.objects.filter(pk=job.pk).update(approval=decided, decided_by=user, decided_at=now,
                                             decided_username=user.get_username(), decision_comment=comment[:2000])
        current.approval, current.decided_by, current.decided_at = decided, user, now
        phone, _changes = _one_number(current)
        record_change_event(job=current, action=Action.CHANGE_APPROVED if approve else Action.CHANGE_REJECTED,
                            user=user, phone_number=phone, subject=comment, client_ip=client_ip)
        if approve:
            if current.start_at is not None or current.end_at is not None:
                _record_schedule(current, user=user)
            _start_at_its_time(current)
        else:
            _close(current, by=user.get_username(), at=now)
        _tell_requester_later(current.pk, "approved" if approve else "rejected")
    return current


def _close(job: Job, *, by: str, at: datetime) -> None:
    """A request that will not be sent: its items are cancelled, the job is finished."""
    job.items.filter(state__in=JobItem.OPEN_STATES).update(
        state=State.CANCELLED, why=JobItem.Why.CANCELLED, detail={"by": by}, reason="", finished_at=at)
    Job.objects.filter(pk=job.pk, finished_at__isnull=True).update(finished_at=at)


def expire(job_id: int) -> str:
    """The task at a request's ``expires_at``: a request nobody decided by then expires."""
    now = timezone.now()
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.approval != Approval.AWAITING or job.cancelled_at is not None:
            return "not open"
        if job.expires_at is not None and job.expires_at > now:
            return "not yet"
        _expire(job, now)
    return "expired"


def _expire(job: Job, now: datetime) -> None:
    Job.objects.filter(pk=job.pk).update(approval=Approval.EXPIRED, decided_at=now)
    job.approval = Approval.EXPIRED
    phone, _changes = _one_number(job)
    record_change_event(job=job, action=Action.CHANGE_EXPIRED, phone_number=phone)
    _close(job, by="", at=now)
    _tell_requester_later(job.pk, "expired")


# -- starting and ending -------------------------------------------------------------------------


def start(job_id: int) -> str:
    """The task at a job's start: claim it (once), write "started" or "restoring", create the END job
    when the schedule has an end, and enqueue its items as any rollout's (``jobs._enqueue_job``)."""
    now = timezone.now()
    with transaction.atomic():
        job = Job.objects.select_for_update().select_related("team").filter(pk=job_id).first()
        if job is None or job.started_at is not None or job.cancelled_at is not None:
            return "not open"
        if job.approval not in (Approval.NONE, Approval.APPROVED):
            return "not approved"
        if job.start_at is not None and job.start_at > now:
            return "not yet"  # rescheduled later: the task for the new time starts it
        Job.objects.filter(pk=job.pk).update(started_at=now)
        job.started_at = now
        phone, _changes = _one_number(job)
        if job.source == Job.Source.END:
            _skip_what_was_not_changed(job, now)
            record_change_event(job=job, action=Action.SCHEDULE_RESTORED, phone_number=phone)
        elif job.start_at is not None or job.end_at is not None:
            record_change_event(job=job, action=Action.SCHEDULE_STARTED, phone_number=phone)
        if job.end_at is not None and job.source != Job.Source.END:
            _end_job(job)
        if job.items.filter(state=State.QUEUED).exists():
            jobs._enqueue_job(job)
        else:
            Job.objects.filter(pk=job.pk, finished_at__isnull=True).update(finished_at=now)
    return "started"


def _end_job(job: Job) -> Job:
    """The job that puts back, at ``end_at``, what ``job`` replaces: per item, the values it changes as
    they were (``loaded``), checked against the values it sets (a card changed again meanwhile is not
    overwritten). A card set up by the job is left: Linq cannot remove a card."""
    end = Job.objects.create(team=job.team, created_by=job.created_by, username=job.username, source=Job.Source.END,
                             description=job.description, start_at=job.end_at, ends=job)
    items = []
    for item in job.items.filter(action=Action.UPDATE).exclude(loaded={}):
        wanted = dict(item.desired)
        back = {**wanted, **{name: item.loaded.get(name) for name in item.changes if item.loaded.get(name)}}
        changes = {name: [wanted.get(name), back.get(name)] for name in item.changes
                   if back.get(name) != wanted.get(name)}
        if changes:
            items.append(JobItem(job=end, number=item.number, phone_number=item.phone_number, row=item.row,
                                 action=Action.UPDATE, loaded=wanted, desired=back, changes=changes))
    JobItem.objects.bulk_create(items, batch_size=500)
    _start_at_its_time(end)
    return end


def _skip_what_was_not_changed(end: Job, now: datetime) -> None:
    """An END job puts back only what its scheduled job did change: items whose change was not sent are skipped."""
    if end.ends_id is None:
        return
    sent = JobItem.objects.filter(job_id=end.ends_id, state=State.SENT).values("phone_number")
    end.items.filter(state=State.QUEUED).exclude(phone_number__in=sent).update(
        state=State.SKIPPED, why=JobItem.Why.NOT_SENT_BEFORE, detail={}, finished_at=now)


def reschedule(*, job: Job, start_at: datetime | None, end_at: datetime | None, user) -> Job:
    """New times for a job not started yet (checked like a new schedule; a request keeps waiting for its
    decision). The old time's task finds it is not time yet, or that the job has started."""
    when = Deferral(start_at=start_at, end_at=end_at)
    numbers = [item.number for item in job.items.select_related("number") if item.number is not None]
    check(numbers=numbers, when=when, ignore=job)
    with transaction.atomic():
        current = Job.objects.select_for_update().get(pk=job.pk)
        if not current.upcoming:
            raise Refused(_("This change has started or was cancelled: it can no longer be changed."))
        if current.source == Job.Source.END and end_at is not None:
            raise Refused(_("The end of a scheduled change has no end of its own."))
        Job.objects.filter(pk=job.pk).update(start_at=start_at, end_at=end_at)
        current.start_at, current.end_at = start_at, end_at
        if current.approval != Approval.AWAITING:
            _record_schedule(current, user=user)
            _start_at_its_time(current)
    return current


def job_finished(job_id: int) -> None:
    """After a requested or scheduled job's last item (``jobs._finish_if_done``): the requester is told
    the outcome; a scheduled job Linq refused is recorded (its items and their history rows say how)."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None or job.started_at is None or job.cancelled_at is not None:
        return
    scheduled = job.start_at is not None or job.source == Job.Source.END
    failed = job.items.filter(state=State.FAILED).exists()
    if scheduled and failed:
        _schedule_failed(job)
    if job.approval == Approval.APPROVED or scheduled:
        _tell_requester_later(job.pk, "finished")


def _schedule_failed(job: Job) -> None:
    """A scheduled change (or its end) that Linq refused, or that could not be sent, when its time came.
    The failed items and their history rows record what happened; the alert is raised here (in place of
    the ``job_failed`` one, which ``jobs._finish_if_done`` leaves to scheduled jobs' own)."""
    logger.warning("Scheduled job %s finished with failed items", job.pk)
    items = list(job.items.select_related("number").values_list("number_id", "state"))
    failed = sum(1 for _, state in items if state == State.FAILED)
    number = PhoneNumber.objects.filter(pk=items[0][0]).first() if len(items) == 1 else None
    raise_alert(job.team, AlertKind.SCHEDULE_FAILED, number=number,
                facts={"job_id": job.pk, "failed": failed, "items": len(items), "ended": job.source == Job.Source.END})


# -- the team's rule ------------------------------------------------------------------------------


def approval_rule_set(*, team, editors: list[Membership], required: bool, hours: int, approvers: set[int],
                      actor=None, client_ip: str | None = None) -> bool:
    """Owners: whether card changes need approval, how long a request waits, which editors (membership
    ids in ``approvers``) may approve. Requests already made keep their expiry. One history row says what
    changed (approvers by name); False, and no row, when nothing did."""
    def names(ids: set[int]) -> str:
        return ", ".join(sorted(m.user.get_username() for m in editors if m.pk in ids))

    before = {"changes_need_approval": team.changes_need_approval, "approval_hours": team.approval_hours,
              "approvers": names({m.pk for m in editors if m.can_approve})}
    after = {"changes_need_approval": required, "approval_hours": hours, "approvers": names(approvers)}
    changes = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
    with transaction.atomic():
        type(team).objects.filter(pk=team.pk).update(changes_need_approval=required, approval_hours=hours)
        for member in editors:
            if member.can_approve != (member.pk in approvers):
                Membership.objects.filter(pk=member.pk).update(can_approve=member.pk in approvers)
        if changes:
            record_team_change(team=team, user=actor, action=AuditEntry.Action.APPROVAL_RULE, changes=changes,
                               client_ip=client_ip)
    team.changes_need_approval, team.approval_hours = required, hours
    return bool(changes)


# -- telling people ------------------------------------------------------------------------------


def _tell_requester_later(job_id: int, event: str) -> None:
    from contactcards.rollout import tasks

    transaction.on_commit(lambda: taskqueue.enqueue(tasks.email_requester, job_id, event))


def approvers_of(job: Job) -> list[str]:
    """The email addresses of who may decide ``job``: owners and approvers, never the requester."""
    members = Membership.objects.filter(team_id=job.team_id).exclude(user_id=job.created_by_id)
    approver_ids = [m.user_id for m in members if m.role == Role.OWNER or (m.role == Role.EDITOR and m.can_approve)]
    return list(get_user_model().objects.filter(pk__in=approver_ids).exclude(email="")
                .values_list("email", flat=True))


def email_approvers(job_id: int) -> str:
    """Task (after the request commits): one email to the team's approvers about a new request."""
    job = Job.objects.select_related("team").filter(pk=job_id).first()
    if job is None or not job.awaiting:
        return "not open"
    emails = approvers_of(job)
    if not emails:
        return "nobody to tell"
    return _send(job, "emails/change_request", emails, kind="change_request")


def email_requester(job_id: int, event: str) -> str:
    """Task (after the decision, the expiry or the last item commits): the requester learns the outcome."""
    job = Job.objects.select_related("team", "created_by").filter(pk=job_id).first()
    if job is None or job.created_by is None or not job.created_by.email:
        return "nobody to tell"
    return _send(job, "emails/change_outcome", [job.created_by.email], kind="change_outcome", event=event)


def _send(job: Job, template: str, emails: list[str], *, kind: str, **extra) -> str:
    counts = {state: job.items.filter(state=state).count() for state in (State.SENT, State.FAILED, State.SKIPPED)}
    context = {"job": job, "team": job.team, "public_url": settings.PUBLIC_URL.rstrip("/"), "counts": counts,
               "items": list(job.items.all()[:10]), **extra}
    subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
    try:
        send_mail(subject, render_to_string(f"{template}.txt", context), None, emails)
    except Exception:
        metrics.record_alert("email", False, kind=kind)
        raise  # the task fails, and says why
    metrics.record_alert("email", True, kind=kind)
    return f"emailed {len(emails)}"
