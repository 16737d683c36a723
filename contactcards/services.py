"""Service functions: every call to Linq goes through here, and so does its audit row.

Each write follows one shape (fetch -> diff -> call -> audit): the diff decides
what is sent, the call is made once (never retried automatically), and the
outcome - success or the exact error - is written to the audit history by the
same function, in the same place, whatever happens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Literal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from .linq import Card, CardResult, LinqClient, LinqError
from .linq.client import CARD_FIELDS
from .models import AuditEntry, PhoneNumber, Team

WRITE_LIMIT = 3
WRITE_WINDOW = timedelta(minutes=10)
WRITE_ACTIONS = (AuditEntry.Action.CREATE, AuditEntry.Action.UPDATE)


def linq_client_for(team: Team) -> LinqClient:
    return LinqClient(
        team.get_token(),
        base_url=settings.LINQ_API_BASE_URL,
        connect_timeout=settings.LINQ_CONNECT_TIMEOUT,
        read_timeout=settings.LINQ_READ_TIMEOUT,
    )


# -- reads --------------------------------------------------------------------


@dataclass(frozen=True)
class CardLoad:
    card: Card | None
    error: LinqError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def card_fetch(*, number: PhoneNumber) -> CardLoad:
    """GET the number's card. Reads are not audited and do not spend the write budget."""
    try:
        return CardLoad(card=linq_client_for(number.team).get_card(number.e164))
    except LinqError as error:
        return CardLoad(card=None, error=error)


# -- the diff -----------------------------------------------------------------


def normalise(values: dict[str, str | None]) -> dict[str, str]:
    """Card fields as trimmed strings, absent values as ''."""
    return {name: (values.get(name) or "").strip() for name in CARD_FIELDS}


def changed_fields(loaded: dict[str, str | None], submitted: dict[str, str | None]) -> dict[str, list[str]]:
    """``{field: [old, new]}`` for each card field whose submitted value differs from the loaded one."""
    before, after = normalise(loaded), normalise(submitted)
    return {name: [before[name], after[name]] for name in CARD_FIELDS if before[name] != after[name]}


# -- the write budget ---------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    """Writes left for a number in Linq's rolling window, derived from the audit history."""

    used: int
    limit: int
    next_write_at: datetime | None  # when a write is possible again, if none is left now

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used) if self.next_write_at is None else 0

    @property
    def exhausted(self) -> bool:
        return self.next_write_at is not None

    def wait_seconds(self, now: datetime | None = None) -> int:
        if self.next_write_at is None:
            return 0
        delta = self.next_write_at - (now or timezone.now())
        return max(1, int(delta.total_seconds() + 0.999))


def write_budget(*, number: PhoneNumber, now: datetime | None = None) -> Budget:
    """Attempted writes in the last ten minutes (all workers, all restarts) and any 429 wait."""
    now = now or timezone.now()
    recent = list(
        AuditEntry.objects.filter(
            number=number, action__in=WRITE_ACTIONS, created_at__gt=now - WRITE_WINDOW
        )
        .exclude(request_sent=False)
        .order_by("created_at")
        .values_list("created_at", "http_status", "retry_after")
    )
    next_at: datetime | None = None
    if len(recent) >= WRITE_LIMIT:
        next_at = recent[-WRITE_LIMIT][0] + WRITE_WINDOW
    for created_at, status, retry_after in recent:
        if status == 429 and retry_after:
            blocked_until = created_at + timedelta(seconds=retry_after)
            if blocked_until > now and (next_at is None or blocked_until > next_at):
                next_at = blocked_until
    return Budget(used=len(recent), limit=WRITE_LIMIT, next_write_at=next_at if next_at and next_at > now else None)


# -- writes -------------------------------------------------------------------

SaveStatus = Literal["saved", "unchanged", "failed", "blocked", "exists"]


@dataclass
class SaveResult:
    status: SaveStatus
    card: Card | None = None
    error: LinqError | None = None
    changes: dict[str, list[str]] = field(default_factory=dict)
    entry: AuditEntry | None = None
    budget: Budget | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("saved", "unchanged")


