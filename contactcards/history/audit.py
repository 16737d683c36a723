"""The audit history is written here and nowhere else (a test checks it): one row per attempted Linq write,
change made outside linqadmin, webhook-subscription call, or team change.

A row stores facts - who, what, the body sent, HTTP status, Linq code and message, trace id,
wait, whether the request was sent, whether a re-read showed it applied - never our own words:
the templates word them (``includes/audit_outcome.html``).

Write-ahead (docs/audit-history.md): ``write_ahead`` stores the attempt - who, number, fields,
exact body - with outcome "pending" inside the number's lock transaction, which commits before
the write leaves for Linq; ``record_outcome`` fills the outcome in exactly once when the answer
comes (``cards.send``). If the process dies during the call (SIGKILL, OOM, a worker timeout) the
attempt stays "pending". ``settle`` writes what a later read found about a write whose outcome
was unknown (``sync.settle`` decides what a read may settle: a write that did not answer stays
unknown until a read begun after its window).

Nothing here calls Linq or decides anything: callers say what happened, this module writes it.

Audit streams (docs/audit-streaming.md): every change made here - an entry written, a pending attempt's
outcome, a re-read's result - queues one message per stream of the team (``streams.outbox``) in the same
transaction as the change, so a stream gets each change exactly when it commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from contactcards.cards.diff import Changes
from contactcards.linq import CardResult, LinqError
from contactcards.models import ApiToken, AuditEntry, Job, PhoneNumber, Team
from contactcards.streams.outbox import entry_changed, stream_ids_of


def _stored(entry: AuditEntry) -> AuditEntry:
    """Insert a new entry and queue it for the team's streams, in one transaction (the caller's, if any).
    A team without streams pays one indexed read, and its entry is stored as before."""
    streams = stream_ids_of(entry.team_id)
    if not streams:
        entry.save()
        return entry
    with transaction.atomic(savepoint=False):
        entry.save()
        entry_changed(entry, "written", stream_ids=streams)
    return entry


def _filled(entry: AuditEntry, fill, event: str) -> bool:
    """Fill in a stored entry once (``fill()``: its ``fill_outcome`` or ``fill_reconciled``) and, when it
    changed, queue ``event`` for the team's streams in the same transaction."""
    streams = stream_ids_of(entry.team_id)
    if not streams:
        return fill()
    with transaction.atomic(savepoint=False):
        filled = fill()
        if filled:
            entry_changed(entry, event, stream_ids=streams)
    return filled


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
    api_token: ApiToken | None = None  # the API token the write came through (the history names it)


def record_attempt(attempt: Attempt) -> AuditEntry:
    """The row for an attempt (not stored yet)."""
    number, user = attempt.number, attempt.user
    return AuditEntry(
        team=number.team, number=number, phone_number=number.e164, user=user,
        username=user.get_username(), action=attempt.action, changes=attempt.changes,
        request_body=attempt.body, client_ip=attempt.client_ip, restored_from=attempt.restored_from,
        job=attempt.job, api_token=attempt.api_token,
    )


def write_ahead(attempt: Attempt) -> AuditEntry:
    """Store the attempt as "pending", in the caller's transaction (the number's lock, which commits
    before the write is sent; ``cards.services`` consumes the form's token in the same transaction)."""
    entry = record_attempt(attempt)
    entry.outcome = AuditEntry.Outcome.PENDING
    return _stored(entry)


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
        return _stored(entry)
    _filled(entry, lambda: entry.fill_outcome(**values), "outcome")
    return entry


def record_not_sent(attempt: Attempt, error: LinqError) -> AuditEntry | None:
    """The re-read before a write failed, so the write was not sent; the attempt is still recorded.

    The row has ``request_sent=False`` and ``stage="check"``, so it does not count against the
    write budget, but the history shows that someone tried to save and why nothing happened.
    Without a usable token no call was even attempted, so there is nothing to record.
    """
    if error.kind == "token":
        return None
    return record_outcome(record_attempt(attempt), error=error, stage=AuditEntry.Stage.CHECK)


