"""Rollouts: a confirmed bulk edit or CSV import (Job) and its items, one per number (JobItem).

Imported from ``contactcards.models``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contactcards.history.models import AuditEntry
from contactcards.teams.models import PhoneNumber, Team


class Job(models.Model):
    """A rollout: many card changes confirmed at once (bulk edit or CSV import), run by task workers.

    Progress lives in :class:`JobItem` rows (one per number); the task queue only carries item ids.
    """

    class Source(models.TextChoices):
        BULK = "bulk", _("Bulk edit")
        CSV = "csv", _("CSV import")
        API = "api", _("API")
        CARD = "card", _("Card edit")  # one number's change, requested or scheduled (issue 24)
        RESTORE = "restore", _("Restore a version")
        END = "end", _("End of a scheduled change")  # puts back what a scheduled job replaced

    class Approval(models.TextChoices):
        """A change request's state (issue 24); blank: no approval was needed."""

        NONE = "", _("Not needed")
        AWAITING = "awaiting", _("Awaiting approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        EXPIRED = "expired", _("Expired")

    team = models.ForeignKey(Team, models.CASCADE, related_name="jobs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    username = models.CharField(max_length=150, blank=True)
    # Made through the API: its token, which each item's history entry names too.
    api_token = models.ForeignKey("ApiToken", models.SET_NULL, null=True, blank=True, related_name="+")
    source = models.CharField(max_length=10, choices=Source.choices)
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.CharField(max_length=150, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)  # every item's task enqueued (jobs.start_job)
    # "Retry the failed items": the job this one retries (its failed items, sent again through the same path)
    retry_of = models.ForeignKey("self", models.SET_NULL, null=True, blank=True, related_name="retries")
    # Approvals (issue 24): who asked and why, who decided and what they said, when an undecided request expires.
    approval = models.CharField(max_length=10, choices=Approval.choices, blank=True, default=Approval.NONE)
    note = models.TextField(blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")
    decided_username = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # Schedules: not sent before start_at; at end_at an END job (``ends``) puts back what it replaced.
    start_at = models.DateTimeField(null=True, blank=True)
    end_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)  # sending began (at start_at, or when approved)
    ends = models.ForeignKey("self", models.SET_NULL, null=True, blank=True, related_name="endings")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["team", "-created_at"], name="job_team_newest"),
                   # upcoming changes and open requests: only the jobs that have not started
                   models.Index(fields=["team", "start_at"], name="job_team_upcoming",
                                condition=models.Q(started_at__isnull=True, cancelled_at__isnull=True))]

    def __str__(self) -> str:
        return f"Job {self.pk} ({self.get_source_display()}) for {self.team}"

    @property
    def awaiting(self) -> bool:
        return self.approval == self.Approval.AWAITING and self.cancelled_at is None

    @property
    def held(self) -> bool:
        """Waiting for a decision or for its start time: nothing moves on its page until then."""
        return (self.started_at is None and self.cancelled_at is None
                and (self.awaiting or (self.start_at is not None and self.upcoming)))

    @property
    def upcoming(self) -> bool:
        """Not started and still going to: editable or cancellable (an open request, or a schedule)."""
        return (self.started_at is None and self.cancelled_at is None
                and self.approval in (self.Approval.NONE, self.Approval.AWAITING, self.Approval.APPROVED))


class JobItemQuerySet(models.QuerySet):
    def update(self, **kwargs):
        """Every UPDATE of items stamps ``updated_at`` (the job page's poll cursor): state moves only by
        conditional UPDATEs, so stamping here covers every writer without each one remembering to."""
        kwargs.setdefault("updated_at", timezone.now())
        return super().update(**kwargs)


