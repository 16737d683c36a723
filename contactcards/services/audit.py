"""The audit history is written here and nowhere else: one row per attempted Linq write, or team change.

A row stores facts - who, what, the body sent, HTTP status, Linq code and message, trace id,
wait, whether the request was sent, whether a re-read showed it applied - never our own words:
the templates word them (``includes/audit_outcome.html``).

``audited_write`` is the one place a card write is made: ``record_attempt`` builds the row
before the call, ``record_outcome`` completes and stores it after. Today the row is saved once,
with its outcome; a write-ahead audit saves it in ``record_attempt`` and completes it in
``record_outcome`` without touching any caller.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError
from django.utils import timezone

from ..clients import log_linq_failure
from ..linq import Card, CardResult, LinqClient, LinqError
from ..models import AuditEntry, PhoneNumber, Team
from . import mirror
from .diff import Changes, took_effect
from .guard import consume_form_token, link_form_token


@dataclass(frozen=True)
class Attempt:
    """One write about to be sent: what the audit row records before the call."""

    number: PhoneNumber
    user: AbstractBaseUser
    action: str  # AuditEntry.Action.CREATE or UPDATE
    changes: Changes
    body: dict[str, str]
    client_ip: str | None = None


@dataclass(frozen=True)
class WriteRecord:
    """What ``audited_write`` recorded: the stored row, and the card or the error."""

    entry: AuditEntry
    card: Card | None = None  # Linq's answer, or the re-read after an unanswered call
    error: LinqError | None = None
    applied: bool | None = None  # after an unanswered call: did the re-read show the change?


class AlreadySent(Exception):
    """The form token was used by a write that got in first (without the lock, never reached)."""


def record_attempt(attempt: Attempt) -> AuditEntry:
    number, user = attempt.number, attempt.user
    return AuditEntry(
        team=number.team, number=number, phone_number=number.e164, user=user,
        username=user.get_username(), action=attempt.action, changes=attempt.changes,
        request_body=attempt.body, client_ip=attempt.client_ip,
    )


def record_outcome(entry: AuditEntry, *, result: CardResult | None = None, error: LinqError | None = None,
                   applied: bool | None = None, stage: str = AuditEntry.Stage.WRITE) -> AuditEntry:
    """Complete the row with the call's facts and store it."""
    entry.stage = stage
    if error is None:
        assert result is not None
        entry.outcome = AuditEntry.Outcome.SUCCESS
        entry.http_status = result.status
        entry.trace_id = result.trace_id or ""
        entry.duration_ms = result.duration_ms
    else:
        entry.outcome = (AuditEntry.Outcome.API_ERROR if error.kind == "api" or error.status
                         else AuditEntry.Outcome.NETWORK_ERROR)
        entry.error_kind = error.kind
        entry.http_status = error.status
        entry.request_sent = error.sent and stage == AuditEntry.Stage.WRITE
        entry.linq_code = error.code
        entry.error_message = str(error.message)[:2000]
        entry.trace_id = error.trace_id or ""
        entry.retry_after = error.retry_after
        entry.duration_ms = error.duration_ms
        entry.applied = applied
    entry.save()
    return entry


def audited_write(attempt: Attempt, *, client: LinqClient, call: Callable[[LinqClient], CardResult],
                  token: str = "") -> WriteRecord:
    """Make one write call and record it, whatever its outcome. Never retries.

    When the outcome is unknown (timeout, dropped connection, unreadable answer), the card
    is re-read *before* the outcome is recorded, so the row says whether the change took effect.
    Raises :class:`AlreadySent` when ``token`` was used already (nothing is sent).
    """
    try:
        used = consume_form_token(token, attempt.number)
    except IntegrityError:
        raise AlreadySent(token) from None
    entry = record_attempt(attempt)
    started = timezone.now()
    try:
        result = call(client)
    except LinqError as error:
        log_linq_failure(attempt.action, attempt.number.e164, error)
        card, applied = _recheck(client, attempt, error)
        record_outcome(entry, error=error, applied=applied)
        link_form_token(used, entry)
        return WriteRecord(entry=entry, card=card, error=error, applied=applied)
    record_outcome(entry, result=result)
    link_form_token(used, entry)
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


def record_token_change(*, team: Team, user: AbstractBaseUser, client_ip: str | None = None) -> AuditEntry:
    """Who changed the team's token and when - never the value."""
    return AuditEntry.objects.create(
        team=team, user=user, username=user.get_username(), action=AuditEntry.Action.TOKEN_CHANGE,
        outcome=AuditEntry.Outcome.SUCCESS, client_ip=client_ip,
    )
