"""The audit history is written here and nowhere else: one row per attempted Linq write, or team change.

A row stores facts - who, what, the body sent, HTTP status, Linq code and message, trace id,
wait, whether the request was sent, whether a re-read showed it applied - never our own words:
the templates word them (``includes/audit_outcome.html``).

Write-ahead (docs/audit-history.md): ``write_ahead`` stores the attempt - who, number, fields,
exact body - with outcome "pending" inside the number's lock transaction, which commits before
the write leaves for Linq; ``send_write`` makes the call outside any transaction and fills the
outcome in exactly once. If the process dies during the call (SIGKILL, OOM, a worker timeout)
the attempt stays "pending".

What we do not know stays unknown: a write whose answer did not say (no answer, or an error page
without Linq's code) is "took effect" only once a read shows the change, and "did not take effect"
only from a read begun after its window (``models.unknown_window``: Linq may apply it after we
stopped waiting). Every read of the card settles what it can (``reconcile``, called by
``reads.card_fetch`` before it looks for outside changes, and by the team-wide reconcile); each
attempt also schedules ``recheck_attempts`` for the end of its window, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError
from django.utils import timezone
from django_tasks import task

from contactcards.clients import log_linq_failure
from contactcards.linq import Card, CardResult, LinqClient, LinqError
from contactcards.models import AuditEntry, Job, PhoneNumber, Team, unknown_window
from contactcards.services import mirror
from contactcards.services.diff import Changes, took_effect
from contactcards.services.guard import consume_form_token, link_form_token

# reads.card_fetch settles attempts with what it reads (reads -> outside -> audit), so this module
# imports it where it is called.


@dataclass(frozen=True)
class Attempt:
    """One write about to be sent: what the audit row records before the call."""

    number: PhoneNumber
    user: AbstractBaseUser
    action: str  # AuditEntry.Action.CREATE or UPDATE
    changes: Changes
    body: dict[str, str]
    client_ip: str | None = None
    restored_from: int | None = None  # "restore this version": the entry whose version is restored
    job: Job | None = None  # the rollout this write belongs to


@dataclass(frozen=True)
class WriteRecord:
    """What ``send_write`` recorded: the stored row, and the card or the error."""

    entry: AuditEntry
    card: Card | None = None  # Linq's answer, or the re-read after an unanswered call
    error: LinqError | None = None
    applied: bool | None = None  # after an unanswered call: True if the re-read showed the change, else unknown


class AlreadySent(Exception):
    """The form token was used by a write that got in first (without the lock, never reached)."""


def record_attempt(attempt: Attempt) -> AuditEntry:
    """The row for an attempt (not stored yet)."""
    number, user = attempt.number, attempt.user
    return AuditEntry(
        team=number.team, number=number, phone_number=number.e164, user=user,
        username=user.get_username(), action=attempt.action, changes=attempt.changes,
        request_body=attempt.body, client_ip=attempt.client_ip, restored_from=attempt.restored_from,
        job=attempt.job,
    )


def write_ahead(attempt: Attempt, token: str = "") -> AuditEntry:
    """Store the attempt as "pending" and consume the form token, in the caller's transaction
    (the number's lock, which commits before the write is sent). Raises AlreadySent when the
    token was used already."""
    try:
        used = consume_form_token(token, attempt.number)
    except IntegrityError:
        raise AlreadySent(token) from None
    entry = record_attempt(attempt)
    entry.outcome = AuditEntry.Outcome.PENDING
    entry.save()
    link_form_token(used, entry)
    # The attempt and the read that settles it if nothing else does commit together: even a process
    # killed right after the commit leaves both (a task row in this transaction, not a side effect).
    schedule_recheck(entry)
    return entry


def schedule_recheck(entry: AuditEntry) -> None:
    """Read the entry's card once its window is over (``recheck_attempts``), unless it is settled by then."""
    from contactcards import taskqueue

    taskqueue.enqueue(recheck_attempts, entry.number_id, run_after=entry.created_at + unknown_window())


def _outcome_values(*, result: CardResult | None, error: LinqError | None, applied: bool | None,
                    stage: str) -> dict:
    if error is None:
        assert result is not None
        return {"outcome": AuditEntry.Outcome.SUCCESS, "http_status": result.status,
                "trace_id": result.trace_id or "", "duration_ms": result.duration_ms}
    return {
        "outcome": (AuditEntry.Outcome.API_ERROR if error.kind == "api" or error.status
                    else AuditEntry.Outcome.NETWORK_ERROR),
        "error_kind": error.kind,
        "http_status": error.status,
        "request_sent": error.sent and stage == AuditEntry.Stage.WRITE,
        "linq_code": error.code,
        "linq_code_text": error.code_text or "",
        "error_message": str(error.message)[:2000],
        "trace_id": error.trace_id or "",
        "retry_after": error.retry_after,
        "duration_ms": error.duration_ms,
        "applied": applied,
    }


def record_outcome(entry: AuditEntry, *, result: CardResult | None = None, error: LinqError | None = None,
                   applied: bool | None = None, stage: str = AuditEntry.Stage.WRITE) -> AuditEntry:
    """Complete the row with the call's facts: a new row is stored whole; a pending attempt gets its
    outcome filled in, once (``AuditEntry.fill_outcome``)."""
    values = {**_outcome_values(result=result, error=error, applied=applied, stage=stage),
              "outcome_at": timezone.now()}
    if entry.pk is None:
        entry.stage = stage
        for name, value in values.items():
            setattr(entry, name, value)
        entry.save()
    else:
        entry.fill_outcome(**values)
    return entry


def send_write(entry: AuditEntry, attempt: Attempt, *, client: LinqClient,
               call: Callable[[LinqClient], CardResult]) -> WriteRecord:
    """Make the write call for a committed attempt and record its outcome. Never retries.

    When the answer does not say (timeout, dropped connection, unreadable answer, an error page
    without Linq's code), the card is re-read *before* the outcome is recorded: if it shows the
    change, the row says it took effect; if not, the row says nothing about it (``applied`` empty) -
    Linq may still apply it - until a read after its window settles it (``reconcile``). Anything
    else that stops this function (the process killed, the database gone) leaves the attempt
    "pending", for ``reconcile`` too.
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
    """After an unanswered write: re-read the card (a free GET). (card, True) when it shows the change;
    (card, None) when it does not - Linq may still apply it, so that says nothing yet."""
    from contactcards.services.reads import card_fetch

    if not error.outcome_unknown:
        return None, None
    load = card_fetch(number=attempt.number, client=client)  # remembered like any read; settles older writes
    if load.error is not None:
        return None, None
    return load.card, (True if took_effect(load.card, attempt.changes) else None)


def record_not_sent(attempt: Attempt, error: LinqError) -> AuditEntry | None:
    """The re-read before a write failed, so the write was not sent; the attempt is still recorded.

    The row has ``request_sent=False`` and ``stage="check"``, so it does not count against the
    write budget, but the history shows that someone tried to save and why nothing happened.
    Without a usable token no call was even attempted, so there is nothing to record.
    """
    if error.kind == "token":
        return None
    return record_outcome(record_attempt(attempt), error=error, stage=AuditEntry.Stage.CHECK)


def reconcile(number: PhoneNumber, card: Card | None, *, read_at: datetime) -> list[AuditEntry]:
    """Settle what ``card`` - read from Linq by a request sent at ``read_at`` - tells about the number's
    writes whose outcome is unknown (``AuditEntry.objects.unsettled``). Returns the writes settled.

    A write the card shows took effect, whenever the read was made. One it does not show did not -
    but only if the read began after the write's window (``models.unknown_window``); until then Linq
    may still apply it and it stays unknown. A read sent before a write was stored says nothing about
    it, and attempts still in flight are left to their own request.

    A pending attempt (its process never recorded an answer) becomes "outcome unknown" with
    ``applied``; an answered attempt whose answer did not say gets ``applied``. Each is written
    once; a concurrent reconciler that got there first wins and this one skips the row.
    """
    done = []
    now = timezone.now()
    window_over_for = read_at - unknown_window()  # writes created up to then can no longer be applied later
    waiting = AuditEntry.objects.awaiting_reconciliation(now=now).filter(number=number, created_at__lt=read_at)
    for entry in waiting.order_by("created_at", "id"):
        if took_effect(card, entry.changes or {}):
            applied = True
        elif entry.created_at <= window_over_for:
            applied = False
        else:
            continue  # not shown yet, and Linq may still apply it: unknown, as it was
        if entry.outcome == AuditEntry.Outcome.PENDING:
            recorded = entry.fill_outcome(outcome=AuditEntry.Outcome.UNKNOWN, applied=applied, outcome_at=now,
                                          reconciled_at=now)
        else:
            recorded = entry.fill_reconciled(applied=applied, at=now)
        if recorded:
            done.append(entry)
    return done


COMMAND_LINE = "(command line)"  # the "who" of a change made with manage.py (no username has brackets)


def record_team_change(*, team: Team, user: AbstractBaseUser | None, action: str, subject: str = "",
                       changes: dict | None = None, number: PhoneNumber | None = None, e164: str = "",
                       client_ip: str | None = None) -> AuditEntry:
    """One team-administration row: who changed what about the team (no Linq call: ``request_sent`` False).

    ``subject`` names the member (username, or the invited address); ``number`` the number
    added (kept as text too, so the row outlives it), or ``e164`` alone for one being removed.
    Pages and management commands reach this through the same service functions, so both are
    recorded alike; ``user`` None is the command line.
    """
    signed_in = user is not None and user.is_authenticated
    return AuditEntry.objects.create(
        team=team, user=user if signed_in else None, username=user.get_username() if signed_in else COMMAND_LINE,
        action=action, subject=subject[:254], changes=changes or {},
        number=number, phone_number=number.e164 if number is not None else e164,
        outcome=AuditEntry.Outcome.SUCCESS, request_sent=False, client_ip=client_ip,
    )


def record_token_change(*, team: Team, user: AbstractBaseUser | None, client_ip: str | None = None) -> AuditEntry:
    """Who changed the team's token and when - never the value."""
    return record_team_change(team=team, user=user, action=AuditEntry.Action.TOKEN_CHANGE, client_ip=client_ip)


@dataclass(frozen=True)
class ReconcileReport:
    settled: list[AuditEntry]
    unreadable: list[tuple[str, LinqError]]
    unknown: list[AuditEntry]  # read, but not shown and still within their window: settled later


def reconcile_all(*, team: Team | None = None) -> ReconcileReport:
    """Read the card of every number that has writes a read may settle (for ``manage.py reconcileattempts``)."""
    from contactcards.services.reads import card_fetch

    waiting = AuditEntry.objects.awaiting_reconciliation().filter(number__isnull=False)
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
    unknown = list(AuditEntry.objects.awaiting_reconciliation().filter(number_id__in=read).order_by("created_at"))
    return ReconcileReport(settled=settled, unreadable=unreadable, unknown=unknown)


RECHECK_TRIES = 5  # a card that cannot be read is tried again after 2, 4, 8, 16 minutes; then reconcile's turn


@task()
def recheck_attempts(number_pk: int, tries: int = 1) -> str:
    """The task each attempt schedules for the end of its window: read the number's card (one free GET)
    if it still has writes whose outcome is unknown, which settles them (``reads.card_fetch``).
    The periodic reconcile and ``manage.py reconcileattempts`` settle whatever this cannot."""
    from contactcards.services.reads import card_fetch

    number = PhoneNumber.objects.select_related("team").filter(pk=number_pk).first()
    if number is None or not AuditEntry.objects.awaiting_reconciliation().filter(number=number).exists():
        return "nothing to settle"
    load = card_fetch(number=number)
    if load.error is not None:
        if tries < RECHECK_TRIES:
            from contactcards import taskqueue

            taskqueue.enqueue(recheck_attempts, number_pk, tries + 1,
                              run_after=timezone.now() + timedelta(minutes=2 ** tries))
        return "unreadable"
    return f"settled {len(load.settled)}"