def settle(entry: AuditEntry, *, applied: bool | None, at) -> bool:
    """What a re-read found for one attempt whose outcome is unknown, written once: a pending attempt
    becomes "outcome unknown" with ``applied``; an answered one gets ``applied``. False when a concurrent
    settler got there first."""
    if entry.outcome == AuditEntry.Outcome.PENDING:
        return _filled(entry, lambda: entry.fill_outcome(outcome=AuditEntry.Outcome.UNKNOWN, applied=applied,
                                                         outcome_at=at, reconciled_at=at), "outcome")
    return _filled(entry, lambda: entry.fill_reconciled(applied=applied, at=at), "settled")


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
    return _stored(AuditEntry(
        team=team, user=user if signed_in else None, username=user.get_username() if signed_in else COMMAND_LINE,
        action=action, subject=subject[:254], changes=changes or {},
        number=number, phone_number=number.e164 if number is not None else e164,
        outcome=AuditEntry.Outcome.SUCCESS, request_sent=False, client_ip=client_ip,
    ))


SSO = "sso"  # the "who" (and ``actor_type``) of a membership single sign-on's group map made, changed or ended


def record_sso_membership(*, team: Team, member: AbstractBaseUser, action: str, changes: dict,
                          client_ip: str | None = None) -> AuditEntry:
    """A membership changed by single sign-on at ``member``'s sign-in (``accounts.sso``): the provider's
    groups, through OIDC_GROUP_MAP, made the change, so the actor is "sso" and ``subject`` the member.
    ``action`` is MEMBER_ADD, MEMBER_ROLE or MEMBER_REMOVE; ``changes`` {"role": [before, after]}."""
    return _stored(AuditEntry(
        team=team, user=None, username=SSO, actor_type=SSO, action=action, subject=member.get_username()[:254],
        changes=changes, outcome=AuditEntry.Outcome.SUCCESS, request_sent=False, client_ip=client_ip,
    ))


def record_labels_change(*, team: Team, user: AbstractBaseUser | None, numbers: list[str], label: str | None,
                         added: list[str], removed: list[str], client_ip: str | None = None) -> AuditEntry:
    """One row for labels and tags set on many numbers at once (``teams.services.numbers_label_tags``).

    One row, not one per number: a number's newest entry is what the dashboard shows as its last
    change (and whether it failed), which a label must not hide. ``subject`` lists the numbers that
    changed (cut to fit, with how many more); ``changes`` holds the label set and the tags added or
    removed, as {field: [old, new]} (the old labels differ per number: None).
    """
    shown: list[str] = []
    for index, e164 in enumerate(numbers):
        rest = len(numbers) - index
        candidate = ", ".join([*shown, e164])
        if len(candidate) + (len(f" +{rest - 1}") if rest > 1 else 0) > 254:
            break
        shown.append(e164)
    more = len(numbers) - len(shown)
    subject = ", ".join(shown) + (f" +{more}" if more else "")
    changes: dict[str, list] = {}
    if label is not None:
        changes["label"] = [None, label]
    if added:
        changes["tags_added"] = [None, ", ".join(added)]
    if removed:
        changes["tags_removed"] = [", ".join(removed), None]
    return record_team_change(team=team, user=user, action=AuditEntry.Action.NUMBER_LABELS, subject=subject,
                              changes=changes, client_ip=client_ip)


def record_token_change(*, team: Team, user: AbstractBaseUser | None, client_ip: str | None = None) -> AuditEntry:
    """Who changed the team's token and when - never the value."""
    return record_team_change(team=team, user=user, action=AuditEntry.Action.TOKEN_CHANGE, client_ip=client_ip)


def record_api_token_change(*, token: ApiToken, user: AbstractBaseUser | None, action: str,
                            client_ip: str | None = None) -> AuditEntry:
    """An API token made or revoked (``api_token_create`` / ``api_token_revoke``): its name, scopes and expiry,
    never the secret nor its digest. The row points at the token; ``subject`` keeps its name as text."""
    changes = {"scopes": [None, list(token.scopes)], "expires_at": [None, token.expires_at.isoformat()]}
    signed_in = user is not None and user.is_authenticated
    return _stored(AuditEntry(
        team=token.team, user=user if signed_in else None,
        username=user.get_username() if signed_in else COMMAND_LINE, action=action, subject=token.name[:254],
        changes=changes, outcome=AuditEntry.Outcome.SUCCESS, request_sent=False, client_ip=client_ip,
        api_token=token,
    ))