class JobItem(models.Model):
    """One number's change within a job. State moves only by conditional UPDATEs (see rollout/jobs.py).

    Why an item is where it is lives as facts (``why`` + ``detail``), worded by the job page's template
    (``includes/job_item_fact.html``); ``reason`` holds prose from before facts (shown as is).
    """

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        WAITING = "waiting", _("Waiting for budget")
        RUNNING = "running", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")
        CANCELLED = "cancelled", _("Cancelled")

    class Why(models.TextChoices):
        """The fact behind an item's state; ``detail`` carries its particulars (see each comment)."""

        UNCHANGED = "unchanged", _("Linq already had these values")  # {}
        ALREADY_APPLIED = "applied", _("An earlier attempt's write reached Linq")  # {}
        UNANSWERED_APPLIED = "unanswered", _("No answer, but the re-read shows the change")  # {}
        SET_UP_AGAIN = "set_up_again", _("Set up again (the card was pending at Linq)")  # {}
        NO_OUTCOME = "no_outcome", _("A write was recorded without its outcome")  # {}
        UNSETTLED = "unsettled", _("Linq did not say whether the change was applied")  # {}
        OUTCOME_UNKNOWN = "unknown", _("No answer from Linq")  # {status, code, message}
        LINQ_ERROR = "linq_error", _("Linq refused the change")  # {status, code, message}
        LINQ_WAIT = "linq_wait", _("Linq asked to wait")  # {status, code, message}
        REREAD_FAILED = "reread_failed", _("The card could not be re-read")  # {status, code, message}
        BUDGET = "budget", _("No write left for this number")  # {}; until: not_before
        BUSY = "busy", _("The number was busy with another save")  # {}
        CONFLICT = "conflict", _("Changed at Linq since the preview")  # {fields: [{field, loaded, remote}]}
        IMAGE_REFUSED = "image_refused", _("Linq could not use the photo link")  # {reason, message}
        CARD_APPEARED = "card_appeared", _("A card was set up since the preview")  # {}
        CARD_DELETED = "card_deleted", _("The card was deleted at Linq since the preview")  # {}
        REFUSED = "refused", _("Refused at preview")  # {reasons: [already translated messages]}
        CANCELLED = "cancelled", _("Cancelled")  # {by: username}
        REMOVED = "removed", _("The number or the person who started the job was removed")  # {}
        WORKER_STOPPED = "worker_stopped", _("Its worker stopped mid-save")  # {}
        INTERNAL = "internal", _("Internal error")  # {error: exception class name}
        RELEASED = "released", _("Linq released this line from the team's token")  # {}
        NOT_SENT_BEFORE = "not_sent_before", _("The change it would undo was not sent")  # {}
        # a bounded retry adds {"attempt": n, "attempts": m} to any of these ("gave_up": true when it stops)

    OPEN_STATES = (State.QUEUED, State.WAITING, State.RUNNING)

    job = models.ForeignKey(Job, models.CASCADE, related_name="items")
    number = models.ForeignKey(PhoneNumber, models.SET_NULL, null=True, related_name="+")
    phone_number = models.CharField(max_length=16)
    row = models.PositiveIntegerField(null=True, blank=True)  # CSV line number
    action = models.CharField(max_length=20, choices=AuditEntry.Action.choices[:2])
    loaded = models.JSONField(default=dict)  # the card as the preview saw it
    desired = models.JSONField(default=dict)  # the card as it should be afterwards
    changes = models.JSONField(default=dict)  # {field: [old, new]} at preview time
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    server_errors = models.PositiveSmallIntegerField(default=0)  # 500/2022 answers so far
    not_before = models.DateTimeField(null=True, blank=True)  # waiting: the next free slot
    claimed_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=100, blank=True)  # host:pid of the worker that claimed it last
    finished_at = models.DateTimeField(null=True, blank=True)
    card_active = models.BooleanField(null=True, blank=True)  # after sending: active at Linq, or pending
    why = models.CharField(max_length=20, choices=Why.choices, blank=True)
    detail = models.JSONField(default=dict, blank=True)  # the fact's particulars (see Why)
    reason = models.TextField(blank=True)  # legacy prose (rows from before facts), shown as is
    linq_code = models.PositiveIntegerField(null=True, blank=True)
    entry = models.ForeignKey(AuditEntry, models.SET_NULL, null=True, blank=True, related_name="+")
    # "Restore this version" as a request or a schedule: the history entry whose version it restores
    restored_from = models.BigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)  # stamped by every UPDATE (JobItemQuerySet)

    objects = JobItemQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["job", "state"], name="jobitem_job_state"),
                   models.Index(fields=["job", "updated_at"], name="jobitem_job_updated"),
                   # "has the job an open item left?" after every item (jobs._finish_if_done): only the open
                   # items are in it, so the check reads a few entries, not the whole job, whatever the
                   # planner's statistics say about a job inserted moments ago (OPEN_STATES).
                   models.Index(fields=["job"], name="jobitem_job_open",
                                condition=models.Q(state__in=["queued", "waiting", "running"]))]

    def __str__(self) -> str:
        return f"{self.phone_number} in job {self.job_id}: {self.state}"

    def token_for(self, attempt: int) -> str:
        """The save's one-time token for one attempt: an attempt sends at most one write, and a worker
        that finds the token used knows the write was made (and its audit row says how it went)."""
        return f"job{self.job_id}-item{self.pk}-try{attempt}"