def _audited_write(
    *,
    number: PhoneNumber,
    user: AbstractBaseUser,
    action: str,
    changes: dict[str, list[str]],
    body: dict[str, str],
    client_ip: str | None,
    call: Callable[[LinqClient], CardResult],
) -> SaveResult:
    """Make one write call and record it, whatever its outcome."""
    entry = AuditEntry(
        team=number.team, number=number, phone_number=number.e164, user=user,
        username=user.get_username(), action=action, changes=changes, request_body=body,
        client_ip=client_ip,
    )
    try:
        result = call(linq_client_for(number.team))
    except LinqError as error:
        entry.outcome = (AuditEntry.Outcome.API_ERROR if error.kind == "api" or error.status
                         else AuditEntry.Outcome.NETWORK_ERROR)
        entry.http_status = error.status
        entry.request_sent = error.sent
        entry.linq_code = error.code
        entry.error_message = str(error.message)[:2000]
        entry.trace_id = error.trace_id or ""
        entry.retry_after = error.retry_after
        entry.duration_ms = error.duration_ms
        entry.save()
        return SaveResult(status="failed", error=error, changes=changes, entry=entry)
    entry.outcome = AuditEntry.Outcome.SUCCESS
    entry.http_status = result.status
    entry.trace_id = result.trace_id or ""
    entry.duration_ms = result.duration_ms
    entry.save()
    return SaveResult(status="saved", card=result.card, changes=changes, entry=entry)


def _blocked(number: PhoneNumber, changes: dict[str, list[str]]) -> SaveResult | None:
    budget = write_budget(number=number)
    if budget.exhausted:
        return SaveResult(status="blocked", changes=changes, budget=budget)
    return None


def card_update(
    *,
    number: PhoneNumber,
    user: AbstractBaseUser,
    loaded: dict[str, str | None],
    submitted: dict[str, str | None],
    client_ip: str | None = None,
) -> SaveResult:
    """PATCH only the fields that differ from what the form was loaded with; nothing if none do."""
    changes = changed_fields(loaded, submitted)
    if not changes:
        return SaveResult(status="unchanged")
    blocked = _blocked(number, changes)
    if blocked:
        return blocked
    body = {name: new for name, (_old, new) in changes.items()}
    return _audited_write(
        number=number, user=user, action=AuditEntry.Action.UPDATE, changes=changes, body=body,
        client_ip=client_ip, call=lambda client: client.update_card(number.e164, body),
    )


def card_create(
    *,
    number: PhoneNumber,
    user: AbstractBaseUser,
    submitted: dict[str, str | None],
    client_ip: str | None = None,
) -> SaveResult:
    """POST a first card. On 409/2014 (a card exists), fetch it so the caller can switch to editing."""
    values = normalise(submitted)
    changes = {name: ["", value] for name, value in values.items() if value}
    blocked = _blocked(number, changes)
    if blocked:
        return blocked
    body = LinqClient.create_body(
        number.e164, first_name=values["first_name"], last_name=values["last_name"] or None,
        image_url=values["image_url"] or None,
    )
    result = _audited_write(
        number=number, user=user, action=AuditEntry.Action.CREATE, changes=changes, body=body,
        client_ip=client_ip,
        call=lambda client: client.create_card(
            number.e164, first_name=values["first_name"], last_name=values["last_name"] or None,
            image_url=values["image_url"] or None,
        ),
    )
    if result.error is not None and result.error.code == 2014:
        existing = card_fetch(number=number)
        if existing.card is not None:
            result.status = "exists"
            result.card = existing.card
    return result


def token_change(*, team: Team, user: AbstractBaseUser, token: str, client_ip: str | None = None) -> AuditEntry:
    """Replace the team's token and record who did it and when - never the value."""
    team.set_token(token)
    team.save(update_fields=["token_encrypted", "token_last4", "token_set_at"])
    return AuditEntry.objects.create(
        team=team, user=user, username=user.get_username(), action=AuditEntry.Action.TOKEN_CHANGE,
        outcome=AuditEntry.Outcome.SUCCESS, client_ip=client_ip,
    )