def record_outside_entry(*, number: PhoneNumber, changes: dict[str, list[str]], found_by: str, who: str,
                         actor_type: str = "unknown", origin: str = "", occurred_at: datetime | None = None,
                         trace_id: str = "") -> AuditEntry:
    """One "changed outside linqadmin" row (no call of ours: ``request_sent`` False); ``who`` names the actor."""
    return _stored(AuditEntry(
        team=number.team, number=number, phone_number=number.e164, user=None, username=who[:150],
        action=AuditEntry.Action.OUTSIDE, changes=changes, outcome=AuditEntry.Outcome.SUCCESS,
        request_sent=False, actor_type=actor_type[:20], origin=origin[:20], found_by=found_by,
        occurred_at=occurred_at, trace_id=trace_id[:64],
    ))


def record_subscription_call(*, team: Team, user: AbstractBaseUser, changes: dict, body: dict,
                             error: LinqError | None, client_ip: str | None = None) -> AuditEntry:
    """One call to Linq's webhook-subscription API by an owner (never the signing secret or the path)."""
    entry = AuditEntry(team=team, user=user, username=user.get_username(), action=AuditEntry.Action.SUBSCRIPTION,
                       changes=changes, request_body=body, client_ip=client_ip)
    if error is None:
        entry.outcome = AuditEntry.Outcome.SUCCESS
        return _stored(entry)
    values = _outcome_values(result=None, error=error, applied=None, stage=AuditEntry.Stage.WRITE)
    for name, value in values.items():
        setattr(entry, name, value)
    entry.request_sent = error.sent
    return _stored(entry)




LINQ = "Linq"  # the "who" of what Linq itself said about a line (a username has no such capital-only form here)


def record_line_event(*, team: Team, action: str, e164: str, number: PhoneNumber | None = None,
                      changes: dict | None = None, found_by: str = "", occurred_at: datetime | None = None,
                      trace_id: str = "") -> AuditEntry:
    """One line-health row (``AuditEntry.Action.LINE_HEALTH``, ``LINE_ASSIGNED``, ``LINE_RELEASED``): what Linq
    said about a line, as facts - ``changes`` {"status"|"reputation"|"released": [from, to]} (Linq's values,
    "" for "not known"), how we learned it (``found_by``: read, reconcile, webhook) and when it was true at
    Linq. No call of ours (``request_sent`` False). ``number`` None: a line the team does not have (yet)."""
    return _stored(AuditEntry(
        team=team, number=number, phone_number=number.e164 if number is not None else e164[:16],
        user=None, username=LINQ, action=action, changes=changes or {}, outcome=AuditEntry.Outcome.SUCCESS,
        request_sent=False, actor_type="system", found_by=found_by[:20], occurred_at=occurred_at,
        trace_id=trace_id[:64],
    ))


SCHEDULE = "(schedule)"  # the "who" of what the clock did: a schedule started or ended, a request expired

# The history of a deferred change (issue 24): each row carries its job, so the request, the decision and
# the writes it caused (whose rows carry the same job) link to each other.
CHANGE_EVENTS = (AuditEntry.Action.CHANGE_REQUESTED, AuditEntry.Action.CHANGE_APPROVED,
                 AuditEntry.Action.CHANGE_REJECTED, AuditEntry.Action.CHANGE_EXPIRED,
                 AuditEntry.Action.CHANGE_SCHEDULED, AuditEntry.Action.SCHEDULE_STARTED,
                 AuditEntry.Action.SCHEDULE_RESTORED, AuditEntry.Action.CHANGE_CANCELLED)


def record_change_event(*, job: Job, action: str, user: AbstractBaseUser | None = None, phone_number: str = "",
                        changes: dict | None = None, subject: str = "",
                        client_ip: str | None = None) -> AuditEntry:
    """One step of a requested or scheduled change: requested, approved, rejected, expired, scheduled,
    started, restored, cancelled. No call to Linq (``request_sent`` False). ``user`` None: the clock did it.

    ``phone_number``: the number of a one-number job (kept as text: the number's own timeline and the
    dashboard's "last change" stay about its card's writes); ``changes``: what was asked for or when
    ({field: [old, new]}); ``subject``: the person's note or comment (their words, cut to fit).
    """
    if action not in CHANGE_EVENTS:
        raise ValueError(f"not a change event: {action}")  # no-i18n
    signed_in = user is not None and user.is_authenticated
    return _stored(AuditEntry(
        team_id=job.team_id, user=user if signed_in else None,
        username=user.get_username() if signed_in else SCHEDULE, action=action, subject=subject[:254],
        changes=changes or {}, phone_number=phone_number[:16], outcome=AuditEntry.Outcome.SUCCESS,
        request_sent=False, client_ip=client_ip, job=job,
    ))
