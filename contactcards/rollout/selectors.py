"""Reads for changes that wait (issue 24): open requests, upcoming schedules, per team and per number."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from contactcards.models import Job, PhoneNumber, Team

_NOT_STARTED = Q(started_at__isnull=True, cancelled_at__isnull=True)


def awaiting_requests(*, team: Team) -> QuerySet[Job]:
    """The team's change requests waiting for a decision, oldest first (the approvers' queue)."""
    return (Job.objects.filter(_NOT_STARTED, team=team, approval=Job.Approval.AWAITING)
            .select_related("created_by").order_by("created_at", "id"))


def upcoming_changes(*, team: Team) -> QuerySet[Job]:
    """The team's scheduled changes not started yet (approved or needing none), soonest first."""
    return (Job.objects.filter(_NOT_STARTED, team=team, start_at__isnull=False,
                               approval__in=(Job.Approval.NONE, Job.Approval.APPROVED))
            .order_by("start_at", "id"))


def waiting_for_number(*, number: PhoneNumber) -> list[Job]:
    """The number's requests and schedules not started yet, soonest first (the card page lists them)."""
    jobs = (Job.objects.filter(_NOT_STARTED, items__number=number,
                               approval__in=(Job.Approval.NONE, Job.Approval.AWAITING, Job.Approval.APPROVED))
            .filter(Q(approval=Job.Approval.AWAITING) | Q(start_at__isnull=False)).distinct())
    return sorted(jobs, key=lambda job: (job.start_at is None, job.start_at or job.created_at, job.pk))
