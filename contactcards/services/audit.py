"""The audit history is written here and nowhere else: one row per attempted Linq write, or team change.

A row stores facts - who, what, the body sent, HTTP status, Linq code and message, trace id,
wait, whether the request was sent, whether a re-read showed it applied - never our own words:
the templates word them (``includes/audit_outcome.html``).

Write-ahead (docs/audit-history.md): ``write_ahead`` stores the attempt - who, number, fields,
exact body - with outcome "pending" inside the number's lock transaction, which commits before
the write leaves for Linq; ``send_write`` makes the call outside any transaction and fills the
outcome in exactly once. If the process dies during the call (SIGKILL, OOM, a worker timeout)
the attempt stays "pending": ``reconcile`` re-reads the card later (opening the number, or
``manage.py reconcileattempts``) and records whether the change took effect.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError
from django.utils import timezone

from contactcards.clients import log_linq_failure
from contactcards.linq import Card, CardResult, LinqClient, LinqError
from contactcards.models import AuditEntry, Job, PhoneNumber, Team
from contactcards.services import mirror
from contactcards.services.diff import Changes, took_effect
from contactcards.services.guard import consume_form_token, link_form_token
from contactcards.services.reads import card_fetch


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
    applied: bool | None = None  # after an unanswered call: did the re-read show the change?


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
    return entry


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

    When the outcome is unknown (timeout, dropped connection, unreadable answer), the card is
    re-read *before* the outcome is recorded, so the row says whether the change took effect.
    Anything else that stops this function (the process killed, the database gone) leaves the
    attempt "pending", for ``reconcile``.
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
    """After an unanswered write: re-read the card (a free GET) to learn whether it took effect."""
    if not error.outcome_unknown:
        return None, None
    started = timezone.now()
    try:
        card = client.get_card(attempt.number.e164)
    except LinqError:
        return None, None
    mirror.record_card(number=attempt.number, card=card, source=mirror.Source.READ, as_of=started)
    return card, took_effect(card, attempt.changes)


def record_not_sent(attempt: Attempt, error: LinqError) -> AuditEntry | None:
    """The re-read before a write failed, so the write was not sent; the attempt is still recorded.

    The row has ``request_sent=False`` and ``stage="check"``, so it does not count against the
    write budget, but the history shows that someone tried to save and why nothing happened.
    Without a usable token no call was even attempted, so there is nothing to record.
    """
    if error.kind == "token":
        return None
    return record_outcome(record_attempt(attempt), error=error, stage=AuditEntry.Stage.CHECK)


def reconcile(number: PhoneNumber, card: Card | None) -> list[AuditEntry]:
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


def reconcile_all(*, team: Team | None = None) -> ReconcileReport:
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
        settled += reconcile(number, load.card)
    return ReconcileReport(settled=settled, unreadable=unreadable)
